//! The starter's fault paths against mocked AWS answers (aws-smithy-mocks):
//! what no emulator here produces on demand. The head record lives in a
//! plain in-memory cell the mocks read and write (`HeadCell`, a stand-in
//! that evaluates no condition: these tests are about what the handler does
//! on each answer; the conditions themselves are tested against the local
//! cloud's DynamoDB in `tests/order_local_cloud.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codepipeline::operation::get_pipeline_execution::GetPipelineExecutionOutput;
use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsOutput;
use aws_sdk_codepipeline::operation::start_pipeline_execution::StartPipelineExecutionOutput;
use aws_sdk_codepipeline::types::{
    PipelineExecution, PipelineExecutionSummary, ResolvedPipelineVariable,
};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use serde_json::{json, Value};
use starter::domain::order::{Fate, Head, StartState};
use starter::{handle_event, Config, Deps, Error, Outcome, Timing};

const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const BEFORE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const NEWER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const DELIVERY: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const NOW: i64 = 1_800_000_000;
const TOPIC: &str = "arn:aws:sns:ap-southeast-1:123456789012:notices-unit";

fn event(before: &str, after: &str, pushed_at: i64) -> Value {
    json!({
        "version": "0", "id": "e-1", "detail-type": "push", "source": "github.com",
        "account": "123456789012", "time": "2026-12-01T10:00:00Z", "region": "ap-southeast-1",
        "resources": [],
        "detail": {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "deleted": false,
            "forced": false,
            "repository": {"full_name": "octo-org/hello-app", "pushed_at": pushed_at},
            "delivery_id": DELIVERY
        }
    })
}

fn push_event() -> Value {
    event(BEFORE, COMMIT, 1_799_999_990)
}

fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(json!({"__type": code, "message": message}).to_string()),
    )
}

type Item = HashMap<String, AttributeValue>;

/// The head item, shared by the get and put mocks.
#[derive(Clone, Default)]
struct HeadCell(Arc<Mutex<Option<Item>>>);

impl HeadCell {
    fn head(&self) -> Head {
        let item = self.0.lock().unwrap().clone().expect("a head was written");
        let mut head: Head =
            serde_json::from_str(item["state"].as_s().unwrap()).expect("the state is JSON");
        head.version = item["version"].as_n().unwrap().parse().unwrap();
        head
    }

    fn get(&self) -> Rule {
        let cell = self.clone();
        mock!(aws_sdk_dynamodb::Client::get_item).then_compute_output(move |input| {
            assert_eq!(input.consistent_read(), Some(true), "reads are consistent");
            GetItemOutput::builder()
                .set_item(cell.0.lock().unwrap().clone())
                .build()
        })
    }

    fn put(&self) -> Rule {
        let cell = self.clone();
        mock!(aws_sdk_dynamodb::Client::put_item).then_compute_output(move |input| {
            assert!(
                input.condition_expression().is_some(),
                "every write is conditional"
            );
            *cell.0.lock().unwrap() = input.item().cloned();
            PutItemOutput::builder().build()
        })
    }
}

fn config(topic: bool) -> Config {
    Config {
        pipeline: "pipeline-unit".into(),
        source_action: "GitHub".into(),
        table: "deliveries-unit".into(),
        topic: topic.then(|| TOPIC.to_owned()),
    }
}

fn retries(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(2))
}

fn deps(dynamodb: &[&Rule], codepipeline: &[&Rule], sns: &[&Rule]) -> Deps {
    Deps {
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, dynamodb, |b| b
            .retry_config(retries(3))),
        codepipeline: mock_client!(
            aws_sdk_codepipeline,
            RuleMode::MatchAny,
            codepipeline,
            |b| b.retry_config(retries(3))
        ),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns, |b| b
            .retry_config(retries(1))),
        config: config(true),
        timing: Timing {
            poll: Duration::from_millis(5),
            patience: Duration::from_millis(40),
        },
    }
}

fn started(sequence: u64) -> Rule {
    mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .match_requests(move |r| {
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
                    .any(|v| v.name() == "PUSH_SEQUENCE" && v.value() == sequence.to_string())
                && r.variables()
                    .iter()
                    .any(|v| v.name() == "DELIVERY_ID" && v.value() == DELIVERY)
        })
        .then_output(|| {
            StartPipelineExecutionOutput::builder()
                .pipeline_execution_id("exec-1")
                .build()
        })
}

fn published() -> Rule {
    mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| r.topic_arn() == Some(TOPIC))
        .then_output(|| PublishOutput::builder().message_id("m-1").build())
}

#[tokio::test]
async fn a_first_push_starts_exactly_its_commit_and_records_it() {
    let cell = HeadCell::default();
    let (get, put, start) = (cell.get(), cell.put(), started(1));
    let deps = deps(&[&get, &put], &[&start], &[]);
    let outcome = handle_event(&deps, push_event(), "attempt-1", NOW)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Started {
            execution_id: "exec-1".into(),
            commit: COMMIT.into(),
            sequence: 1
        }
    );
    assert_eq!(start.num_calls(), 1);
    let head = cell.head();
    assert_eq!(head.version, 2, "the lease, then the execution");
    let current = head.current.unwrap();
    assert_eq!(current.push.after, COMMIT);
    assert_eq!(
        current.start,
        StartState::Started {
            execution: "exec-1".into()
        }
    );
}

#[tokio::test]
async fn the_same_body_again_under_any_delivery_id_starts_nothing() {
    let cell = HeadCell::default();
    let (get, put, start) = (cell.get(), cell.put(), started(1));
    let deps = deps(&[&get, &put], &[&start], &[]);
    handle_event(&deps, push_event(), "attempt-1", NOW)
        .await
        .unwrap();
    for delivery in ["other-id", DELIVERY] {
        let mut again = push_event();
        again["detail"]["delivery_id"] = json!(delivery);
        let outcome = handle_event(&deps, again, "attempt-2", NOW + 5)
            .await
            .unwrap();
        assert!(
            matches!(
                outcome,
                Outcome::Duplicate {
                    fate: Fate::Started { sequence: 1 },
                    ..
                }
            ),
            "{outcome:?}"
        );
    }
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn a_throttled_start_fails_and_its_retry_resumes_at_once() {
    let cell = HeadCell::default();
    let throttled = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .then_http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"));
    let (get, put) = (cell.get(), cell.put());
    let first = deps(&[&get, &put], &[&throttled], &[]);
    let error = handle_event(&first, push_event(), "attempt-1", NOW)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ThrottlingException"), "{error}");
    // The SDK's standard mode retried it; AWS refused it, so it did not
    // start, and the head says so at once.
    assert_eq!(throttled.num_calls(), 3);
    assert_eq!(cell.head().current.unwrap().start, StartState::Interrupted);
    // Lambda's retry (another attempt) starts it with the same sequence.
    let start = started(1);
    let second = deps(&[&get, &put], &[&start], &[]);
    let outcome = handle_event(&second, push_event(), "attempt-2", NOW + 60)
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Started { sequence: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn a_start_that_may_have_happened_keeps_its_lease_and_is_found_in_the_pipeline() {
    let cell = HeadCell::default();
    // A 500 is an error AWS answered, too; a lost connection is what may
    // have started: the lease stays until it ends. Simulate the lease left
    // by a crash right after the start.
    let (get, put) = (cell.get(), cell.put());
    let start = started(1);
    let first = deps(&[&get, &put], &[&start], &[]);
    handle_event(&first, push_event(), "attempt-1", NOW)
        .await
        .unwrap();
    let mut crashed = cell.head();
    crashed.current.as_mut().unwrap().start = StartState::Starting {
        attempt: "attempt-1".into(),
        since: NOW,
        lease_until: NOW + 60,
    };
    {
        let mut item = cell.0.lock().unwrap();
        let item = item.as_mut().unwrap();
        item.insert(
            "state".into(),
            AttributeValue::S(serde_json::to_string(&crashed).unwrap()),
        );
    }
    // Within the lease another delivery waits, then fails to be retried.
    let waiting = deps(&[&get, &put], &[], &[]);
    let error = handle_event(&waiting, push_event(), "attempt-2", NOW + 10)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InFlight { .. }), "{error}");
    // After it the pipeline is searched: the execution is there.
    let list = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions).then_output(|| {
        ListPipelineExecutionsOutput::builder()
            .pipeline_execution_summaries(
                PipelineExecutionSummary::builder()
                    .pipeline_execution_id("exec-1")
                    .build(),
            )
            .build()
    });
    let get_execution = mock!(aws_sdk_codepipeline::Client::get_pipeline_execution)
        .match_requests(|r| r.pipeline_execution_id() == Some("exec-1"))
        .then_output(|| {
            GetPipelineExecutionOutput::builder()
                .pipeline_execution(
                    PipelineExecution::builder()
                        .pipeline_execution_id("exec-1")
                        .variables(
                            ResolvedPipelineVariable::builder()
                                .name("PUSH_SEQUENCE")
                                .resolved_value("1")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let again = started(1);
    let after = deps(&[&get, &put], &[&list, &get_execution, &again], &[]);
    let outcome = handle_event(&after, push_event(), "attempt-3", NOW + 61)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Duplicate { .. }), "{outcome:?}");
    assert_eq!(
        again.num_calls(),
        0,
        "found in the pipeline: not started twice"
    );
    assert_eq!(
        cell.head().current.unwrap().start,
        StartState::Started {
            execution: "exec-1".into()
        }
    );
}

#[tokio::test]
async fn an_older_push_is_superseded_announced_and_remembered() {
    let cell = HeadCell::default();
    let (get, put, publish) = (cell.get(), cell.put(), published());
    let newer = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution).then_output(|| {
        StartPipelineExecutionOutput::builder()
            .pipeline_execution_id("exec-2")
            .build()
    });
    let deps = deps(&[&get, &put], &[&newer], &[&publish]);
    // The newer push arrives first.
    handle_event(&deps, event(COMMIT, NEWER, 1_799_999_999), "attempt-1", NOW)
        .await
        .unwrap();
    let outcome = handle_event(&deps, push_event(), "attempt-2", NOW)
        .await
        .unwrap();
    let Outcome::Superseded { commit, by } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!((commit.as_str(), by.after.as_str()), (COMMIT, NEWER));
    assert_eq!(outcome.to_json()["result"], "superseded");
    assert_eq!(publish.num_calls(), 1);
    assert!(cell.head().unannounced().is_empty());
    // Its redelivery repeats a handled push: not announced again.
    let again = handle_event(&deps, push_event(), "attempt-3", NOW)
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");
    assert_eq!(publish.num_calls(), 1);
    assert_eq!(newer.num_calls(), 1);
}

#[tokio::test]
async fn a_notice_that_could_not_be_sent_fails_the_invocation_and_is_sent_by_the_retry() {
    let cell = HeadCell::default();
    let (get, put) = (cell.get(), cell.put());
    let newer = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution).then_output(|| {
        StartPipelineExecutionOutput::builder()
            .pipeline_execution_id("exec-2")
            .build()
    });
    // SNS speaks the query protocol: its errors are XML.
    let refused = mock!(aws_sdk_sns::Client::publish).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(500).unwrap(),
            SdkBody::from(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code>\
                 <Message>try again</Message></Error></ErrorResponse>",
            ),
        )
    });
    let first = deps(&[&get, &put], &[&newer], &[&refused]);
    handle_event(
        &first,
        event(COMMIT, NEWER, 1_799_999_999),
        "attempt-1",
        NOW,
    )
    .await
    .unwrap();
    let error = handle_event(&first, push_event(), "attempt-2", NOW)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("InternalError"), "{error}");
    assert_eq!(cell.head().unannounced().len(), 1, "the notice is owed");
    let publish = published();
    let retry = deps(&[&get, &put], &[], &[&publish]);
    let outcome = handle_event(&retry, push_event(), "attempt-3", NOW + 60)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Duplicate { .. }), "{outcome:?}");
    assert_eq!(publish.num_calls(), 1);
    assert!(cell.head().unannounced().is_empty());
}

#[tokio::test]
async fn a_lost_write_is_read_and_decided_again() {
    let cell = HeadCell::default();
    let lost = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .http_response(|| {
            json_error(
                400,
                "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                "The conditional request failed",
            )
        })
        .times(1)
        .build();
    // (`times(1)`: the first write loses, later ones reach the cell.)
    let (get, put, start) = (cell.get(), cell.put(), started(1));
    let deps = deps(&[&lost, &get, &put], &[&start], &[]);
    let outcome = handle_event(&deps, push_event(), "attempt-1", NOW)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Started { .. }), "{outcome:?}");
    assert_eq!(lost.num_calls(), 1);
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn a_bad_event_is_refused_announced_and_touches_no_record() {
    let (cell, start, publish) = (HeadCell::default(), started(1), published());
    let (get, put) = (cell.get(), cell.put());
    let deps = deps(&[&get, &put], &[&start], &[&publish]);
    let mut event = push_event();
    event["detail"].as_object_mut().unwrap().remove("after");
    let outcome = handle_event(&deps, event, "attempt-1", NOW).await.unwrap();
    assert_eq!(outcome.to_json()["result"], "refused");
    assert!(outcome.to_json()["reason"]
        .as_str()
        .unwrap()
        .contains("after"));
    assert_eq!(get.num_calls() + put.num_calls() + start.num_calls(), 0);
    assert_eq!(publish.num_calls(), 1);
}
