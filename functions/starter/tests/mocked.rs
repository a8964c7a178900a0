//! The starter's fault paths against mocked AWS answers (aws-smithy-mocks):
//! what no emulator here produces on demand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_sdk_codepipeline::operation::start_pipeline_execution::StartPipelineExecutionOutput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use serde_json::{json, Value};
use starter::{handle_event, Config, Deps, Error, Outcome};

const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const DELIVERY: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const NOW: i64 = 1_800_000_000;

fn push_event() -> Value {
    json!({
        "version": "0", "id": "e-1", "detail-type": "push", "source": "github.com",
        "account": "123456789012", "time": "2026-12-01T10:00:00Z", "region": "ap-southeast-1",
        "resources": [],
        "detail": {
            "ref": "refs/heads/main",
            "before": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
            "after": COMMIT,
            "deleted": false,
            "repository": {"full_name": "octo-org/hello-app", "pushed_at": 1_799_999_990},
            "delivery_id": DELIVERY
        }
    })
}

fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(json!({"__type": code, "message": message}).to_string()),
    )
}

fn condition_failed() -> HttpResponse {
    json_error(
        400,
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "The conditional request failed",
    )
}

fn config() -> Config {
    Config {
        pipeline: "pipeline-unit".into(),
        source_action: "GitHub".into(),
        table: "deliveries-unit".into(),
    }
}

/// Standard retries, three attempts, no real waiting.
fn retries<B>(builder: B) -> B
where
    B: RetryConfigurable,
{
    builder.with_retries(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(2)),
    )
}

trait RetryConfigurable {
    fn with_retries(self, config: RetryConfig) -> Self;
}
impl RetryConfigurable for aws_sdk_codepipeline::config::Builder {
    fn with_retries(self, config: RetryConfig) -> Self {
        self.retry_config(config)
    }
}
impl RetryConfigurable for aws_sdk_dynamodb::config::Builder {
    fn with_retries(self, config: RetryConfig) -> Self {
        self.retry_config(config)
    }
}

fn deps(dynamodb: &[&Rule], codepipeline: &[&Rule]) -> Deps {
    Deps {
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, dynamodb, retries),
        codepipeline: mock_client!(
            aws_sdk_codepipeline,
            RuleMode::MatchAny,
            codepipeline,
            retries
        ),
        config: config(),
    }
}

fn claimed() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build())
}

fn advanced(sequence: u64) -> Rule {
    mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("pk")) == Some(&AttributeValue::S("head".into()))
        })
        .then_output(move || {
            UpdateItemOutput::builder()
                .attributes("sequence", AttributeValue::N(sequence.to_string()))
                .build()
        })
}

fn recorded() -> Rule {
    mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("pk")) != Some(&AttributeValue::S("head".into()))
        })
        .then_output(|| UpdateItemOutput::builder().build())
}

fn released() -> Rule {
    mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(|r| {
            r.expression_attribute_values()
                .and_then(|v| v.get(":attempt"))
                == Some(&AttributeValue::S("attempt-1".into()))
        })
        .then_output(|| DeleteItemOutput::builder().build())
}

fn started() -> Rule {
    mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .match_requests(|r| {
            let revision = &r.source_revisions()[0];
            r.name() == Some("pipeline-unit")
                && revision.action_name() == "GitHub"
                && revision.revision_type().as_str() == "COMMIT_ID"
                && revision.revision_value() == COMMIT
                && r.variables()
                    .iter()
                    .any(|v| v.name() == "COMMIT_ID" && v.value() == COMMIT)
                && r.variables()
                    .iter()
                    .any(|v| v.name() == "PUSH_SEQUENCE" && v.value() == "5")
                && r.client_request_token() == Some(DELIVERY)
        })
        .then_output(|| {
            StartPipelineExecutionOutput::builder()
                .pipeline_execution_id("exec-1")
                .build()
        })
}

#[tokio::test]
async fn a_first_delivery_starts_exactly_its_commit() {
    let (claim, advance, record, start) = (claimed(), advanced(5), recorded(), started());
    let deps = deps(&[&claim, &advance, &record], &[&start]);
    let outcome = handle_event(&deps, push_event(), "attempt-1", NOW)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Started {
            execution_id: "exec-1".into(),
            commit: COMMIT.into(),
            sequence: 5
        }
    );
    assert_eq!(start.num_calls(), 1);
    assert_eq!(record.num_calls(), 1);
}

#[tokio::test]
async fn a_duplicate_delivery_starts_nothing() {
    let lost = mock!(aws_sdk_dynamodb::Client::put_item).then_http_response(condition_failed);
    let existing = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .item("pk", AttributeValue::S(format!("delivery#{DELIVERY}")))
            .item("state", AttributeValue::S("started".into()))
            .item("execution_id", AttributeValue::S("exec-0".into()))
            .build()
    });
    let start = started();
    let deps = deps(&[&lost, &existing], &[&start]);
    let outcome = handle_event(&deps, push_event(), "attempt-2", NOW)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Duplicate { .. }), "{outcome:?}");
    assert_eq!(outcome.to_json()["result"], "duplicate");
    assert_eq!(start.num_calls(), 0);
}

#[tokio::test]
async fn a_delivery_in_flight_elsewhere_fails_so_lambda_retries_it() {
    let lost = mock!(aws_sdk_dynamodb::Client::put_item).then_http_response(condition_failed);
    let existing = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .item("state", AttributeValue::S("claimed".into()))
            .item("attempt", AttributeValue::S("other".into()))
            .item("lease_until", AttributeValue::N((NOW + 30).to_string()))
            .build()
    });
    let start = started();
    let deps = deps(&[&lost, &existing], &[&start]);
    let error = handle_event(&deps, push_event(), "attempt-2", NOW)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InFlight { .. }), "{error}");
    assert_eq!(start.num_calls(), 0);
}

#[tokio::test]
async fn a_throttled_start_is_retried_then_fails_and_gives_the_claim_back() {
    let throttled = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .then_http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"));
    let (claim, advance, release) = (claimed(), advanced(5), released());
    let deps = deps(&[&claim, &advance, &release], &[&throttled]);
    let error = handle_event(&deps, push_event(), "attempt-1", NOW)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ThrottlingException"), "{error}");
    // The SDK's standard mode retried it; then the invocation fails, so
    // Lambda retries the event and, after that, sends it to the queue.
    assert_eq!(throttled.num_calls(), 3);
    assert_eq!(release.num_calls(), 1);
}

#[tokio::test]
async fn a_redelivery_after_a_failed_start_starts_it() {
    // First attempt: claimed, start refused (a transient error), claim given back.
    let failing = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .then_http_response(|| json_error(500, "InternalError", "try again"));
    let (claim, advance, release) = (claimed(), advanced(5), released());
    let first = deps(&[&claim, &advance, &release], &[&failing]);
    handle_event(&first, push_event(), "attempt-1", NOW)
        .await
        .unwrap_err();
    assert_eq!(release.num_calls(), 1);
    // GitHub's redelivery (same delivery id): the claim is free again, the
    // head already names this delivery, and the start goes through.
    let (claim, advance, record, start) = (claimed(), advanced(5), recorded(), started());
    let second = deps(&[&claim, &advance, &record], &[&start]);
    let outcome = handle_event(&second, push_event(), "attempt-2", NOW + 120)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Started { .. }), "{outcome:?}");
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn a_late_delivery_is_recorded_and_not_started() {
    let claim = claimed();
    let refused = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("pk")) == Some(&AttributeValue::S("head".into()))
        })
        .then_http_response(condition_failed);
    let head = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .item("pk", AttributeValue::S("head".into()))
            .item("pushed_at", AttributeValue::N("1799999999".into()))
            .item("head_commit", AttributeValue::S("b".repeat(40)))
            .item("delivery_id", AttributeValue::S("newer".into()))
            .item("sequence", AttributeValue::N("9".into()))
            .build()
    });
    let late = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.expression_attribute_values()
                .and_then(|v| v.get(":state"))
                == Some(&AttributeValue::S("late".into()))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let start = started();
    let deps = deps(&[&claim, &refused, &head, &late], &[&start]);
    let outcome = handle_event(&deps, push_event(), "attempt-1", NOW)
        .await
        .unwrap();
    let Outcome::Late(reason) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.to_string().contains("older than push bbbb"),
        "{reason}"
    );
    assert_eq!(start.num_calls(), 0);
    assert_eq!(late.num_calls(), 1);
}

#[tokio::test]
async fn a_bad_event_is_refused_without_an_error_and_calls_nothing() {
    let (claim, start) = (claimed(), started());
    let deps = deps(&[&claim], &[&start]);
    let mut event = push_event();
    event["detail"].as_object_mut().unwrap().remove("after");
    let outcome = handle_event(&deps, event, "attempt-1", NOW).await.unwrap();
    assert_eq!(outcome.to_json()["result"], "refused");
    assert!(outcome.to_json()["reason"]
        .as_str()
        .unwrap()
        .contains("after"));
    assert_eq!(claim.num_calls(), 0);
    assert_eq!(start.num_calls(), 0);
}
