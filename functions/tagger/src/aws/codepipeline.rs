//! The CodePipeline calls the tagger makes: exactly one job result per
//! invocation, retried by the SDK when throttled.

use std::time::Duration;

use aws_sdk_codepipeline::config::retry::RetryConfig;
use aws_sdk_codepipeline::config::timeout::TimeoutConfig;
use aws_sdk_codepipeline::types::{ExecutionDetails, FailureDetails, FailureType};
use aws_sdk_codepipeline::Client;

use super::classify_error;
use crate::domain::outcome::{truncate, FailureKind, JobOutcome, MAX_MESSAGE, MAX_SUMMARY};
use crate::error::Error;

/// Attempts per result call (the first and four retries).
pub const RESULT_MAX_ATTEMPTS: u32 = 5;

/// The retry and timeout settings for the result calls: the SDK's standard
/// retry mode (throttling and transient errors, with jittered backoff), kept
/// short enough to fit in the deadline margin the handler leaves.
pub fn with_result_retries(
    builder: aws_sdk_codepipeline::config::Builder,
) -> aws_sdk_codepipeline::config::Builder {
    builder
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(RESULT_MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
}

fn failure_type(kind: FailureKind) -> FailureType {
    match kind {
        FailureKind::JobFailed => FailureType::JobFailed,
        FailureKind::ConfigurationError => FailureType::ConfigurationError,
        FailureKind::PermissionError => FailureType::PermissionError,
    }
}

/// Sends the job result: PutJobSuccessResult (with output variables, or with
/// a continuation token while waiting) or PutJobFailureResult.
///
/// InvalidJobStateException ("the job was in a state ... not valid for this
/// action": not in progress) means the job has its result already, for
/// example when Lambda's asynchronous retry repeats an invocation that
/// answered and then failed: that counts as answered, so Lambda does not retry
/// again (PutJobSuccessResult's errors:
/// https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PutJobSuccessResult.html).
pub async fn send_result(client: &Client, job_id: &str, outcome: &JobOutcome) -> Result<(), Error> {
    match send(client, job_id, outcome).await {
        Err(Error::JobAlreadyAnswered { message }) => {
            tracing::info!(%message, "the job was answered before: nothing more to send");
            Ok(())
        }
        other => other,
    }
}

async fn send(client: &Client, job_id: &str, outcome: &JobOutcome) -> Result<(), Error> {
    match outcome {
        JobOutcome::Succeeded { summary, .. } => {
            let mut request = client
                .put_job_success_result()
                .job_id(job_id)
                .execution_details(
                    ExecutionDetails::builder()
                        .summary(truncate(summary, MAX_SUMMARY))
                        .percent_complete(100)
                        .build(),
                );
            for (name, value) in outcome.output_variables() {
                request = request.output_variables(name, value);
            }
            request
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify_error("CodePipeline", "PutJobSuccessResult", None, e))
        }
        JobOutcome::InProgress { summary, token } => client
            .put_job_success_result()
            .job_id(job_id)
            .continuation_token(token)
            .execution_details(
                ExecutionDetails::builder()
                    .summary(truncate(summary, MAX_SUMMARY))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_error("CodePipeline", "PutJobSuccessResult", None, e)),
        JobOutcome::Failed { kind, message } => {
            let details = FailureDetails::builder()
                .r#type(failure_type(*kind))
                .message(truncate(message, MAX_MESSAGE))
                .build()
                .map_err(|e| Error::Aws {
                    service: "CodePipeline",
                    operation: "PutJobFailureResult",
                    detail: e.to_string(),
                    source: Box::new(e),
                })?;
            client
                .put_job_failure_result()
                .job_id(job_id)
                .failure_details(details)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify_error("CodePipeline", "PutJobFailureResult", None, e))
        }
    }
}
