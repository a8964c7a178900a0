//! CodePipeline: StartPipelineExecution with the pushed commit pinned.

use aws_sdk_codepipeline::types::{PipelineVariable, SourceRevisionOverride, SourceRevisionType};
use aws_sdk_codepipeline::Client;

use crate::domain::start::StartRequest;
use crate::error::Error;

/// Starts the execution; returns its id. Throttling and transient errors are
/// retried by the SDK's standard retry mode, then returned (the invocation
/// fails and Lambda retries it).
pub async fn start(client: &Client, request: &StartRequest) -> Result<String, Error> {
    let revision = SourceRevisionOverride::builder()
        .action_name(&request.source_action)
        .revision_type(SourceRevisionType::CommitId)
        .revision_value(&request.commit)
        .build()
        .map_err(|e| Error::aws_build("SourceRevisionOverride", e))?;
    let mut call = client
        .start_pipeline_execution()
        .name(&request.pipeline)
        .source_revisions(revision)
        .client_request_token(&request.client_request_token);
    for (name, value) in &request.variables {
        let variable = PipelineVariable::builder()
            .name(*name)
            .value(value)
            .build()
            .map_err(|e| Error::aws_build("PipelineVariable", e))?;
        call = call.variables(variable);
    }
    let output = call
        .send()
        .await
        .map_err(|e| Error::aws("StartPipelineExecution", e))?;
    output.pipeline_execution_id.ok_or(Error::Unexpected {
        operation: "StartPipelineExecution",
        missing: "pipelineExecutionId",
    })
}
