//! The entry point: one EventBridge event, at most one pipeline start.

use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

use crate::aws::deliveries::{self, Claim};
use crate::aws::pipeline;
use crate::config::Config;
use crate::domain::ledger::{Conflict, DeliveryState};
use crate::domain::order::Late;
use crate::domain::push::{parse_push, Push, Refusal};
use crate::domain::start::start_request;
use crate::error::Error;

/// SDK clients built once, and the configuration read once.
#[derive(Debug, Clone)]
pub struct Deps {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub config: Config,
}

impl Deps {
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            codepipeline: aws_sdk_codepipeline::Client::new(sdk),
            config,
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
    /// The delivery was handled before (started, or refused as late).
    Duplicate {
        delivery_id: String,
        state: DeliveryState,
    },
    /// An older push than one already started: not started.
    Late(Late),
    /// Not a push that can start (no commit, a deletion, a tag, malformed).
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
            Self::Duplicate { delivery_id, state } => json!({
                "result": "duplicate", "deliveryId": delivery_id, "state": format!("{state:?}"),
            }),
            Self::Late(late) => json!({"result": "late", "reason": late.to_string()}),
            Self::Refused(refusal) => json!({"result": "refused", "reason": refusal.to_string()}),
        }
    }
}

pub async fn function_handler(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let attempt = event.context.request_id;
    let outcome = Box::pin(handle_event(deps, event.payload, &attempt, unix_now())).await?;
    Ok(outcome.to_json())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Handles one event for `attempt` (the Lambda request id) at `now`. An
/// error means "retry me": the claim, if any, has been given back.
pub async fn handle_event(
    deps: &Deps,
    payload: Value,
    attempt: &str,
    now: i64,
) -> Result<Outcome, Error> {
    let push = match parse_push(payload) {
        Ok(push) => push,
        Err(refusal) => {
            tracing::warn!(reason = %refusal, "refused: not a push the pipeline can start");
            return Ok(Outcome::Refused(refusal));
        }
    };
    let span = tracing::info_span!(
        "push",
        delivery_id = %push.delivery_id,
        repository = %push.repository,
        branch = %push.branch,
        commit = %push.commit,
        pushed_at = push.pushed_at,
    );
    let _entered = span.enter();
    let table = deps.config.table.as_str();
    match deliveries::claim(&deps.dynamodb, table, &push, attempt, now).await? {
        Claim::Won => {}
        Claim::Lost(Conflict::Duplicate { state }) => {
            tracing::info!(state = ?state, "duplicate delivery: already handled, not started again");
            return Ok(Outcome::Duplicate {
                delivery_id: push.delivery_id.clone(),
                state,
            });
        }
        Claim::Lost(conflict) => {
            // `claim` settles `Gone` itself; both mean another attempt is on it.
            let lease_until = match conflict {
                Conflict::InFlight { lease_until } => lease_until,
                _ => now,
            };
            tracing::info!(
                lease_until,
                "delivery in flight in another attempt: retry later"
            );
            return Err(Error::InFlight {
                delivery_id: push.delivery_id.clone(),
                lease_until,
            });
        }
    }
    match start_claimed(deps, &push).await {
        Ok(outcome) => Ok(outcome),
        Err(error) => {
            tracing::error!(error = %error, "the start failed: the claim is given back and the event retried");
            if let Err(release) =
                deliveries::release(&deps.dynamodb, table, &push.delivery_id, attempt).await
            {
                tracing::error!(error = %release, "could not give the claim back; it ends with its lease");
            }
            Err(error)
        }
    }
}

/// The claim is this attempt's: order, start, record.
async fn start_claimed(deps: &Deps, push: &Push) -> Result<Outcome, Error> {
    let table = deps.config.table.as_str();
    let sequence = match deliveries::advance_head(&deps.dynamodb, table, push).await? {
        Ok(sequence) => sequence,
        Err(late) => {
            tracing::warn!(reason = %late, "late delivery: not started");
            if let Err(error) = deliveries::finish(
                &deps.dynamodb,
                table,
                &push.delivery_id,
                &DeliveryState::Late,
            )
            .await
            {
                tracing::error!(error = %error, "could not record the delivery as late");
            }
            return Ok(Outcome::Late(late));
        }
    };
    let request = start_request(
        &deps.config.pipeline,
        &deps.config.source_action,
        push,
        sequence,
    );
    let execution_id = pipeline::start(&deps.codepipeline, &request).await?;
    tracing::info!(%execution_id, sequence, "started the pipeline on the pushed commit");
    let started = DeliveryState::Started {
        execution_id: execution_id.clone(),
    };
    if let Err(error) = deliveries::finish(&deps.dynamodb, table, &push.delivery_id, &started).await
    {
        // Not retried: a retry after the lease would start the commit again.
        tracing::error!(error = %error, "started, but could not record it");
    }
    Ok(Outcome::Started {
        execution_id,
        commit: push.commit.clone(),
        sequence,
    })
}
