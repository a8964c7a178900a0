//! Fault paths, with aws-smithy-mocks answering for AWS: IAM propagation,
//! throttling, AccessDenied, NotFound on Delete, a hanging call, a panic, an
//! oversized reason, and the response PUT itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::config::Credentials;
use aws_smithy_mocks::mock;
use common::mocks::{iam_error, json_error, role, s3_error, trust_policy, Aws, Extra, Owner};
use common::{
    create_event, deadline_in, delete_event, fast_settings, hanging_endpoint, physical_id,
    properties, update_event, ResponseListener, STACK_ID,
};
use installer::domain::response::Outcome;
use installer::{Clients, Error, Installer};
use serde_json::Value;

const SUFFIX: &str = "unit";
const PROPAGATION_CODEBUILD: &str =
    "CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::123456789012:role/codebuild-role-unit";
const PROPAGATION_PIPELINE: &str =
    "CodePipeline is not authorized to perform AssumeRole on role arn:aws:iam::123456789012:role/codepipeline-role-unit";

fn props() -> Value {
    properties(SUFFIX, "123456789012")
}

async fn run(clients: Clients, event: Value) -> (Outcome, Value) {
    let listener = ResponseListener::start().await;
    let event = with_url(event, &listener.url);
    let installer = Installer::new(clients, fast_settings()).unwrap();
    let outcome = installer
        .handle(event, deadline_in(60), "2024/01/01/[$LATEST]stream")
        .await
        .expect("an answer was delivered");
    (outcome, listener.only_answer())
}

fn with_url(mut event: Value, url: &str) -> Value {
    event["ResponseURL"] = Value::String(url.to_owned());
    event
}

fn create() -> Value {
    create_event("unset", props())
}

fn reason(answer: &Value) -> &str {
    answer["Reason"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn create_builds_project_pipeline_and_rule_and_answers_their_names() {
    let aws = Aws::empty();
    let (_, answer) = run(aws.clients(Extra::default()), create()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical_id(SUFFIX));
    assert_eq!(answer["StackId"], STACK_ID);
    assert_eq!(answer["LogicalResourceId"], "Installer");
    assert_eq!(answer["RequestId"], "11111111-2222-4333-8444-555555555555");
    assert_eq!(answer["Data"]["ProjectName"], "build-unit");
    assert_eq!(answer["Data"]["PipelineName"], "pipeline-unit");
    assert_eq!(
        answer["Data"]["PipelineArn"],
        "arn:aws:codepipeline:ap-southeast-1:123456789012:pipeline-unit"
    );
    assert_eq!(answer["Data"]["RuleName"], "github-push-unit");
    assert_eq!(
        answer["Data"]["RuleArn"],
        "arn:aws:events:ap-southeast-1:123456789012:rule/github-events-unit/github-push-unit"
    );
    assert_eq!(aws.get_role.num_calls(), 2);
    assert_eq!(aws.remove_targets.num_calls(), 0);
    assert_eq!(aws.create_project.num_calls(), 1);
    assert_eq!(aws.create_pipeline.num_calls(), 1);
    assert_eq!(aws.put_rule.num_calls(), 1);
    assert_eq!(aws.put_targets.num_calls(), 1);
    assert_eq!(aws.update_project.num_calls(), 0);
}

#[tokio::test]
async fn iam_propagation_is_retried_until_the_role_is_usable() {
    let aws = Aws::empty();
    let project = mock!(aws_sdk_codebuild::Client::create_project)
        .sequence()
        .http_response(|| json_error("InvalidInputException", PROPAGATION_CODEBUILD))
        .times(3)
        .build();
    let pipeline = mock!(aws_sdk_codepipeline::Client::create_pipeline)
        .sequence()
        .http_response(|| json_error("InvalidStructureException", PROPAGATION_PIPELINE))
        .times(2)
        .build();
    let clients = aws.clients(Extra {
        codebuild: vec![&project],
        codepipeline: vec![&pipeline],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    // 3 refusals, then the default rule's success.
    assert_eq!(project.num_calls(), 3);
    assert_eq!(aws.create_project.num_calls(), 1);
    assert_eq!(pipeline.num_calls(), 2);
    assert_eq!(aws.create_pipeline.num_calls(), 1);
}

#[tokio::test]
async fn iam_propagation_retries_are_bounded() {
    let aws = Aws::empty();
    let project = mock!(aws_sdk_codebuild::Client::create_project)
        .then_http_response(|| json_error("InvalidInputException", PROPAGATION_CODEBUILD));
    let clients = aws.clients(Extra {
        codebuild: vec![&project],
        ..Extra::default()
    });
    let started = tokio::time::Instant::now();
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(reason(&answer).contains("sts:AssumeRole"), "{answer}");
    // Budget 2 s with delays 10, 20, 40, 40, ... ms: bounded, and more than one try.
    let calls = project.num_calls();
    assert!((5..=60).contains(&calls), "{calls} calls");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(aws.create_project.num_calls(), 0);
}

#[tokio::test]
async fn other_invalid_input_is_not_retried() {
    let aws = Aws::empty();
    let project = mock!(aws_sdk_codebuild::Client::create_project)
        .then_http_response(|| json_error("InvalidInputException", "Invalid buildspec"));
    let clients = aws.clients(Extra {
        codebuild: vec![&project],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(project.num_calls(), 1);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let aws = Aws::empty();
    // The SDK's retries of one call stay on one mock rule: the success
    // comes from the same sequence.
    let project = mock!(aws_sdk_codebuild::Client::create_project)
        .sequence()
        .http_response(|| json_error("ThrottlingException", "Rate exceeded"))
        .times(2)
        .output(|| {
            aws_sdk_codebuild::operation::create_project::CreateProjectOutput::builder().build()
        })
        .build();
    let clients = aws.clients(Extra {
        codebuild: vec![&project],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(project.num_calls(), 3);
    assert_eq!(aws.create_project.num_calls(), 0);
}

#[tokio::test]
async fn throttling_beyond_the_sdk_attempts_fails_without_retries_of_our_own() {
    let aws = Aws::empty();
    let project = mock!(aws_sdk_codebuild::Client::create_project)
        .then_http_response(|| json_error("ThrottlingException", "Rate exceeded"));
    let clients = aws.clients(Extra {
        codebuild: vec![&project],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(reason(&answer).contains("ThrottlingException"), "{answer}");
    // Exactly the SDK's 3 attempts.
    assert_eq!(project.num_calls(), 3);
}

#[tokio::test]
async fn access_denied_fails_fast_and_answers_the_marker_id() {
    let aws = Aws::empty();
    let project = mock!(aws_sdk_codebuild::Client::create_project).then_http_response(|| {
        json_error(
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/installer-role-unit/installer-unit is not authorized to perform: codebuild:CreateProject",
        )
    });
    let clients = aws.clients(Extra {
        codebuild: vec![&project],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).starts_with("CreateProject failed: AccessDeniedException"),
        "{answer}"
    );
    assert!(reason(&answer).contains("log stream 2024/01/01/[$LATEST]stream"));
    assert_eq!(
        answer["PhysicalResourceId"],
        "installer:create-failed:11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(project.num_calls(), 1);
    assert_eq!(aws.create_pipeline.num_calls(), 0);
}

#[tokio::test]
async fn a_failed_create_removes_what_it_created() {
    let aws = Aws::empty();
    let put_rule = mock!(aws_sdk_eventbridge::Client::put_targets)
        .then_http_response(|| json_error("AccessDeniedException", "not allowed: iam:PassRole"));
    let clients = aws.clients(Extra {
        eventbridge: vec![&put_rule],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(reason(&answer).contains("PutTargets"), "{answer}");
    // Created: project, pipeline, rule. All removed, newest first.
    assert_eq!(aws.create_project.num_calls(), 1);
    assert_eq!(aws.delete_rule.num_calls(), 1);
    assert_eq!(aws.delete_pipeline.num_calls(), 1);
    assert_eq!(aws.delete_project.num_calls(), 1);
    // The bucket is the template's: never touched by a failed Create.
    assert_eq!(aws.list_versions.num_calls(), 0);
}

#[tokio::test]
async fn the_pipeline_target_of_an_older_install_is_removed() {
    let aws = Aws::empty();
    let legacy = mock!(aws_sdk_eventbridge::Client::list_targets_by_rule).then_output(|| {
        aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleOutput::builder()
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("codepipeline")
                    .arn("arn:aws:codepipeline:ap-southeast-1:123456789012:pipeline-unit")
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let removed = mock!(aws_sdk_eventbridge::Client::remove_targets)
        .match_requests(|input| input.ids() == ["codepipeline"])
        .then_output(|| {
            aws_sdk_eventbridge::operation::remove_targets::RemoveTargetsOutput::builder()
                .failed_entry_count(0)
                .build()
        });
    let clients = aws.clients(Extra {
        eventbridge: vec![&legacy, &removed],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(aws.put_targets.num_calls(), 1);
    // Only the old pipeline target: the starter target stays.
    assert_eq!(removed.num_calls(), 1);
}

#[tokio::test]
async fn a_panic_while_cleaning_up_a_failed_create_is_still_answered() {
    let aws = Aws::empty();
    let put_targets = mock!(aws_sdk_eventbridge::Client::put_targets)
        .then_http_response(|| json_error("AccessDeniedException", "not allowed"));
    let panicking = mock!(aws_sdk_eventbridge::Client::delete_rule).then_compute_output(
        |_| -> aws_sdk_eventbridge::operation::delete_rule::DeleteRuleOutput {
            panic!("a defect while removing the rule")
        },
    );
    let clients = aws.clients(Extra {
        eventbridge: vec![&put_targets, &panicking],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    // The answer is the Create's own failure, not the clean-up's panic.
    assert!(reason(&answer).contains("PutTargets"), "{answer}");
    assert_eq!(panicking.num_calls(), 1);
}

#[tokio::test]
async fn the_delete_after_a_failed_create_does_nothing() {
    // No rules at all: any AWS call would fail the test.
    let clients = common::mocks::clients_from(vec![], vec![], vec![], vec![], vec![]);
    let event = delete_event(
        "unset",
        "installer:create-failed:11111111-2222-4333-8444-555555555555",
        serde_json::json!({"ServiceToken": "x"}),
    );
    let (_, answer) = run(clients, event).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["PhysicalResourceId"],
        "installer:create-failed:11111111-2222-4333-8444-555555555555"
    );
}

#[tokio::test]
async fn not_found_on_delete_means_done() {
    let aws = Aws::empty();
    let describe = mock!(aws_sdk_eventbridge::Client::describe_rule).then_http_response(|| {
        json_error(
            "ResourceNotFoundException",
            "Rule github-push-unit does not exist.",
        )
    });
    let versions = mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| {
        s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
    });
    let clients = aws.clients(Extra {
        eventbridge: vec![&describe],
        s3: vec![&versions],
        ..Extra::default()
    });
    let event = delete_event("unset", &physical_id(SUFFIX), props());
    let (_, answer) = run(clients, event).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical_id(SUFFIX));
    assert_eq!(describe.num_calls(), 1);
    assert_eq!(aws.get_pipeline.num_calls(), 1);
    assert_eq!(aws.batch_get_projects.num_calls(), 1);
    assert_eq!(versions.num_calls(), 1);
    assert_eq!(aws.delete_rule.num_calls(), 0);
    assert_eq!(aws.delete_pipeline.num_calls(), 0);
    assert_eq!(aws.delete_project.num_calls(), 0);
}

#[tokio::test]
async fn resources_vanishing_during_delete_count_as_deleted() {
    let aws = Aws::existing(Owner::Stack(STACK_ID.into()));
    let targets = mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
        .then_http_response(|| json_error("ResourceNotFoundException", "Rule does not exist."));
    let rule = mock!(aws_sdk_eventbridge::Client::delete_rule)
        .then_http_response(|| json_error("ResourceNotFoundException", "Rule does not exist."));
    let pipeline = mock!(aws_sdk_codepipeline::Client::delete_pipeline)
        .then_http_response(|| json_error("PipelineNotFoundException", "no such pipeline"));
    let project = mock!(aws_sdk_codebuild::Client::delete_project)
        .then_http_response(|| json_error("ResourceNotFoundException", "Project not found"));
    let clients = aws.clients(Extra {
        eventbridge: vec![&targets, &rule],
        codepipeline: vec![&pipeline],
        codebuild: vec![&project],
        ..Extra::default()
    });
    let event = delete_event("unset", &physical_id(SUFFIX), props());
    let (_, answer) = run(clients, event).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        (rule.num_calls(), pipeline.num_calls(), project.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn delete_removes_targets_rule_pipeline_project_and_empties_the_bucket() {
    let aws = Aws::existing(Owner::Stack(STACK_ID.into()));
    let event = delete_event("unset", &physical_id(SUFFIX), props());
    let (_, answer) = run(aws.clients(Extra::default()), event).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(aws.remove_targets.num_calls(), 1);
    assert_eq!(aws.delete_rule.num_calls(), 1);
    assert_eq!(aws.delete_pipeline.num_calls(), 1);
    assert_eq!(aws.delete_project.num_calls(), 1);
    assert!(aws.list_versions.num_calls() >= 1);
}

#[tokio::test]
async fn delete_leaves_another_stacks_resources_alone() {
    let aws = Aws::existing(Owner::Stack("arn:aws:cloudformation:other".into()));
    let event = delete_event("unset", &physical_id(SUFFIX), props());
    let (_, answer) = run(aws.clients(Extra::default()), event).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(aws.delete_rule.num_calls(), 0);
    assert_eq!(aws.delete_pipeline.num_calls(), 0);
    assert_eq!(aws.delete_project.num_calls(), 0);
}

#[tokio::test]
async fn a_repeated_create_adopts_this_stacks_resources() {
    let aws = Aws::existing(Owner::Stack(STACK_ID.into()));
    let (_, answer) = run(aws.clients(Extra::default()), create()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical_id(SUFFIX));
    assert_eq!(aws.create_project.num_calls(), 0);
    assert_eq!(aws.update_project.num_calls(), 1);
    assert_eq!(aws.update_pipeline.num_calls(), 1);
    assert_eq!(aws.tag_pipeline.num_calls(), 1);
    assert_eq!(aws.put_rule.num_calls(), 1);
    assert_eq!(aws.tag_rule.num_calls(), 1);
}

#[tokio::test]
async fn create_never_adopts_a_resource_that_is_not_ours() {
    for owner in [
        Owner::Nobody,
        Owner::Stack("arn:aws:cloudformation:other".into()),
    ] {
        let aws = Aws::existing(owner.clone());
        let (_, answer) = run(aws.clients(Extra::default()), create()).await;
        assert_eq!(answer["Status"], "FAILED", "{owner:?}");
        assert!(
            reason(&answer).contains(
                "CodeBuild project build-unit already exists and is not managed by this stack"
            ),
            "{answer}"
        );
        assert_eq!(aws.update_project.num_calls(), 0);
        assert_eq!(aws.delete_project.num_calls(), 0);
    }
}

#[tokio::test]
async fn an_update_in_place_adopts_untagged_but_not_foreign_resources() {
    let event = || update_event("unset", &physical_id(SUFFIX), props(), props());
    let aws = Aws::existing(Owner::Nobody);
    let (_, answer) = run(aws.clients(Extra::default()), event()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(aws.update_project.num_calls(), 1);

    let aws = Aws::existing(Owner::Stack("arn:aws:cloudformation:other".into()));
    let (_, answer) = run(aws.clients(Extra::default()), event()).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    // A failed Update keeps the current physical id.
    assert_eq!(answer["PhysicalResourceId"], physical_id(SUFFIX));
}

#[tokio::test]
async fn a_missing_property_fails_before_any_call() {
    let clients = common::mocks::clients_from(vec![], vec![], vec![], vec![], vec![]);
    let mut properties = props();
    properties.as_object_mut().unwrap().remove("GitHubBranch");
    let (_, answer) = run(clients, create_event("unset", properties)).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).starts_with("property GitHubBranch is missing"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_role_that_does_not_trust_its_service_fails_preflight() {
    let aws = Aws::empty();
    let wrong = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|input| input.role_name() == Some("codepipeline-role-unit"))
        .then_output(|| {
            aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
                .role(role(
                    "codepipeline-role-unit",
                    &trust_policy("codebuild.amazonaws.com"),
                ))
                .build()
        });
    let clients = aws.clients(Extra {
        iam: vec![&wrong],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).starts_with(
            "role arn:aws:iam::123456789012:role/codepipeline-role-unit (PipelineRoleArn) does not trust codepipeline.amazonaws.com"
        ),
        "{answer}"
    );
    assert_eq!(aws.create_project.num_calls(), 0);
}

#[tokio::test]
async fn a_role_not_found_right_after_its_creation_is_retried_as_propagation() {
    let aws = Aws::empty();
    // IAM's eventual consistency: GetRole answers NoSuchEntity twice for the
    // role the stack has just created, then finds it.
    let propagating = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|input| input.role_name() == Some("codebuild-role-unit"))
        .sequence()
        .http_response(|| {
            iam_error(
                404,
                "NoSuchEntity",
                "The role with name codebuild-role-unit cannot be found.",
            )
        })
        .times(2)
        .output(|| {
            aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
                .role(role(
                    "codebuild-role-unit",
                    &trust_policy("codebuild.amazonaws.com"),
                ))
                .build()
        })
        .build();
    let clients = aws.clients(Extra {
        iam: vec![&propagating],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(propagating.num_calls(), 3);
}

#[tokio::test]
async fn a_missing_role_is_named() {
    let aws = Aws::empty();
    let missing = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|input| input.role_name() == Some("codebuild-role-unit"))
        .then_http_response(|| {
            iam_error(
                404,
                "NoSuchEntity",
                "The role with name codebuild-role-unit cannot be found.",
            )
        });
    let clients = aws.clients(Extra {
        iam: vec![&missing],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).contains("(CodeBuildRoleArn) does not exist"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_hanging_call_is_answered_before_the_deadline() {
    let (endpoint, server) = hanging_endpoint().await;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new("ap-southeast-1"))
        .credentials_provider(Credentials::for_tests())
        .load()
        .await;
    let clients = Clients::new(&config, true);
    let listener = ResponseListener::start().await;
    let installer = Installer::new(clients, fast_settings()).unwrap();
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(10);
    let outcome = installer
        .handle(with_url(create(), &listener.url), deadline, "stream")
        .await
        .unwrap();
    let answer = listener.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).starts_with("timed out before the function's deadline"),
        "{answer}"
    );
    assert!(matches!(outcome, Outcome::Failed { .. }));
    let answered_at = listener.received()[0].at;
    assert!(answered_at < deadline, "answered after the deadline");
    // The guard fired (deadline minus the reserves), not something earlier.
    assert!(answered_at - started >= Duration::from_secs(2));
    server.abort();
}

#[tokio::test]
async fn a_panic_is_answered_as_failed() {
    let aws = Aws::empty();
    let panicking = mock!(aws_sdk_codebuild::Client::create_project).then_compute_output(
        |_| -> aws_sdk_codebuild::operation::create_project::CreateProjectOutput {
            panic!("unexpected state in the project adapter")
        },
    );
    let clients = aws.clients(Extra {
        codebuild: vec![&panicking],
        ..Extra::default()
    });
    let (_, answer) = run(clients, create()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).starts_with("internal error: unexpected state in the project adapter"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_oversized_reason_is_truncated_to_fit_the_response() {
    let aws = Aws::empty();
    let huge = mock!(aws_sdk_codebuild::Client::create_project).then_http_response(|| {
        json_error("AccessDeniedException", &"denied \"because\" ".repeat(1000))
    });
    let clients = aws.clients(Extra {
        codebuild: vec![&huge],
        ..Extra::default()
    });
    let listener = ResponseListener::start().await;
    let installer = Installer::new(clients, fast_settings()).unwrap();
    installer
        .handle(with_url(create(), &listener.url), deadline_in(60), "stream")
        .await
        .unwrap();
    let received = listener.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].body.len() <= 4096, "{}", received[0].body.len());
    let answer = received[0].json();
    assert_eq!(answer["Status"], "FAILED");
    assert!(reason(&answer).starts_with("CreateProject failed: AccessDeniedException: denied"));
    assert!(reason(&answer).ends_with("[truncated]"));
}

#[tokio::test]
async fn the_response_is_a_put_with_an_empty_content_type() {
    let aws = Aws::empty();
    let listener = ResponseListener::start().await;
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    installer
        .handle(with_url(create(), &listener.url), deadline_in(60), "stream")
        .await
        .unwrap();
    let received = listener.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "PUT");
    assert_eq!(
        received[0].path,
        "/cloudformation-response/secret-token?X-Amz-Signature=abc123secret"
    );
    assert_eq!(received[0].header("content-type").unwrap_or(""), "");
    let answer = received[0].json();
    for key in [
        "Status",
        "PhysicalResourceId",
        "StackId",
        "RequestId",
        "LogicalResourceId",
        "Data",
    ] {
        assert!(answer.get(key).is_some(), "{key} missing from {answer}");
    }
}

#[tokio::test]
async fn the_response_put_is_retried_a_bounded_number_of_times() {
    let aws = Aws::empty();
    let listener = ResponseListener::answering(&[500, 503]).await;
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    installer
        .handle(with_url(create(), &listener.url), deadline_in(60), "stream")
        .await
        .unwrap();
    assert_eq!(listener.received().len(), 3);

    let aws = Aws::empty();
    let listener = ResponseListener::answering(&[500; 10]).await;
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    let result = installer
        .handle(with_url(create(), &listener.url), deadline_in(60), "stream")
        .await;
    assert!(
        matches!(result, Err(Error::RespondStatus(500))),
        "{result:?}"
    );
    assert_eq!(listener.received().len(), 3);
}

#[tokio::test]
async fn a_refused_response_is_not_retried() {
    let aws = Aws::empty();
    let listener = ResponseListener::answering(&[403]).await;
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    let result = installer
        .handle(with_url(create(), &listener.url), deadline_in(60), "stream")
        .await;
    assert!(
        matches!(result, Err(Error::RespondStatus(403))),
        "{result:?}"
    );
    assert_eq!(listener.received().len(), 1);
}

#[tokio::test]
async fn an_event_without_response_url_is_an_error() {
    let aws = Aws::empty();
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    let mut event = create();
    event.as_object_mut().unwrap().remove("ResponseURL");
    let result = installer.handle(event, deadline_in(60), "stream").await;
    assert!(matches!(result, Err(Error::NoResponseUrl)), "{result:?}");
    assert_eq!(aws.get_role.num_calls(), 0);
}

#[tokio::test]
async fn a_malformed_request_is_answered() {
    let aws = Aws::empty();
    let mut event = create();
    event["RequestType"] = Value::String("Upgrade".into());
    let (_, answer) = run(aws.clients(Extra::default()), event).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(reason(&answer).starts_with("malformed request"), "{answer}");
}

fn context(deadline: std::time::SystemTime) -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from(
        deadline
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    context
}

#[tokio::test]
async fn the_lambda_entry_point_works_to_the_context_deadline() {
    let aws = Aws::empty();
    let listener = ResponseListener::start().await;
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    let far = std::time::SystemTime::now() + Duration::from_secs(60);
    let event = lambda_runtime::LambdaEvent::new(with_url(create(), &listener.url), context(far));
    installer.lambda(event).await.unwrap();
    assert_eq!(listener.only_answer()["Status"], "SUCCESS");

    // A deadline already too close for the work still gets an answer.
    let aws = Aws::empty();
    let installer = Installer::new(aws.clients(Extra::default()), fast_settings()).unwrap();
    let listener = ResponseListener::start().await;
    let near = std::time::SystemTime::now() + Duration::from_secs(1);
    let event = lambda_runtime::LambdaEvent::new(with_url(create(), &listener.url), context(near));
    installer.lambda(event).await.unwrap();
    let answer = listener.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert!(reason(&answer).starts_with("timed out"), "{answer}");
}

#[tokio::test]
async fn an_update_moving_the_rule_to_another_bus_removes_it_from_the_old_one() {
    let aws = Aws::existing(Owner::Stack(STACK_ID.into()));
    let old_bus_delete = mock!(aws_sdk_eventbridge::Client::delete_rule)
        .match_requests(|input| input.event_bus_name() == Some("github-events-old"))
        .then_output(|| {
            aws_sdk_eventbridge::operation::delete_rule::DeleteRuleOutput::builder().build()
        });
    let clients = aws.clients(Extra {
        eventbridge: vec![&old_bus_delete],
        ..Extra::default()
    });
    let mut old = props();
    old["EventBusName"] = Value::String("github-events-old".into());
    let event = update_event("unset", &physical_id(SUFFIX), props(), old);
    let (_, answer) = run(clients, event).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical_id(SUFFIX));
    assert_eq!(old_bus_delete.num_calls(), 1);
    assert_eq!(aws.delete_rule.num_calls(), 0);
    assert_eq!(aws.put_rule.num_calls(), 1);
}

#[tokio::test]
async fn an_update_that_renames_only_some_resources_is_refused() {
    let aws = Aws::existing(Owner::Stack(STACK_ID.into()));
    let clients = aws.clients(Extra::default());
    let mut new = props();
    new["ProjectName"] = Value::String("build-renamed".into());
    let event = update_event("unset", &physical_id(SUFFIX), new, props());
    let (_, answer) = run(clients, event).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        reason(&answer).contains("keeps PipelineName, RuleName"),
        "{answer}"
    );
    // Nothing was created that the old id's clean-up could take with it.
    assert_eq!(aws.create_project.num_calls(), 0);
    assert_eq!(aws.create_pipeline.num_calls(), 0);
    assert_eq!(aws.put_rule.num_calls(), 0);
}
