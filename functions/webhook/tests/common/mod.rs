//! Shared helpers for the webhook's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{mock, Rule};
use base64::Engine as _;
use serde_json::{json, Value};
use webhook::{sign, WebhookSecret};

pub const SECRET: &str = "s3cr3t-for-tests";
pub const BUS: &str = "github-events-test";
pub const DELIVERY: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

pub fn secret(text: &str) -> WebhookSecret {
    WebhookSecret::new(text).unwrap()
}

/// A function URL request as the runtime would deserialise it. Header names
/// are kept as given (mixed case included).
pub fn request(
    method: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    base64: bool,
) -> LambdaFunctionUrlRequest {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).unwrap()
    };
    serde_json::from_value(json!({
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "requestId": "r-1",
            "timeEpoch": 1_777_860_000_000_i64,
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                     "sourceIp": "140.82.115.10", "userAgent": "GitHub-Hookshot/test"}
        },
        "body": body,
        "isBase64Encoded": base64
    }))
    .unwrap()
}

/// A small push payload for `owner/repo` on `branch`.
pub fn push_payload(branch: &str) -> Value {
    json!({
        "ref": format!("refs/heads/{branch}"),
        "before": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "repository": {"name": "repo", "full_name": "owner/repo",
                       "html_url": "https://github.com/owner/repo",
                       "owner": {"name": "owner", "login": "owner"}},
        "pusher": {"name": "dev", "email": "dev@example.com"},
        "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "m",
                        "timestamp": "2026-05-04T10:00:00+08:00",
                        "url": "https://github.com/owner/repo/commit/0d1a26e",
                        "author": {"name": "Dev", "email": "dev@example.com"}},
        "commits": []
    })
}

/// A signed JSON delivery of `event` with `body`, base64-encoded as the
/// function URL may deliver it.
pub fn signed(event: &str, body: &[u8], secret_text: &str) -> LambdaFunctionUrlRequest {
    let signature = sign(&secret(secret_text), body);
    request(
        "POST",
        &[
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", DELIVERY),
            ("X-Hub-Signature-256", &signature),
        ],
        body,
        true,
    )
}

pub fn status(response: &LambdaFunctionUrlResponse) -> i64 {
    response.status_code
}

/// The JSON body of a response, checking its content type.
pub fn body(response: &LambdaFunctionUrlResponse) -> Value {
    assert_eq!(
        response.headers.get("content-type").unwrap(),
        "application/json"
    );
    serde_json::from_str(response.body.as_deref().unwrap()).unwrap()
}

/// GetSecretValue answering `text`, every time.
pub fn secret_rule(text: &'static str) -> Rule {
    mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .then_output(move || GetSecretValueOutput::builder().secret_string(text).build())
}

/// PutEvents accepting every entry; the inputs are recorded.
pub fn put_events_ok(seen: Arc<Mutex<Vec<PutEventsInput>>>) -> Rule {
    mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |input| {
        seen.lock().unwrap().push(input.clone());
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("ev-1").build())
            .build()
    })
}

/// A PutEvents answer failing the one entry with `code`.
pub fn entry_failure(code: &str) -> PutEventsOutput {
    PutEventsOutput::builder()
        .failed_entry_count(1)
        .entries(
            PutEventsResultEntry::builder()
                .error_code(code)
                .error_message("entry failed")
                .build(),
        )
        .build()
}
