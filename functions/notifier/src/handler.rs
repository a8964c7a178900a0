//! The entry point: one failure event, one notice.

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

use crate::aws::{execution, topic};
use crate::config::Config;
use crate::domain::failure::{parse_failure, Commit};
use crate::domain::message::failure_notice;
use crate::error::Error;

/// SDK clients built once, and the configuration read once.
#[derive(Debug, Clone)]
pub struct Deps {
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub sns: aws_sdk_sns::Client,
    pub config: Config,
}

impl Deps {
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        Self {
            codepipeline: aws_sdk_codepipeline::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            config,
        }
    }
}

/// The Lambda handler.
pub async fn function_handler(
    deps: &Deps,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    handle_event(deps, &event.payload).await.map_err(Into::into)
}

/// Announces the failure `event` describes, with its execution's commit.
/// Answers what was published; fails only when the notice could not be
/// published (Lambda then retries the event).
pub async fn handle_event(deps: &Deps, event: &Value) -> Result<Value, Error> {
    let failure = parse_failure(event);
    let commit = match (&failure.pipeline, &failure.execution_id) {
        (Some(pipeline), Some(execution_id)) => {
            execution::commit(&deps.codepipeline, pipeline, execution_id).await
        }
        _ => Commit::Unknown("the event names no pipeline execution".to_owned()),
    };
    let notice = failure_notice(&failure, &commit);
    let message_id = topic::publish(&deps.sns, &deps.config.topic, &notice).await?;
    tracing::info!(
        pipeline = failure.pipeline.as_deref().unwrap_or_default(),
        execution_id = failure.execution_id.as_deref().unwrap_or_default(),
        commit = match &commit {
            Commit::Known { id, .. } => id.as_str(),
            _ => "",
        },
        message_id,
        "announced"
    );
    Ok(json!({ "published": message_id, "subject": notice.subject, "message": notice.message }))
}
