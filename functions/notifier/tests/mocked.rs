//! The notifier against mocked AWS answers (aws-smithy-mocks): the commit
//! from each place an execution records it, and the fault paths no emulator
//! here produces on demand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_codepipeline::operation::get_pipeline_execution::GetPipelineExecutionOutput;
use aws_sdk_codepipeline::types::{ArtifactRevision, PipelineExecution, ResolvedPipelineVariable};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use notifier::{handle_event, Config, Deps, Error};
use serde_json::{json, Value};

const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const EXECUTION: &str = "01234567-0123-0123-0123-012345678901";
const TOPIC: &str = "arn:aws:sns:ap-southeast-1:123456789012:notifications-unit";

fn action_failed() -> Value {
    json!({
        "version": "0", "id": "e-1",
        "detail-type": "CodePipeline Action Execution State Change",
        "source": "aws.codepipeline", "account": "123456789012",
        "time": "2026-12-02T01:14:07Z", "region": "ap-southeast-1",
        "resources": ["arn:aws:codepipeline:ap-southeast-1:123456789012:pipeline-unit"],
        "detail": {
            "pipeline": "pipeline-unit", "execution-id": EXECUTION,
            "stage": "Build", "action": "Build", "state": "FAILED", "region": "ap-southeast-1",
            "type": {"owner": "AWS", "provider": "CodeBuild", "category": "Build", "version": "1"},
            "execution-result": {"external-execution-summary": "Build failed: exit status 1"},
            "version": 1
        }
    })
}

fn deps(codepipeline: &[&Rule], sns: &[&Rule]) -> Deps {
    Deps {
        codepipeline: mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, codepipeline),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns),
        config: Config {
            topic: TOPIC.into(),
        },
    }
}

fn execution(execution: PipelineExecution) -> Rule {
    mock!(aws_sdk_codepipeline::Client::get_pipeline_execution)
        .match_requests(|r| {
            r.pipeline_name() == Some("pipeline-unit")
                && r.pipeline_execution_id() == Some(EXECUTION)
        })
        .then_output(move || {
            GetPipelineExecutionOutput::builder()
                .pipeline_execution(execution.clone())
                .build()
        })
}

fn variable(name: &str, value: &str) -> ResolvedPipelineVariable {
    ResolvedPipelineVariable::builder()
        .name(name)
        .resolved_value(value)
        .build()
}

/// Publish to the topic, answering with a message id; the text is checked
/// by `wanted`.
fn published(wanted: fn(&str, &str) -> bool) -> Rule {
    mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |r| {
            r.topic_arn() == Some(TOPIC)
                && wanted(
                    r.subject().unwrap_or_default(),
                    r.message().unwrap_or_default(),
                )
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build())
}

fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(json!({"__type": code, "message": message}).to_string()),
    )
}

#[tokio::test]
async fn the_commit_and_push_set_by_the_starter_are_announced() {
    let get = execution(
        PipelineExecution::builder()
            .variables(variable("COMMIT_ID", COMMIT))
            .variables(variable("PUSH_SEQUENCE", "12"))
            .build(),
    );
    let publish = published(|subject, message| {
        subject == "Pipeline failed: pipeline-unit"
            && message.starts_with(
                "Pipeline pipeline-unit failed at 2026-12-02T01:14:07Z: action Build of stage Build.\n",
            )
            && message.contains(&format!("\nCommit {COMMIT} (push 12).\n"))
            && message.contains("\nReason: Build failed: exit status 1\n")
            && message.ends_with(&format!(
                "/codesuite/codepipeline/pipelines/pipeline-unit/executions/{EXECUTION}/timeline?region=ap-southeast-1"
            ))
    });
    let answer = handle_event(&deps(&[&get], &[&publish]), &action_failed())
        .await
        .unwrap();
    assert_eq!(answer["published"], "m-1");
    assert_eq!(get.num_calls(), 1);
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn an_execution_started_elsewhere_gives_its_source_revision() {
    let get = execution(
        PipelineExecution::builder()
            .artifact_revisions(
                ArtifactRevision::builder()
                    .name("SourceOutput")
                    .revision_id(COMMIT)
                    .build(),
            )
            .build(),
    );
    let publish = published(|_, message| message.contains(&format!("\nCommit {COMMIT}.\n")));
    handle_event(&deps(&[&get], &[&publish]), &action_failed())
        .await
        .unwrap();
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn a_commit_that_cannot_be_read_is_said_and_the_notice_still_sent() {
    let denied =
        mock!(aws_sdk_codepipeline::Client::get_pipeline_execution).then_http_response(|| {
            json_error(
                400,
                "AccessDeniedException",
                "not authorized to perform: codepipeline:GetPipelineExecution",
            )
        });
    let publish = published(|_, message| {
        message.contains(
            "\nCommit: unknown (GetPipelineExecution failed: AccessDeniedException: not authorized to perform: codepipeline:GetPipelineExecution).\n",
        )
    });
    handle_event(&deps(&[&denied], &[&publish]), &action_failed())
        .await
        .unwrap();
    assert_eq!(publish.num_calls(), 1);

    // An event without an execution id is not looked up at all.
    let mut event = action_failed();
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove("execution-id");
    let unused = execution(PipelineExecution::builder().build());
    let publish = published(|_, message| {
        message.contains("\nCommit: unknown (the event names no pipeline execution).\n")
            && message.ends_with("Execution (unknown).")
    });
    handle_event(&deps(&[&unused], &[&publish]), &event)
        .await
        .unwrap();
    assert_eq!(unused.num_calls(), 0);
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn a_notice_that_cannot_be_published_fails_the_invocation_for_a_retry() {
    let get = execution(PipelineExecution::builder().build());
    let refused = mock!(aws_sdk_sns::Client::publish).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>\
                 <Message>not authorized to perform: SNS:Publish</Message></Error></ErrorResponse>",
            ),
        )
    });
    let error = handle_event(&deps(&[&get], &[&refused]), &action_failed())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Aws { operation: "Publish", code, .. } if code == "AuthorizationError"),
        "{error}"
    );
    assert!(error.to_string().contains("SNS:Publish"), "{error}");
}
