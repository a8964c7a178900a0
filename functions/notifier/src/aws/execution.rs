//! Reads the commit of a pipeline execution with GetPipelineExecution.

use aws_sdk_codepipeline::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_codepipeline::Client;

use crate::domain::failure::{commit_of, Commit};

/// The commit of `execution_id` of `pipeline`. A failed call is not an
/// error: the notice is worth more than the commit, so it says why instead.
pub async fn commit(client: &Client, pipeline: &str, execution_id: &str) -> Commit {
    let answer = client
        .get_pipeline_execution()
        .pipeline_name(pipeline)
        .pipeline_execution_id(execution_id)
        .send()
        .await;
    match answer {
        Ok(output) => {
            let Some(execution) = output.pipeline_execution() else {
                return Commit::NotRecorded;
            };
            let variables: Vec<(String, String)> = execution
                .variables()
                .iter()
                .filter_map(|v| Some((v.name()?.to_owned(), v.resolved_value()?.to_owned())))
                .collect();
            let revisions: Vec<String> = execution
                .artifact_revisions()
                .iter()
                .filter_map(|r| r.revision_id().map(str::to_owned))
                .collect();
            commit_of(&variables, &revisions)
        }
        Err(error) => {
            let why = match (error.code(), error.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => DisplayErrorContext(&error).to_string(),
            };
            tracing::warn!(pipeline, execution_id, error = %why, "could not read the execution");
            Commit::Unknown(format!("GetPipelineExecution failed: {why}"))
        }
    }
}
