//! The handler end to end, with Secrets Manager and EventBridge replaced by
//! aws-smithy-mocks rules: one test per answer, each checking what was (or
//! was not) sent to EventBridge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::types::error::InternalServiceError;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::*;
use serde_json::{json, Value};
use webhook::config::AllowedEvents;
use webhook::event::MAX_ENTRY_BYTES;
use webhook::publisher::MAX_ENTRY_ATTEMPTS;
use webhook::{sign, Config, EventPublisher, SecretStore, Webhook};

fn config(allowed: &str) -> Config {
    Config {
        event_bus_name: BUS.into(),
        secret_arn: "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:webhook-secret-test"
            .into(),
        allowed_events: AllowedEvents::parse(allowed).unwrap(),
    }
}

fn webhook_with(secret_rules: &[&Rule], event_rules: &[&Rule], refetch: Duration) -> Webhook {
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, secret_rules);
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, event_rules);
    let cfg = config("push");
    let store = SecretStore::new(secrets, cfg.secret_arn.clone()).with_refetch_interval(refetch);
    Webhook::new(cfg, store, EventPublisher::new(events))
}

/// The usual set-up: the secret is SECRET, PutEvents accepts and records.
struct Harness {
    webhook: Webhook,
    secret_rule: Rule,
    put_rule: Rule,
    seen: Arc<Mutex<Vec<PutEventsInput>>>,
}

fn harness() -> Harness {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let secret_rule = secret_rule(SECRET);
    let put_rule = put_events_ok(seen.clone());
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], Duration::from_secs(30));
    Harness {
        webhook,
        secret_rule,
        put_rule,
        seen,
    }
}

fn push_body() -> Vec<u8> {
    serde_json::to_vec(&push_payload("main")).unwrap()
}

/// The detail of the one entry sent.
fn sent_detail(seen: &Mutex<Vec<PutEventsInput>>) -> (String, String, String, Value) {
    let inputs = seen.lock().unwrap();
    assert_eq!(inputs.len(), 1);
    let entries = inputs[0].entries();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    (
        entry.source().unwrap().to_owned(),
        entry.detail_type().unwrap().to_owned(),
        entry.event_bus_name().unwrap().to_owned(),
        serde_json::from_str(entry.detail().unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn ping_is_answered_200_and_not_forwarded() {
    let h = harness();
    let response = h
        .webhook
        .handle(&signed("ping", br#"{"zen":"Keep it simple."}"#, SECRET))
        .await;
    assert_eq!(status(&response), 200);
    assert_eq!(body(&response)["message"], "pong");
    assert_eq!(h.put_rule.num_calls(), 0);
}

#[tokio::test]
async fn signed_push_is_forwarded_200() {
    let h = harness();
    let response = h
        .webhook
        .handle(&signed("push", &push_body(), SECRET))
        .await;
    assert_eq!(status(&response), 200, "{:?}", response.body);
    assert_eq!(body(&response)["message"], "forwarded");
    assert_eq!(h.put_rule.num_calls(), 1);
    let (source, detail_type, bus, detail) = sent_detail(&h.seen);
    assert_eq!(source, "github.com");
    assert_eq!(detail_type, "push");
    assert_eq!(bus, BUS);
    let mut expected = push_payload("main");
    expected["delivery_id"] = json!(DELIVERY);
    assert_eq!(detail, expected);
}

#[tokio::test]
async fn plain_text_body_and_lowercase_headers_are_accepted() {
    let h = harness();
    let body = push_body();
    let signature = sign(&secret(SECRET), &body);
    let request = request(
        "post",
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("x-github-event", "push"),
            ("x-github-delivery", DELIVERY),
            ("x-hub-signature-256", &signature),
        ],
        &body,
        false,
    );
    let response = h.webhook.handle(&request).await;
    assert_eq!(status(&response), 200, "{:?}", response.body);
    assert_eq!(h.put_rule.num_calls(), 1);
}

#[tokio::test]
async fn form_encoded_push_is_forwarded_200() {
    let h = harness();
    let json = String::from_utf8(push_body()).unwrap();
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &json)
        .finish();
    let signature = sign(&secret(SECRET), form.as_bytes());
    let request = request(
        "POST",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", DELIVERY),
            ("X-Hub-Signature-256", &signature),
        ],
        form.as_bytes(),
        true,
    );
    let response = h.webhook.handle(&request).await;
    assert_eq!(status(&response), 200, "{:?}", response.body);
    let (_, _, _, detail) = sent_detail(&h.seen);
    assert_eq!(detail["ref"], "refs/heads/main");
    assert_eq!(detail["delivery_id"], DELIVERY);
}

#[tokio::test]
async fn other_event_types_are_answered_202_and_not_forwarded() {
    let h = harness();
    let response = h
        .webhook
        .handle(&signed("issues", br#"{"action":"opened"}"#, SECRET))
        .await;
    assert_eq!(status(&response), 202);
    assert_eq!(h.put_rule.num_calls(), 0);
}

#[tokio::test]
async fn malformed_json_is_400_and_not_forwarded() {
    let h = harness();
    for body in [&b"{\"ref\": "[..], b"[1,2,3]", b""] {
        let response = h.webhook.handle(&signed("push", body, SECRET)).await;
        assert_eq!(status(&response), 400, "{body:?}");
        assert!(
            body_message(&response).contains("JSON"),
            "{:?}",
            response.body
        );
    }
    assert_eq!(h.put_rule.num_calls(), 0);
}

fn body_message(
    response: &aws_lambda_events::lambda_function_urls::LambdaFunctionUrlResponse,
) -> String {
    body(response)["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn missing_event_or_delivery_id_or_form_payload_is_400() {
    let h = harness();
    let body = push_body();
    let signature = sign(&secret(SECRET), &body);
    let no_event = request(
        "POST",
        &[
            ("Content-Type", "application/json"),
            ("X-GitHub-Delivery", DELIVERY),
            ("X-Hub-Signature-256", &signature),
        ],
        &body,
        true,
    );
    let no_delivery = request(
        "POST",
        &[
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &signature),
        ],
        &body,
        true,
    );
    let form = b"other=1";
    let form_signature = sign(&secret(SECRET), form);
    let no_payload = request(
        "POST",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", DELIVERY),
            ("X-Hub-Signature-256", &form_signature),
        ],
        form,
        true,
    );
    for request in [no_event, no_delivery, no_payload] {
        let response = h.webhook.handle(&request).await;
        assert_eq!(status(&response), 400, "{:?}", response.body);
    }
    assert_eq!(h.put_rule.num_calls(), 0);
}

#[tokio::test]
async fn every_signature_failure_is_401_with_nothing_forwarded() {
    let body = push_body();
    let good = sign(&secret(SECRET), &body);
    let wrong_secret = sign(&secret("not-the-secret"), &body);
    let other_body = sign(&secret(SECRET), b"{}");
    let sha1_only = "sha1=7d38cdd689735b008b3c702edd92eea23791c5f6".to_owned();
    // (case, headers, whether the secret has to be read to decide)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, bool);
    let cases: Vec<Case> = vec![
        ("missing", vec![], false),
        (
            "sha1 only",
            vec![("X-Hub-Signature", sha1_only.clone())],
            false,
        ),
        (
            "sha1 value in the sha256 header",
            vec![("X-Hub-Signature-256", sha1_only)],
            false,
        ),
        (
            "malformed hex",
            vec![("X-Hub-Signature-256", format!("sha256={}", "zz".repeat(32)))],
            false,
        ),
        (
            "truncated",
            vec![("X-Hub-Signature-256", good[..good.len() - 1].to_owned())],
            false,
        ),
        (
            "no prefix",
            vec![("X-Hub-Signature-256", good[7..].to_owned())],
            false,
        ),
        (
            "wrong secret",
            vec![("X-Hub-Signature-256", wrong_secret)],
            true,
        ),
        (
            "signature of another body",
            vec![("X-Hub-Signature-256", other_body)],
            true,
        ),
    ];
    for (case, extra, reads_secret) in cases {
        let h = harness();
        let mut headers = vec![
            ("Content-Type", "application/json".to_owned()),
            ("X-GitHub-Event", "push".to_owned()),
            ("X-GitHub-Delivery", DELIVERY.to_owned()),
        ];
        headers.extend(extra);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = h
            .webhook
            .handle(&request("POST", &headers, &body, true))
            .await;
        assert_eq!(status(&response), 401, "{case}");
        assert_eq!(
            body_message(&response),
            "missing or invalid signature",
            "{case}"
        );
        assert_eq!(h.put_rule.num_calls(), 0, "{case}: nothing forwarded");
        assert_eq!(
            h.secret_rule.num_calls(),
            usize::from(reads_secret),
            "{case}: a malformed header is refused without any AWS call"
        );
    }
}

#[tokio::test]
async fn unsupported_content_type_is_415_and_not_forwarded() {
    let h = harness();
    let body = push_body();
    let signature = sign(&secret(SECRET), &body);
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut headers = vec![
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", DELIVERY),
            ("X-Hub-Signature-256", signature.as_str()),
        ];
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        let response = h
            .webhook
            .handle(&request("POST", &headers, &body, true))
            .await;
        assert_eq!(status(&response), 415, "{content_type:?}");
    }
    assert_eq!(h.put_rule.num_calls(), 0);
}

#[tokio::test]
async fn wrong_method_is_405_and_oversized_body_is_413_without_aws_calls() {
    let h = harness();
    let mut get = signed("push", &push_body(), SECRET);
    get.request_context.http.method = Some("GET".into());
    assert_eq!(status(&h.webhook.handle(&get).await), 405);

    let huge = vec![b' '; webhook::delivery::MAX_BODY_BYTES + 1];
    let response = h.webhook.handle(&signed("push", &huge, SECRET)).await;
    assert_eq!(status(&response), 413);
    assert_eq!(h.secret_rule.num_calls(), 0);
    assert_eq!(h.put_rule.num_calls(), 0);
}

#[tokio::test]
async fn oversized_payload_is_forwarded_trimmed() {
    let h = harness();
    let mut payload = push_payload("main");
    let commit = payload["head_commit"].clone();
    payload["commits"] = Value::Array(vec![commit; 2_000]);
    let body = serde_json::to_vec(&payload).unwrap();
    assert!(body.len() > MAX_ENTRY_BYTES);
    let response = h.webhook.handle(&signed("push", &body, SECRET)).await;
    assert_eq!(status(&response), 200, "{:?}", response.body);
    assert_eq!(body_message(&response), "forwarded");
    assert_eq!(common::body(&response)["trimmed"], true);
    let (source, detail_type, bus, detail) = sent_detail(&h.seen);
    let raw_detail = serde_json::to_string(&detail).unwrap();
    assert!(source.len() + detail_type.len() + bus.len() + raw_detail.len() < MAX_ENTRY_BYTES);
    assert_eq!(detail["trimmed"], true);
    assert_eq!(detail["ref"], "refs/heads/main");
    assert_eq!(detail["repository"]["full_name"], "owner/repo");
    assert_eq!(
        detail["head_commit"]["id"],
        "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    );
    assert_eq!(detail["pusher"]["name"], "dev");
    assert_eq!(detail["delivery_id"], DELIVERY);
    assert!(detail.get("commits").is_none());
}

#[tokio::test]
async fn payload_too_large_even_trimmed_is_413_not_500() {
    let h = harness();
    let mut payload = push_payload("main");
    payload["ref"] = json!(format!("refs/heads/{}", "b".repeat(MAX_ENTRY_BYTES)));
    let body = serde_json::to_vec(&payload).unwrap();
    let response = h.webhook.handle(&signed("push", &body, SECRET)).await;
    assert_eq!(status(&response), 413);
    assert_eq!(h.put_rule.num_calls(), 0);
}

fn ok_output() -> PutEventsOutput {
    PutEventsOutput::builder()
        .failed_entry_count(0)
        .entries(PutEventsResultEntry::builder().event_id("ev-2").build())
        .build()
}

#[tokio::test]
async fn retryable_entry_errors_are_retried_then_forwarded() {
    for code in ["ThrottlingException", "InternalFailure"] {
        let secret_rule = secret_rule(SECRET);
        let put_rule = mock!(aws_sdk_eventbridge::Client::put_events)
            .sequence()
            .output(move || entry_failure(code))
            .output(ok_output)
            .build();
        let webhook = webhook_with(&[&secret_rule], &[&put_rule], Duration::from_secs(30));
        let response = webhook.handle(&signed("push", &push_body(), SECRET)).await;
        assert_eq!(status(&response), 200, "{code}");
        assert_eq!(put_rule.num_calls(), 2, "{code}");
    }
}

#[tokio::test]
async fn entry_still_throttled_after_bounded_retries_is_503() {
    let secret_rule = secret_rule(SECRET);
    let put_rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(|| entry_failure("ThrottlingException"))
        .repeatedly()
        .build();
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], Duration::from_secs(30));
    let response = webhook.handle(&signed("push", &push_body(), SECRET)).await;
    assert_eq!(status(&response), 503);
    assert_eq!(
        body_message(&response),
        "temporarily unavailable; redeliver later"
    );
    assert_eq!(put_rule.num_calls(), MAX_ENTRY_ATTEMPTS as usize);
}

#[tokio::test]
async fn non_retryable_entry_error_is_502_after_one_attempt() {
    let secret_rule = secret_rule(SECRET);
    let put_rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(|| entry_failure("AccessDeniedException"))
        .repeatedly()
        .build();
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], Duration::from_secs(30));
    let response = webhook.handle(&signed("push", &push_body(), SECRET)).await;
    assert_eq!(status(&response), 502);
    let message = body_message(&response);
    assert!(
        !message.contains("AccessDenied") && !message.contains("entry failed"),
        "{message}"
    );
    assert_eq!(put_rule.num_calls(), 1);
}

#[tokio::test]
async fn put_events_request_failure_is_502_with_a_generic_message() {
    let secret_rule = secret_rule(SECRET);
    let put_rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform events:PutEvents"}"#.into()),
        )
        .repeatedly()
        .build();
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], Duration::from_secs(30));
    let response = webhook.handle(&signed("push", &push_body(), SECRET)).await;
    assert_eq!(status(&response), 502);
    assert_eq!(
        body_message(&response),
        "the event could not be forwarded; redeliver later"
    );
    assert_eq!(
        put_rule.num_calls(),
        1,
        "a non-retryable request error is not retried"
    );
}

#[tokio::test]
async fn secret_read_failure_is_503_and_not_retried_within_the_interval() {
    let secret_rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .error(|| {
            GetSecretValueError::InternalServiceError(
                InternalServiceError::builder().message("boom").build(),
            )
        })
        .repeatedly()
        .build();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let put_rule = put_events_ok(seen);
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], Duration::from_secs(30));
    let first_calls;
    {
        let response = webhook.handle(&signed("push", &push_body(), SECRET)).await;
        assert_eq!(status(&response), 503);
        assert!(!body_message(&response).contains("boom"));
        first_calls = secret_rule.num_calls();
        assert!(first_calls >= 1);
    }
    for _ in 0..20 {
        let response = webhook.handle(&signed("push", &push_body(), SECRET)).await;
        assert_eq!(status(&response), 503);
    }
    assert_eq!(
        secret_rule.num_calls(),
        first_calls,
        "no further reads within the interval"
    );
    assert_eq!(put_rule.num_calls(), 0);
}

#[tokio::test]
async fn forged_flood_reads_the_secret_once_per_interval() {
    let h = harness();
    let body = push_body();
    for _ in 0..50 {
        let response = h
            .webhook
            .handle(&signed("push", &body, "forger-guess"))
            .await;
        assert_eq!(status(&response), 401);
    }
    assert_eq!(h.secret_rule.num_calls(), 1, "only the cold-start read");
    assert_eq!(h.put_rule.num_calls(), 0);
}

#[tokio::test]
async fn mismatch_after_the_interval_rereads_once_and_then_waits_again() {
    let secret_rule = secret_rule(SECRET);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let put_rule = put_events_ok(seen);
    let interval = Duration::from_secs(1);
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], interval);
    let body = push_body();
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, SECRET)).await),
        200
    );
    assert_eq!(secret_rule.num_calls(), 1);
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    for _ in 0..10 {
        assert_eq!(
            status(&webhook.handle(&signed("push", &body, "forged")).await),
            401
        );
    }
    assert_eq!(
        secret_rule.num_calls(),
        2,
        "one re-read for the whole burst"
    );
    // The genuine secret still works from the cache.
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, SECRET)).await),
        200
    );
    assert_eq!(secret_rule.num_calls(), 2);
}

/// Secrets Manager answers "old-secret" once, then "new-secret" (rotated).
fn old_then_new_secret() -> Rule {
    mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .secret_string("old-secret")
                .build()
        })
        .output(|| {
            GetSecretValueOutput::builder()
                .secret_string("new-secret")
                .build()
        })
        .repeatedly()
        .build()
}

#[tokio::test]
async fn rotated_secret_is_picked_up_on_the_first_mismatch() {
    let secret_rule = old_then_new_secret();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let put_rule = put_events_ok(seen);
    let interval = Duration::from_millis(300);
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], interval);
    let body = push_body();
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, "old-secret")).await),
        200
    );
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let response = webhook.handle(&signed("push", &body, "new-secret")).await;
    assert_eq!(status(&response), 200, "{:?}", response.body);
    assert_eq!(secret_rule.num_calls(), 2);
    assert_eq!(put_rule.num_calls(), 2);
    // The old secret no longer verifies.
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, "old-secret")).await),
        401
    );
}

/// A secret revoked in Secrets Manager stops verifying once the cached copy
/// is older than the max age, without any delivery failing first.
#[tokio::test]
async fn a_revoked_secret_stops_verifying_after_the_max_age() {
    let secret_rule = old_then_new_secret();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let put_rule = put_events_ok(seen);
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &[&secret_rule]);
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, &[&put_rule]);
    let cfg = config("push");
    let max_age = Duration::from_millis(300);
    let store = SecretStore::new(secrets, cfg.secret_arn.clone())
        .with_refetch_interval(Duration::from_millis(10))
        .with_max_age(max_age);
    let webhook = Webhook::new(cfg, store, EventPublisher::new(events));
    let body = push_body();
    for _ in 0..3 {
        assert_eq!(
            status(&webhook.handle(&signed("push", &body, "old-secret")).await),
            200
        );
    }
    assert_eq!(secret_rule.num_calls(), 1, "cached while young");
    tokio::time::sleep(max_age + Duration::from_millis(100)).await;
    // The old secret was revoked: the first delivery after the max age is
    // checked against the secret read again, and fails.
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, "old-secret")).await),
        401
    );
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, "new-secret")).await),
        200
    );
    assert_eq!(put_rule.num_calls(), 4);
}

#[tokio::test]
async fn allowlist_is_configurable() {
    let secrets = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::MatchAny,
        &[&secret_rule(SECRET)]
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let put_rule = put_events_ok(seen.clone());
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, &[&put_rule]);
    let cfg = config("push,release");
    let store = SecretStore::new(secrets, cfg.secret_arn.clone());
    let webhook = Webhook::new(cfg, store, EventPublisher::new(events));
    let response = webhook
        .handle(&signed("release", br#"{"action":"published"}"#, SECRET))
        .await;
    assert_eq!(status(&response), 200);
    let (_, detail_type, _, detail) = sent_detail(&seen);
    assert_eq!(detail_type, "release");
    assert_eq!(detail["action"], "published");
    assert_eq!(
        status(&webhook.handle(&signed("issues", b"{}", SECRET)).await),
        202
    );
    assert_eq!(put_rule.num_calls(), 1);
}

/// Collects what the handler logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_failure_detail_but_never_the_secret_or_signatures() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let secret_rule = secret_rule(SECRET);
    let put_rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(ok_output)
        .http_status(
            400,
            Some(
                r#"{"__type":"AccessDeniedException","message":"not authorized to PutEvents"}"#
                    .into(),
            ),
        )
        .repeatedly()
        .build();
    let webhook = webhook_with(&[&secret_rule], &[&put_rule], Duration::from_secs(30));
    let body = push_body();
    let genuine = sign(&secret(SECRET), &body);
    let forged = sign(&secret("forged"), &body);
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, SECRET)).await),
        200
    );
    assert_eq!(
        status(&webhook.handle(&signed("push", &body, "forged")).await),
        401
    );
    let failed = webhook.handle(&signed("push", &body, SECRET)).await;
    assert_eq!(status(&failed), 502);
    assert!(!failed.body.as_deref().unwrap().contains("not authorized"));

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("not authorized to PutEvents"),
        "5xx detail is logged: {text}"
    );
    assert!(text.contains(DELIVERY));
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains(&genuine[7..]), "{text}");
    assert!(!text.contains(&forged[7..]), "{text}");
    assert!(
        !text.contains("0d1a26e67d8f"),
        "the payload is not logged: {text}"
    );
}
