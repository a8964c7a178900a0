//! The entry point: one EventBridge event, at most one pipeline start.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::aws::{deliveries, pipeline, topic};
use crate::config::Config;
use crate::domain::notice::{self, Notice};
use crate::domain::order::{decide, Decision, Edge, Fate, Head, Waiting, PATIENCE_SECONDS};
use crate::domain::push::{parse_push, Push, Refusal};
use crate::domain::start::start_request;
use crate::error::Error;

/// How often a waiting push reads the head again, and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub poll: Duration,
    pub patience: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            patience: Duration::from_secs(PATIENCE_SECONDS.unsigned_abs()),
        }
    }
}

/// SDK clients built once, and the configuration read once.
#[derive(Debug, Clone)]
pub struct Deps {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub sns: aws_sdk_sns::Client,
    pub config: Config,
    pub timing: Timing,
}

impl Deps {
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            codepipeline: aws_sdk_codepipeline::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            config,
            timing: Timing::default(),
        }
    }
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The pipeline was started on exactly the pushed commit.
    Started {
        execution_id: String,
        commit: String,
        sequence: u64,
    },
    /// The push was handled before (started, or superseded): nothing new.
    Duplicate { commit: String, fate: Fate },
    /// Not started: a push after it was started (announced and counted).
    Superseded { commit: String, by: Edge },
    /// Not a push that can start (no commit, a deletion, a tag, malformed):
    /// announced and counted.
    Refused(Refusal),
}

impl Outcome {
    /// The invocation's answer (visible to `aws lambda invoke` and the replay).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Started {
                execution_id,
                commit,
                sequence,
            } => json!({
                "result": "started", "pipelineExecutionId": execution_id,
                "commit": commit, "sequence": sequence,
            }),
            Self::Duplicate { commit, fate } => json!({
                "result": "duplicate", "commit": commit, "fate": fate,
            }),
            Self::Superseded { commit, by } => json!({
                "result": "superseded", "commit": commit, "by": by.after,
            }),
            Self::Refused(refusal) => json!({"result": "refused", "reason": refusal.to_string()}),
        }
    }
}

pub async fn function_handler(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    // Unique to this invocation: Lambda may hand a retry the same request id.
    let nonce = RandomState::new().build_hasher().finish();
    let attempt = format!("{}/{nonce:016x}", event.context.request_id);
    let outcome = Box::pin(handle_event(deps, event.payload, &attempt, unix_now())).await?;
    Ok(outcome.to_json())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The log line the `PushesNotStarted` metric filter counts.
fn count_not_started(commit: &str, reason: &str) {
    tracing::warn!(not_started = 1, commit, reason, "push not started");
}

/// How many times one event reads and decides at most (waits included).
const MAX_ROUNDS: usize = 64;

/// Handles one event for `attempt` (unique to this invocation), whose clock
/// read `now` when it began. An error means "retry me": what the head says
/// is owed (a start under an ended lease, a notice) is done by the retry.
pub async fn handle_event(
    deps: &Deps,
    payload: Value,
    attempt: &str,
    now: i64,
) -> Result<Outcome, Error> {
    let push = match parse_push(payload) {
        Ok(push) => push,
        Err(refusal) => {
            count_not_started("none", &refusal.to_string());
            announce(deps, &notice::refused(&refusal)).await?;
            return Ok(Outcome::Refused(refusal));
        }
    };
    let span = tracing::info_span!(
        "push",
        delivery_id = %push.delivery_id,
        push = %push.id.short(),
        repository = %push.repository,
        branch = %push.branch,
        commit = %push.commit,
        pushed_at = ?push.pushed_at,
        forced = push.forced,
    );
    let _entered = span.enter();
    let began = Instant::now();
    let mut patience_over = false;
    for _ in 0..MAX_ROUNDS {
        let waited = began.elapsed();
        let now = now + i64::try_from(waited.as_secs()).unwrap_or(i64::MAX);
        let head = deliveries::read_head(&deps.dynamodb, table(deps)).await?;
        let decision = decide(&head, &push, attempt, now, patience_over);
        tracing::debug!(?decision, version = head.version, "decided");
        match decision {
            Decision::Start => {
                let next = head.start(&push, attempt, now);
                if !deliveries::write_head(&deps.dynamodb, table(deps), &next).await? {
                    continue;
                }
                for (lost, by) in next.unannounced() {
                    count_not_started(
                        &lost.after,
                        "its start was interrupted, and a newer push came",
                    );
                    owe_notice(deps, &push, &lost, &by).await?;
                }
                return start(deps, &push, attempt, next.sequence).await;
            }
            Decision::Resume => {
                let next = head.resume(attempt, now);
                if !deliveries::write_head(&deps.dynamodb, table(deps), &next).await? {
                    continue;
                }
                let sequence = next.current.as_ref().map_or(0, |c| c.sequence);
                return start(deps, &push, attempt, sequence).await;
            }
            Decision::Proceed => {
                let sequence = head.current.as_ref().map_or(0, |c| c.sequence);
                return start(deps, &push, attempt, sequence).await;
            }
            Decision::Settle => settle(deps, &head).await?,
            Decision::Wait(waiting) => {
                if waited >= deps.timing.patience {
                    if let Waiting::Lease { lease_until } = waiting {
                        return Err(Error::InFlight {
                            commit: push.commit.clone(),
                            lease_until,
                        });
                    }
                    tracing::info!(
                        ?waiting,
                        "waited long enough for the predecessor: going ahead"
                    );
                    patience_over = true;
                } else {
                    tracing::info!(?waiting, "waiting");
                    tokio::time::sleep(deps.timing.poll).await;
                }
            }
            Decision::Repeat(fate) => {
                if let Fate::Superseded {
                    by,
                    announced: false,
                } = &fate
                {
                    owe_notice(deps, &push, &Edge::of(&push), by).await?;
                }
                tracing::info!(?fate, "already handled: nothing to do");
                return Ok(Outcome::Duplicate {
                    commit: push.commit.clone(),
                    fate,
                });
            }
            Decision::Superseded { by } => {
                let next = head.supersede(&push, &by);
                if !deliveries::write_head(&deps.dynamodb, table(deps), &next).await? {
                    continue;
                }
                count_not_started(
                    &push.commit,
                    &format!("superseded by the push of {}", by.after),
                );
                owe_notice(deps, &push, &Edge::of(&push), &by).await?;
                return Ok(Outcome::Superseded {
                    commit: push.commit.clone(),
                    by,
                });
            }
        }
    }
    Err(Error::Unsettled {
        commit: push.commit.clone(),
    })
}

fn table(deps: &Deps) -> &str {
    deps.config.table.as_str()
}

/// Looks for the current push's execution after its lease ended, and
/// records what was found. A lost write is fine: someone settled it first.
async fn settle(deps: &Deps, head: &Head) -> Result<(), Error> {
    let Some(current) = &head.current else {
        return Ok(());
    };
    let found =
        pipeline::find_started(&deps.codepipeline, &deps.config.pipeline, current.sequence).await?;
    tracing::warn!(
        commit = %current.push.after,
        sequence = current.sequence,
        execution = ?found,
        "a start lease ended without its execution recorded: settled from the pipeline"
    );
    deliveries::write_head(&deps.dynamodb, table(deps), &head.settle(found)).await?;
    Ok(())
}

/// Starts the pipeline on the push this attempt holds the lease of, then
/// records the execution in the head.
async fn start(deps: &Deps, push: &Push, attempt: &str, sequence: u64) -> Result<Outcome, Error> {
    let request = start_request(
        &deps.config.pipeline,
        &deps.config.source_action,
        push,
        sequence,
    );
    let execution_id = match pipeline::start(&deps.codepipeline, &request).await {
        Ok(id) => id,
        Err(error) => {
            // A refusal AWS answered: it did not start, and the retry may
            // start it at once. Anything else (a timeout) may have started
            // it: the lease ends and the pipeline is searched.
            if error.is_refusal() {
                let _ = mark_interrupted(deps, push, attempt).await;
            }
            return Err(error);
        }
    };
    tracing::info!(%execution_id, sequence, "started the pipeline on the pushed commit");
    if let Err(error) = mark_started(deps, push, attempt, &execution_id).await {
        // Not retried: the lease ends and the pipeline search finds it.
        tracing::error!(error = %error, "started, but could not record it");
    }
    Ok(Outcome::Started {
        execution_id,
        commit: push.commit.clone(),
        sequence,
    })
}

async fn mark_started(
    deps: &Deps,
    push: &Push,
    attempt: &str,
    execution: &str,
) -> Result<(), Error> {
    for _ in 0..5 {
        let head = deliveries::read_head(&deps.dynamodb, table(deps)).await?;
        let Some(next) = head.started(&push.id, attempt, execution) else {
            return Ok(());
        };
        if deliveries::write_head(&deps.dynamodb, table(deps), &next).await? {
            return Ok(());
        }
    }
    Ok(())
}

async fn mark_interrupted(deps: &Deps, push: &Push, attempt: &str) -> Result<(), Error> {
    let head = deliveries::read_head(&deps.dynamodb, table(deps)).await?;
    if head.started(&push.id, attempt, "").is_some() {
        deliveries::write_head(&deps.dynamodb, table(deps), &head.settle(None)).await?;
    }
    Ok(())
}

/// Sends the notice for `lost` (superseded by `by`) and records it sent.
/// A failed publish fails the invocation: the retry finds it owed.
async fn owe_notice(deps: &Deps, push: &Push, lost: &Edge, by: &Edge) -> Result<(), Error> {
    let notice = notice::superseded(&push.repository, &push.branch, lost, by);
    announce(deps, &notice).await?;
    for _ in 0..5 {
        let head = deliveries::read_head(&deps.dynamodb, table(deps)).await?;
        let next = head.announced(&lost.id);
        if next == head || deliveries::write_head(&deps.dynamodb, table(deps), &next).await? {
            return Ok(());
        }
    }
    Ok(())
}

async fn announce(deps: &Deps, notice: &Notice) -> Result<(), Error> {
    match &deps.config.topic {
        Some(topic) => topic::publish(&deps.sns, topic, notice).await,
        None => {
            tracing::info!(subject = %notice.subject, "no notification topic: not announced");
            Ok(())
        }
    }
}
