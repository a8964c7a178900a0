//! CodePipeline: StartPipelineExecution with the pushed commit pinned.

use aws_sdk_codepipeline::types::{PipelineVariable, SourceRevisionOverride, SourceRevisionType};
use aws_sdk_codepipeline::Client;

use crate::domain::start::{StartRequest, SEQUENCE_VARIABLE};
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

/// How many of the newest executions [`find_started`] reads at most.
const SEARCH_LIMIT: usize = 100;

/// The execution the starter started for push `sequence`, if there is one:
/// read after a start lease ended without its execution recorded (see
/// `domain::order`'s crash windows). Executions are listed newest first
/// (ListPipelineExecutions); each one's `PUSH_SEQUENCE` comes from
/// GetPipelineExecution's `variables`. Starts happen in sequence order, so
/// the search stops at the first execution of a lower sequence.
pub async fn find_started(
    client: &Client,
    pipeline: &str,
    sequence: u64,
) -> Result<Option<String>, Error> {
    let mut pages = client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .into_paginator()
        .send();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::aws("ListPipelineExecutions", e))?;
        for summary in page.pipeline_execution_summaries() {
            let Some(id) = summary.pipeline_execution_id() else {
                continue;
            };
            read += 1;
            match execution_sequence(client, pipeline, id).await? {
                Some(found) if found == sequence => return Ok(Some(id.to_owned())),
                Some(found) if found > 0 && found < sequence => return Ok(None),
                _ => {}
            }
            if read >= SEARCH_LIMIT {
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// An execution's `PUSH_SEQUENCE` (0 for one started by hand, which
/// carries the variable's default).
async fn execution_sequence(
    client: &Client,
    pipeline: &str,
    execution: &str,
) -> Result<Option<u64>, Error> {
    let output = client
        .get_pipeline_execution()
        .pipeline_name(pipeline)
        .pipeline_execution_id(execution)
        .send()
        .await
        .map_err(|e| Error::aws("GetPipelineExecution", e))?;
    Ok(output
        .pipeline_execution()
        .map(|e| e.variables())
        .unwrap_or_default()
        .iter()
        .find(|v| v.name() == Some(SEQUENCE_VARIABLE))
        .and_then(|v| v.resolved_value())
        .and_then(|v| v.parse().ok()))
}
