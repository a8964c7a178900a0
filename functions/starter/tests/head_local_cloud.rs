//! The head record against DynamoDB in the local cloud (MiniStack, which
//! evaluates condition expressions):
//!
//! - the write condition agrees with `deliveries::write_allowed` on every
//!   generated (stored version, read version) pair;
//! - the real handler, run concurrently on seeded schedules of deliveries
//!   (duplicates and reorderings of three pushes, at least four invocations
//!   overlapping), with faults injected into the DynamoDB calls (an error
//!   before the call reaches DynamoDB, or after it took effect: a lost
//!   answer) and invocations killed at any point (a crash), each failed or
//!   killed invocation retried as Lambda retries it: each push is started at
//!   most once and in push order, the newest is started, and every push not
//!   started is announced.
//!
//! CodePipeline and SNS are aws-smithy-mocks rules that record what they
//! are asked (no condition lives there); the decisions all go through the
//! table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use aws_sdk_codepipeline::operation::get_pipeline_execution::GetPipelineExecutionOutput;
use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsOutput;
use aws_sdk_codepipeline::operation::start_pipeline_execution::StartPipelineExecutionOutput;
use aws_sdk_codepipeline::types::{
    PipelineExecution, PipelineExecutionSummary, ResolvedPipelineVariable,
};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use sandbox::Sandbox;
use serde_json::{json, Value};
use starter::aws::deliveries::{self, write_allowed, HEAD_KEY, KEY};
use starter::domain::order::Head;
use starter::{handle_event, Config, Deps, Outcome, Timing};

#[tokio::test]
async fn the_write_condition_agrees_with_dynamodb() {
    let sb = Sandbox::start_or_fail();
    let table = "deliveries-head-condition";
    let client = sb.deliveries_table(table).await;
    let mut checked = 0;
    for stored in [None, Some(1u64), Some(2)] {
        for read in [0u64, 1, 2, 3] {
            client
                .delete_item()
                .table_name(table)
                .key(KEY, AttributeValue::S(HEAD_KEY.into()))
                .send()
                .await
                .unwrap();
            if let Some(version) = stored {
                client
                    .put_item()
                    .table_name(table)
                    .item(KEY, AttributeValue::S(HEAD_KEY.into()))
                    .item("version", AttributeValue::N(version.to_string()))
                    .item("sequence", AttributeValue::N("0".into()))
                    .item(
                        "state",
                        AttributeValue::S(r#"{"sequence":0,"current":null}"#.into()),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            let next = Head {
                version: read,
                sequence: 9,
                ..Head::default()
            };
            let written = deliveries::write_head(&client, table, &next).await.unwrap();
            assert_eq!(
                written,
                write_allowed(stored, read),
                "stored version {stored:?}, read {read}"
            );
            let after = deliveries::read_head(&client, table).await.unwrap();
            if written {
                assert_eq!((after.version, after.sequence), (read + 1, 9));
            } else {
                assert_eq!(after.version, stored.unwrap_or(0));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

const Z: &str = "2222222222222222222222222222222222222222";
const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

/// Push `n` of three, in push order (seconds apart).
fn push_event(n: usize, delivery: &str) -> Value {
    let (before, after) = [(Z, A), (A, B), (B, C)][n];
    json!({
        "version": "0", "id": "e", "detail-type": "push", "source": "github.com",
        "account": "123456789012", "time": "2026-12-01T10:00:00Z", "region": "ap-southeast-1",
        "resources": [],
        "detail": {
            "ref": "refs/heads/main", "before": before, "after": after,
            "deleted": false, "forced": false,
            "repository": {"full_name": "octo/app", "pushed_at": 1_800_000_000 + n as i64},
            "delivery_id": delivery
        }
    })
}

/// A small seeded generator (SplitMix64): the schedules are reproducible.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// Fails about one DynamoDB call in `one_in`, seeded: before it is sent
/// (nothing happened) or after DynamoDB answered (it took effect, the
/// answer is lost), as a timeout or a dropped connection would.
#[derive(Debug)]
struct Faults {
    state: AtomicU64,
    one_in: u64,
    injected: Arc<AtomicU64>,
}

impl Faults {
    fn roll(&self) -> bool {
        let mut x = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let fail = (x ^ (x >> 31)) % self.one_in == 0;
        if fail {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        fail
    }
}

impl Intercept for Faults {
    fn name(&self) -> &'static str {
        "Faults"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.roll() {
            return Err("injected: the call never reached DynamoDB".into());
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.roll() {
            return Err("injected: DynamoDB's answer was lost".into());
        }
        Ok(())
    }
}

type Starts = Arc<Mutex<Vec<(String, u64)>>>;

fn pipeline(starts: &Starts) -> aws_sdk_codepipeline::Client {
    let recorded = starts.clone();
    let start = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution).then_compute_output(
        move |input| {
            let variable = |name: &str| {
                input
                    .variables()
                    .iter()
                    .find(|v| v.name() == name)
                    .map(|v| v.value().to_owned())
                    .unwrap_or_default()
            };
            let mut starts = recorded.lock().unwrap();
            starts.push((
                variable("COMMIT_ID"),
                variable("PUSH_SEQUENCE").parse().unwrap(),
            ));
            StartPipelineExecutionOutput::builder()
                .pipeline_execution_id(format!("exec-{}", starts.len() - 1))
                .build()
        },
    );
    let listed = starts.clone();
    let list = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions).then_compute_output(
        move |_| {
            let starts = listed.lock().unwrap();
            let summaries = (0..starts.len())
                .rev()
                .map(|i| {
                    PipelineExecutionSummary::builder()
                        .pipeline_execution_id(format!("exec-{i}"))
                        .build()
                })
                .collect();
            ListPipelineExecutionsOutput::builder()
                .set_pipeline_execution_summaries(Some(summaries))
                .build()
        },
    );
    let read = starts.clone();
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline_execution).then_compute_output(
        move |input| {
            let id = input.pipeline_execution_id().unwrap_or_default().to_owned();
            let index: usize = id.trim_start_matches("exec-").parse().unwrap();
            let sequence = read.lock().unwrap()[index].1;
            GetPipelineExecutionOutput::builder()
                .pipeline_execution(
                    PipelineExecution::builder()
                        .pipeline_execution_id(id)
                        .variables(
                            ResolvedPipelineVariable::builder()
                                .name("PUSH_SEQUENCE")
                                .resolved_value(sequence.to_string())
                                .build(),
                        )
                        .build(),
                )
                .build()
        },
    );
    mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        &[&start, &list, &get]
    )
}

/// How many seeded schedules `cargo test` runs (SCHEDULES overrides it).
fn schedules() -> u64 {
    std::env::var("SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_start_each_push_once_and_in_order() {
    let sb = Sandbox::start_or_fail();
    let sdk = sb.sdk_config().await;
    let table = "deliveries-schedules";
    let cleaner = sb.deliveries_table(table).await;
    let injected = Arc::new(AtomicU64::new(0));
    let (mut killed, mut retried) = (0u64, 0u64);
    let schedules = schedules();
    for seed in 0..schedules {
        // Each schedule starts from an empty head.
        cleaner
            .delete_item()
            .table_name(table)
            .key(KEY, AttributeValue::S(HEAD_KEY.into()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let starts: Starts = Arc::default();
        let notices: Arc<Mutex<Vec<String>>> = Arc::default();
        let heard = notices.clone();
        let published = mock!(aws_sdk_sns::Client::publish).then_compute_output(move |input| {
            heard
                .lock()
                .unwrap()
                .push(input.message().unwrap_or_default().to_owned());
            PublishOutput::builder().message_id("m").build()
        });
        let faults = Faults {
            state: AtomicU64::new(seed.wrapping_mul(0xA24B_AED4_963E_E407)),
            one_in: 12,
            injected: injected.clone(),
        };
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(faults)
                .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
                .build(),
        );
        let deps = Arc::new(Deps {
            dynamodb,
            codepipeline: pipeline(&starts),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, &[&published]),
            config: Config {
                pipeline: "pipeline-schedule".into(),
                source_action: "GitHub".into(),
                table: table.into(),
                topic: Some("arn:aws:sns:ap-southeast-1:123456789012:notices".into()),
            },
            timing: Timing {
                poll: Duration::from_millis(5),
                patience: Duration::from_millis(60),
            },
        });
        // Each push delivered once or twice more (redeliveries), in a random
        // order, all at once: four to six overlapping invocations.
        let mut random = Seeded(seed);
        let mut deliveries: Vec<usize> = vec![0, 1, 2, random.below(3)];
        for _ in 0..random.below(3) {
            deliveries.push(random.below(3));
        }
        for i in (1..deliveries.len()).rev() {
            deliveries.swap(i, random.below(i + 1));
        }
        let mut waves = 0;
        let mut pending: Vec<(usize, usize)> = deliveries.iter().copied().enumerate().collect();
        let mut outcomes: HashMap<usize, Vec<Outcome>> = HashMap::new();
        // A retry comes after the crashed attempt's lease (60 s) has ended.
        while !pending.is_empty() {
            // Each attempt fails with some chance; 40 in a row do not.
            assert!(
                waves < 40,
                "seed {seed}: deliveries never settled: {pending:?}"
            );
            let now = 1_800_000_100 + 61 * waves;
            let tasks: Vec<_> = pending
                .drain(..)
                .map(|(i, n)| {
                    let deps = deps.clone();
                    let kill_after = (random.below(4) == 0).then(|| random.below(15) as u64);
                    let handle = tokio::spawn(async move {
                        let event = push_event(n, &format!("delivery-{seed}-{i}"));
                        let attempt = format!("attempt-{i}-{waves}");
                        handle_event(&deps, event, &attempt, now as i64).await
                    });
                    (i, n, handle, kill_after)
                })
                .collect();
            for (i, n, handle, kill_after) in tasks {
                let abort = handle.abort_handle();
                let killer = kill_after.map(|ms| {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        abort.abort();
                    })
                });
                match handle.await {
                    Ok(Ok(outcome)) => outcomes.entry(n).or_default().push(outcome),
                    Ok(Err(_)) => {
                        retried += 1;
                        pending.push((i, n));
                    }
                    Err(_) => {
                        killed += 1;
                        pending.push((i, n));
                    }
                }
                if let Some(killer) = killer {
                    killer.abort();
                }
            }
            waves += 1;
        }
        let starts = starts.lock().unwrap().clone();
        let commits: Vec<&str> = starts.iter().map(|(c, _)| c.as_str()).collect();
        let mut unique = commits.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            commits.len(),
            "seed {seed}: a push started twice: {starts:?}"
        );
        let order = |commit: &str| [A, B, C].iter().position(|c| *c == commit).unwrap();
        for pair in starts.windows(2) {
            assert!(
                order(&pair[0].0) < order(&pair[1].0) && pair[0].1 < pair[1].1,
                "seed {seed}: started out of push order: {starts:?}"
            );
        }
        assert_eq!(
            commits.last(),
            Some(&C),
            "seed {seed}: the newest push was not started: {starts:?}"
        );
        let notices = notices.lock().unwrap().clone();
        for (n, commit) in [A, B, C].iter().enumerate() {
            let started = commits.contains(commit);
            let announced = notices
                .iter()
                .any(|m| m.contains(&format!("commit {commit} (from")));
            assert!(
                started || announced,
                "seed {seed}: push {n} neither started nor announced: {starts:?} {notices:?}"
            );
            assert!(
                outcomes
                    .get(&n)
                    .is_some_and(|answers| answers.iter().all(|o| matches!(
                        o,
                        Outcome::Started { .. }
                            | Outcome::Duplicate { .. }
                            | Outcome::Superseded { .. }
                    ))),
                "seed {seed}: push {n}: {:?}",
                outcomes.get(&n)
            );
        }
    }
    eprintln!(
        "{schedules} schedules of 4 to 6 overlapping deliveries: {} DynamoDB faults injected, {killed} invocations killed, {retried} failed and retried; each push started at most once and in order, the newest started, the others announced",
        injected.load(Ordering::Relaxed)
    );
    assert!(injected.load(Ordering::Relaxed) > 0 && killed > 0);
}
