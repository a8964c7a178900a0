//! What the installer actually sends: the CreateProject, CreatePipeline,
//! PutRule and PutTargets requests of a Create, captured by mocks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_codebuild::operation::create_project::{CreateProjectInput, CreateProjectOutput};
use aws_sdk_codepipeline::operation::create_pipeline::{CreatePipelineInput, CreatePipelineOutput};
use aws_sdk_eventbridge::operation::put_rule::{PutRuleInput, PutRuleOutput};
use aws_sdk_eventbridge::operation::put_targets::{PutTargetsInput, PutTargetsOutput};
use aws_smithy_mocks::mock;
use common::mocks::{Aws, Extra};
use common::{create_event, deadline_in, fast_settings, properties, ResponseListener, STACK_ID};
use installer::{Installer, BUILDSPEC};
use serde_json::{json, Value};

type Store<T> = Arc<Mutex<Vec<T>>>;

fn capture<T: Clone>() -> (Store<T>, Store<T>) {
    let store = Arc::new(Mutex::new(Vec::new()));
    (store.clone(), store)
}

struct Sent {
    project: CreateProjectInput,
    pipeline: CreatePipelineInput,
    rule: PutRuleInput,
    targets: PutTargetsInput,
}

async fn create_and_capture() -> Sent {
    let aws = Aws::empty();
    let (projects, p) = capture::<CreateProjectInput>();
    let (pipelines, q) = capture::<CreatePipelineInput>();
    let (rules, r) = capture::<PutRuleInput>();
    let (targets, t) = capture::<PutTargetsInput>();
    let project =
        mock!(aws_sdk_codebuild::Client::create_project).then_compute_output(move |input| {
            p.lock().unwrap().push(input.clone());
            CreateProjectOutput::builder().build()
        });
    let exists = aws.pipeline_exists.clone();
    let pipeline =
        mock!(aws_sdk_codepipeline::Client::create_pipeline).then_compute_output(move |input| {
            q.lock().unwrap().push(input.clone());
            exists.store(true, std::sync::atomic::Ordering::SeqCst);
            CreatePipelineOutput::builder().build()
        });
    let rule = mock!(aws_sdk_eventbridge::Client::put_rule).then_compute_output(move |input| {
        r.lock().unwrap().push(input.clone());
        PutRuleOutput::builder()
            .rule_arn(
                "arn:aws:events:ap-southeast-1:123456789012:rule/github-events-req/github-push-req",
            )
            .build()
    });
    let target =
        mock!(aws_sdk_eventbridge::Client::put_targets).then_compute_output(move |input| {
            t.lock().unwrap().push(input.clone());
            PutTargetsOutput::builder().failed_entry_count(0).build()
        });
    let clients = aws.clients(Extra {
        codebuild: vec![&project],
        codepipeline: vec![&pipeline],
        eventbridge: vec![&rule, &target],
        ..Extra::default()
    });
    let listener = ResponseListener::start().await;
    let installer = Installer::new(clients, fast_settings()).unwrap();
    installer
        .handle(
            create_event(&listener.url, properties("req", "123456789012")),
            deadline_in(60),
            "stream",
        )
        .await
        .unwrap();
    assert_eq!(listener.only_answer()["Status"], "SUCCESS");
    assert_eq!(projects.lock().unwrap().len(), 1);
    assert_eq!(pipelines.lock().unwrap().len(), 1);
    assert_eq!(rules.lock().unwrap().len(), 1);
    assert_eq!(targets.lock().unwrap().len(), 1);
    let sent = Sent {
        project: projects.lock().unwrap()[0].clone(),
        pipeline: pipelines.lock().unwrap()[0].clone(),
        rule: rules.lock().unwrap()[0].clone(),
        targets: targets.lock().unwrap()[0].clone(),
    };
    sent
}

fn expected_tags() -> Vec<(String, String)> {
    vec![
        ("Environment".into(), "production".into()),
        ("Team".into(), "devops".into()),
        ("ci-installer:stack-id".into(), STACK_ID.into()),
    ]
}

#[tokio::test]
async fn create_project_request_meets_the_build_constraints() {
    let project = create_and_capture().await.project;
    assert_eq!(project.name(), Some("build-req"));
    assert_eq!(
        project.service_role(),
        Some("arn:aws:iam::123456789012:role/codebuild-role-req")
    );
    let environment = project.environment().unwrap();
    assert_eq!(environment.r#type().as_str(), "LINUX_CONTAINER");
    assert_eq!(environment.compute_type().as_str(), "BUILD_GENERAL1_SMALL");
    assert_eq!(
        environment.image(),
        "aws/codebuild/amazonlinux-x86_64-standard:5.0"
    );
    assert_eq!(environment.privileged_mode(), Some(true));
    let variables: HashMap<&str, &str> = environment
        .environment_variables()
        .iter()
        .map(|v| (v.name(), v.value()))
        .collect();
    assert_eq!(
        variables,
        HashMap::from([
            (
                "REPOSITORY_URI",
                "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/images-req"
            ),
            ("DOCKERFILE_PATH", "Dockerfile"),
            ("CACHE_TAG", "buildcache"),
            (
                "BUILDKIT_IMAGE",
                "public.ecr.aws/vend/moby/buildkit:buildx-stable-1"
            ),
        ])
    );
    let source = project.source().unwrap();
    assert_eq!(source.r#type().as_str(), "CODEPIPELINE");
    assert_eq!(source.buildspec(), Some(BUILDSPEC));
    assert_eq!(
        project.artifacts().unwrap().r#type().as_str(),
        "CODEPIPELINE"
    );
    let logs = project.logs_config().unwrap().cloud_watch_logs().unwrap();
    assert_eq!(logs.status().as_str(), "ENABLED");
    assert_eq!(logs.group_name(), Some("/aws/codebuild/build-req"));
    let tags: Vec<(String, String)> = project
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(tags, expected_tags());
}

#[tokio::test]
async fn create_pipeline_request_has_three_stages_in_order() {
    let input = create_and_capture().await.pipeline;
    let pipeline = input.pipeline().unwrap();
    assert_eq!(pipeline.name(), "pipeline-req");
    assert_eq!(pipeline.pipeline_type().unwrap().as_str(), "V2");
    assert_eq!(pipeline.execution_mode().unwrap().as_str(), "QUEUED");
    assert_eq!(
        pipeline.role_arn(),
        "arn:aws:iam::123456789012:role/codepipeline-role-req"
    );
    let store = pipeline.artifact_store().unwrap();
    assert_eq!(store.r#type().as_str(), "S3");
    assert_eq!(store.location(), "artifacts-req-123456789012");
    let stages: Vec<&str> = pipeline.stages().iter().map(|s| s.name()).collect();
    assert_eq!(stages, ["Source", "Build", "Deploy"]);
    // The starter's variables, declared with the defaults a start by hand carries.
    let variables: Vec<(&str, Option<&str>)> = pipeline
        .variables()
        .iter()
        .map(|v| (v.name(), v.default_value()))
        .collect();
    assert_eq!(
        variables,
        [
            ("COMMIT_ID", Some("none")),
            ("DELIVERY_ID", Some("none")),
            ("PUSH_SEQUENCE", Some("0"))
        ]
    );

    let source = &pipeline.stages()[0].actions()[0];
    let type_id = source.action_type_id().unwrap();
    assert_eq!(
        (
            type_id.category().as_str(),
            type_id.owner().as_str(),
            type_id.provider(),
            type_id.version()
        ),
        ("Source", "AWS", "CodeStarSourceConnection", "1")
    );
    let config = source.configuration().unwrap();
    assert_eq!(config["DetectChanges"], "false");
    assert_eq!(config["FullRepositoryId"], "octo-org/hello-service");
    assert_eq!(config["BranchName"], "main");
    assert_eq!(config["OutputArtifactFormat"], "CODE_ZIP");
    assert!(config["ConnectionArn"].starts_with("arn:aws:codeconnections:"));

    let build = &pipeline.stages()[1].actions()[0];
    assert_eq!(build.action_type_id().unwrap().provider(), "CodeBuild");
    assert_eq!(build.namespace(), Some("BuildVariables"));
    assert_eq!(build.configuration().unwrap()["ProjectName"], "build-req");
    assert!(build.configuration().unwrap()["EnvironmentVariables"]
        .contains(r##""name":"PUSHED_COMMIT","value":"#{variables.COMMIT_ID}""##));
    assert_eq!(source.name(), "GitHub");

    let deploy = &pipeline.stages()[2].actions()[0];
    let type_id = deploy.action_type_id().unwrap();
    assert_eq!(
        (type_id.category().as_str(), type_id.provider()),
        ("Invoke", "Lambda")
    );
    let config = deploy.configuration().unwrap();
    assert_eq!(config["FunctionName"], "tagger-req");
    let parameters: Value = serde_json::from_str(&config["UserParameters"]).unwrap();
    assert_eq!(
        parameters,
        json!({"repository": "images-req", "digest": "#{BuildVariables.IMAGE_DIGEST}", "tag": "production",
               "commit": "#{variables.COMMIT_ID}", "sequence": "#{variables.PUSH_SEQUENCE}",
               "execution": "#{codepipeline.PipelineExecutionId}"})
    );

    let tags: Vec<(String, String)> = input
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    assert_eq!(tags, expected_tags());
}

#[tokio::test]
async fn put_rule_and_targets_requests_route_pushes_to_the_starter() {
    let sent = create_and_capture().await;
    let rule = sent.rule;
    assert_eq!(rule.name(), Some("github-push-req"));
    assert_eq!(rule.event_bus_name(), Some("github-events-req"));
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
    let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
    assert_eq!(
        pattern,
        json!({
            "source": ["github.com"],
            "detail-type": ["push"],
            "detail": {
                "ref": ["refs/heads/main"],
                "deleted": [false],
                "after": [{"anything-but": ["0000000000000000000000000000000000000000"]}],
                "repository": {"full_name": [{"equals-ignore-case": "octo-org/hello-service"}]}
            }
        })
    );
    let tags: Vec<(String, String)> = rule
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    assert_eq!(tags, expected_tags());

    let targets = sent.targets;
    assert_eq!(targets.rule(), Some("github-push-req"));
    assert_eq!(targets.event_bus_name(), Some("github-events-req"));
    let target = &targets.targets()[0];
    assert_eq!(targets.targets().len(), 1);
    assert_eq!(target.id(), "starter");
    assert_eq!(
        target.arn(),
        "arn:aws:lambda:ap-southeast-1:123456789012:function:starter-req"
    );
    // EventBridge invokes a Lambda target through the function's resource
    // policy: no role.
    assert_eq!(target.role_arn(), None);
    let retry = target.retry_policy().unwrap();
    assert_eq!(retry.maximum_retry_attempts(), Some(30));
    assert_eq!(retry.maximum_event_age_in_seconds(), Some(3600));
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some("arn:aws:sqs:ap-southeast-1:123456789012:push-dead-letters-req")
    );
}
