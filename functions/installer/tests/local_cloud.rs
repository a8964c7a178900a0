//! The installer against the local cloud (MiniStack, and moto for
//! CodePipeline), with CloudFormation's ResponseURL served on 127.0.0.1.
//! One sandbox for this binary; each test uses its own EnvironmentSuffix.
//!
//! Local-cloud differences handled here (the AWS path is unchanged):
//! - moto's CreatePipeline checks the role in moto's own IAM, by ARN (account
//!   123456789012), while the installer's preflight asks MiniStack's IAM by
//!   name: the pipeline role is created in both.
//! - MiniStack's CodeBuild does not keep a project's `logsConfig`: the log
//!   group is checked on the request sent (tests/requests.rs), not here.
//! - MiniStack cannot deliver an EventBridge target to CodePipeline: the rule
//!   is checked with TestEventPattern and its target list.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    VersioningConfiguration,
};
use common::{
    create_event, deadline_in, delete_event, physical_id, properties, update_event,
    ResponseListener, STACK_ID,
};
use futures::{stream, StreamExt, TryStreamExt};
use installer::{Clients, Installer, Settings};
use sandbox::Sandbox;
use serde_json::{json, Value};

/// moto's account: role ARNs in the properties use it.
const ACCOUNT: &str = "123456789012";

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(Sandbox::start_or_fail)
}

/// Clients of one test: MiniStack for everything but CodePipeline (moto).
struct Cloud {
    clients: Clients,
    moto_iam: aws_sdk_iam::Client,
}

async fn cloud() -> Cloud {
    let sandbox = sandbox();
    let config = sandbox.sdk_config().await;
    let mut clients = Clients::new(&config, true);
    clients.codepipeline = aws_sdk_codepipeline::Client::from_conf(
        aws_sdk_codepipeline::config::Builder::from(&config)
            .endpoint_url(sandbox.codepipeline_endpoint())
            .build(),
    );
    let moto_iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&config)
            .endpoint_url(sandbox.codepipeline_endpoint())
            .build(),
    );
    Cloud { clients, moto_iam }
}

fn trust(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    })
    .to_string()
}

impl Cloud {
    /// What the template creates before the installer runs: the roles, the
    /// bus and the versioned artifact bucket.
    async fn template_resources(&self, suffix: &str) {
        for (role, service) in [
            (
                format!("codebuild-role-{suffix}"),
                "codebuild.amazonaws.com",
            ),
            (
                format!("codepipeline-role-{suffix}"),
                "codepipeline.amazonaws.com",
            ),
        ] {
            self.clients
                .iam
                .create_role()
                .role_name(&role)
                .assume_role_policy_document(trust(service))
                .send()
                .await
                .unwrap();
        }
        self.moto_iam
            .create_role()
            .role_name(format!("codepipeline-role-{suffix}"))
            .assume_role_policy_document(trust("codepipeline.amazonaws.com"))
            .send()
            .await
            .unwrap();
        self.clients
            .eventbridge
            .create_event_bus()
            .name(format!("github-events-{suffix}"))
            .send()
            .await
            .unwrap();
        let bucket = bucket(suffix);
        self.clients
            .s3
            .create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::ApSoutheast1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        self.clients
            .s3
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    fn installer(&self) -> Installer {
        Installer::new(self.clients.clone(), Settings::default()).unwrap()
    }

    /// Sends one request and returns CloudFormation's recorded answer.
    async fn request(&self, event: Value) -> Value {
        let listener = ResponseListener::start().await;
        let mut event = event;
        event["ResponseURL"] = Value::String(listener.url.clone());
        self.installer()
            .handle(event, deadline_in(300), "local")
            .await
            .expect("answered");
        listener.only_answer()
    }

    async fn project(&self, suffix: &str) -> Option<aws_sdk_codebuild::types::Project> {
        let output = self
            .clients
            .codebuild
            .batch_get_projects()
            .names(format!("build-{suffix}"))
            .send()
            .await
            .unwrap();
        output.projects().first().cloned()
    }

    async fn pipeline(
        &self,
        suffix: &str,
    ) -> Option<aws_sdk_codepipeline::operation::get_pipeline::GetPipelineOutput> {
        match self
            .clients
            .codepipeline
            .get_pipeline()
            .name(format!("pipeline-{suffix}"))
            .send()
            .await
        {
            Ok(output) => Some(output),
            Err(error) => {
                let error = error.into_service_error();
                assert!(error.is_pipeline_not_found_exception(), "{error:?}");
                None
            }
        }
    }

    async fn rule(
        &self,
        suffix: &str,
    ) -> Option<aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput> {
        match self
            .clients
            .eventbridge
            .describe_rule()
            .name(format!("github-push-{suffix}"))
            .event_bus_name(format!("github-events-{suffix}"))
            .send()
            .await
        {
            Ok(output) => Some(output),
            Err(error) => {
                let error = error.into_service_error();
                assert!(error.is_resource_not_found_exception(), "{error:?}");
                None
            }
        }
    }

    async fn targets(&self, suffix: &str) -> Vec<aws_sdk_eventbridge::types::Target> {
        self.clients
            .eventbridge
            .list_targets_by_rule()
            .rule(format!("github-push-{suffix}"))
            .event_bus_name(format!("github-events-{suffix}"))
            .send()
            .await
            .unwrap()
            .targets()
            .to_vec()
    }

    async fn matches(&self, pattern: &str, branch: &str, repository: &str) -> bool {
        let detail = json!({
            "ref": format!("refs/heads/{branch}"),
            "before": "0000000000000000000000000000000000000000",
            "after": "1f0c9a1e2b3c4d5e6f708192a3b4c5d6e7f80912",
            "created": true,
            "deleted": false,
            "forced": false,
            "repository": {"full_name": repository, "name": "hello-service", "owner": {"login": "octo-org"}, "pushed_at": 1_714_564_800},
            "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958"
        });
        self.matches_detail(pattern, detail).await
    }

    /// TestEventPattern of a push event with this detail.
    async fn matches_detail(&self, pattern: &str, detail: Value) -> bool {
        let event = json!({
            "id": "6f1c3a4e-0000-4000-8000-000000000001",
            "source": "github.com",
            "detail-type": "push",
            "account": ACCOUNT,
            "region": "ap-southeast-1",
            "time": "2024-05-01T12:00:00Z",
            "resources": [],
            "detail": detail
        });
        self.clients
            .eventbridge
            .test_event_pattern()
            .event_pattern(pattern)
            .event(event.to_string())
            .send()
            .await
            .unwrap()
            .result()
    }

    async fn versions(&self, suffix: &str) -> usize {
        let output = self
            .clients
            .s3
            .list_object_versions()
            .bucket(bucket(suffix))
            .send()
            .await
            .unwrap();
        output.versions().len() + output.delete_markers().len()
    }
}

fn bucket(suffix: &str) -> String {
    format!("artifacts-{suffix}-{ACCOUNT}")
}

fn props(suffix: &str) -> Value {
    properties(suffix, ACCOUNT)
}

fn tag_map<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = tags.map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    tags.sort();
    tags
}

fn expected_tags() -> Vec<(String, String)> {
    vec![
        ("Environment".into(), "production".into()),
        ("Team".into(), "devops".into()),
        ("ci-installer:stack-id".into(), STACK_ID.into()),
    ]
}

#[tokio::test]
async fn create_installs_everything_and_delete_removes_it() {
    let cloud = cloud().await;
    let suffix = "lc-create";
    cloud.template_resources(suffix).await;

    let answer = cloud.request(create_event("", props(suffix))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical_id(suffix));
    let pipeline_arn = answer["Data"]["PipelineArn"].as_str().unwrap().to_owned();
    assert_eq!(
        pipeline_arn,
        format!("arn:aws:codepipeline:ap-southeast-1:{ACCOUNT}:pipeline-{suffix}")
    );
    assert_eq!(answer["Data"]["ProjectName"], format!("build-{suffix}"));
    assert_eq!(answer["Data"]["RuleName"], format!("github-push-{suffix}"));

    // The project.
    let project = cloud.project(suffix).await.expect("the project exists");
    let environment = project.environment().unwrap();
    assert_eq!(environment.compute_type().as_str(), "BUILD_GENERAL1_SMALL");
    assert_eq!(environment.r#type().as_str(), "LINUX_CONTAINER");
    assert_eq!(
        environment.image(),
        "aws/codebuild/amazonlinux-x86_64-standard:5.0"
    );
    assert_eq!(environment.privileged_mode(), Some(true));
    assert_eq!(project.source().unwrap().r#type().as_str(), "CODEPIPELINE");
    assert_eq!(
        project.source().unwrap().buildspec(),
        Some(installer::BUILDSPEC)
    );
    assert_eq!(
        project.service_role(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/codebuild-role-{suffix}").as_str())
    );
    assert_eq!(
        tag_map(
            project
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        ),
        expected_tags()
    );

    // The pipeline.
    let pipeline = cloud.pipeline(suffix).await.expect("the pipeline exists");
    let declaration = pipeline.pipeline().unwrap();
    assert_eq!(declaration.pipeline_type().unwrap().as_str(), "V2");
    assert_eq!(declaration.execution_mode().unwrap().as_str(), "QUEUED");
    assert_eq!(
        declaration.artifact_store().unwrap().location(),
        bucket(suffix)
    );
    let stages: Vec<&str> = declaration.stages().iter().map(|s| s.name()).collect();
    assert_eq!(stages, ["Source", "Build", "Deploy"]);
    let source = declaration.stages()[0].actions()[0]
        .configuration()
        .unwrap();
    assert_eq!(source["DetectChanges"], "false");
    let deploy = declaration.stages()[2].actions()[0]
        .configuration()
        .unwrap();
    assert_eq!(deploy["FunctionName"], format!("tagger-{suffix}"));
    let tags = cloud
        .clients
        .codepipeline
        .list_tags_for_resource()
        .resource_arn(&pipeline_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tag_map(tags.tags().iter().map(|t| (t.key(), t.value()))),
        expected_tags()
    );

    // The rule and its target.
    let rule = cloud.rule(suffix).await.expect("the rule exists");
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
    let pattern = rule.event_pattern().unwrap().to_owned();
    assert!(
        cloud
            .matches(&pattern, "main", "octo-org/hello-service")
            .await
    );
    assert!(
        !cloud
            .matches(&pattern, "develop", "octo-org/hello-service")
            .await
    );
    assert!(
        !cloud
            .matches(&pattern, "main", "octo-org/other-service")
            .await
    );
    let tags = cloud
        .clients
        .eventbridge
        .list_tags_for_resource()
        .resource_arn(rule.arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        tag_map(tags.tags().iter().map(|t| (t.key(), t.value()))),
        expected_tags()
    );
    // Case variants of the repository match; deletions, tags and trimmed
    // payloads are decided on the fields the webhook always keeps.
    let zero = "0000000000000000000000000000000000000000";
    let commit = "1f0c9a1e2b3c4d5e6f708192a3b4c5d6e7f80912";
    let push = |git_ref: &str, repository: &str, after: &str, deleted: bool| {
        json!({
            "ref": git_ref, "before": commit, "after": after, "deleted": deleted,
            "repository": {"full_name": repository, "pushed_at": 1_714_564_800},
            "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958"
        })
    };
    let cases = [
        (
            "canonical case differs",
            push("refs/heads/main", "Octo-Org/Hello-Service", commit, false),
            true,
        ),
        (
            "upper case",
            push("refs/heads/main", "OCTO-ORG/HELLO-SERVICE", commit, false),
            true,
        ),
        (
            "branch deleted",
            push("refs/heads/main", "octo-org/hello-service", zero, true),
            false,
        ),
        (
            "after zero, no deleted flag",
            push("refs/heads/main", "octo-org/hello-service", zero, false),
            false,
        ),
        (
            "tag push",
            push("refs/tags/main", "octo-org/hello-service", commit, false),
            false,
        ),
        (
            "branch case differs",
            push("refs/heads/Main", "octo-org/hello-service", commit, false),
            false,
        ),
        (
            "a branch below main",
            push("refs/heads/main/x", "octo-org/hello-service", commit, false),
            false,
        ),
        (
            "another repository",
            push("refs/heads/main", "octo-org/hello-service-2", commit, false),
            false,
        ),
    ];
    for (name, detail, expected) in cases {
        assert_eq!(
            cloud.matches_detail(&pattern, detail).await,
            expected,
            "{name}"
        );
    }
    // A payload the webhook trimmed keeps what the rule reads.
    let trimmed = json!({
        "ref": "refs/heads/main", "before": commit, "after": commit, "deleted": false,
        "created": false, "forced": false, "pusher": {"name": "dev"},
        "repository": {"full_name": "octo-org/hello-service", "name": "hello-service", "pushed_at": 1_714_564_800},
        "head_commit": {"id": commit}, "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "trimmed": true
    });
    assert!(cloud.matches_detail(&pattern, trimmed).await);
    let targets = cloud.targets(suffix).await;
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].id(), "starter");
    assert_eq!(
        targets[0].arn(),
        format!("arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:starter-{suffix}")
    );
    assert_eq!(targets[0].role_arn(), None);
    assert_eq!(
        targets[0].dead_letter_config().and_then(|d| d.arn()),
        Some(format!("arn:aws:sqs:ap-southeast-1:{ACCOUNT}:push-dead-letters-{suffix}").as_str())
    );
    assert!(pipeline_arn.ends_with(&format!(":pipeline-{suffix}")));

    // Delete.
    cloud
        .clients
        .s3
        .put_object()
        .bucket(bucket(suffix))
        .key("pipeline-lc-create/SourceArti/abc.zip")
        .body(ByteStream::from_static(b"zip"))
        .send()
        .await
        .unwrap();
    let answer = cloud
        .request(delete_event("", &physical_id(suffix), props(suffix)))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(cloud.project(suffix).await.is_none());
    assert!(cloud.pipeline(suffix).await.is_none());
    assert!(cloud.rule(suffix).await.is_none());
    assert_eq!(cloud.versions(suffix).await, 0);
    cloud
        .clients
        .s3
        .delete_bucket()
        .bucket(bucket(suffix))
        .send()
        .await
        .unwrap();

    // Delete again: idempotent.
    let answer = cloud
        .request(delete_event("", &physical_id(suffix), props(suffix)))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
}

#[tokio::test]
async fn a_repeated_create_adopts_what_the_first_created() {
    let cloud = cloud().await;
    let suffix = "lc-again";
    cloud.template_resources(suffix).await;
    let first = cloud.request(create_event("", props(suffix))).await;
    let second = cloud.request(create_event("", props(suffix))).await;
    assert_eq!(first["Status"], "SUCCESS", "{first}");
    assert_eq!(second["Status"], "SUCCESS", "{second}");
    assert_eq!(first["PhysicalResourceId"], second["PhysicalResourceId"]);
    assert_eq!(first["Data"], second["Data"]);
    assert_eq!(cloud.targets(suffix).await.len(), 1);
}

#[tokio::test]
async fn update_in_place_reconciles_changes_and_hand_made_drift() {
    let cloud = cloud().await;
    let suffix = "lc-update";
    cloud.template_resources(suffix).await;
    let answer = cloud.request(create_event("", props(suffix))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");

    // Drift by hand: a smaller, unprivileged project without tags, a
    // disabled rule without its target, a pipeline without its owner tag.
    let project = cloud.project(suffix).await.unwrap();
    let mut environment = project.environment().unwrap().clone();
    environment.privileged_mode = Some(false);
    environment.compute_type = aws_sdk_codebuild::types::ComputeType::BuildGeneral1Medium;
    cloud
        .clients
        .codebuild
        .update_project()
        .name(format!("build-{suffix}"))
        .environment(environment)
        .set_tags(Some(vec![]))
        .send()
        .await
        .unwrap();
    cloud
        .clients
        .eventbridge
        .disable_rule()
        .name(format!("github-push-{suffix}"))
        .event_bus_name(format!("github-events-{suffix}"))
        .send()
        .await
        .unwrap();
    cloud
        .clients
        .eventbridge
        .remove_targets()
        .rule(format!("github-push-{suffix}"))
        .event_bus_name(format!("github-events-{suffix}"))
        .ids("starter")
        .send()
        .await
        .unwrap();
    let pipeline_arn = answer["Data"]["PipelineArn"].as_str().unwrap().to_owned();
    cloud
        .clients
        .codepipeline
        .untag_resource()
        .resource_arn(&pipeline_arn)
        .tag_keys("ci-installer:stack-id")
        .send()
        .await
        .unwrap();

    // The template changes the Dockerfile path and the branch.
    let mut changed = props(suffix);
    changed["DockerfilePath"] = json!("docker/Dockerfile");
    changed["GitHubBranch"] = json!("release");
    let answer = cloud
        .request(update_event(
            "",
            &physical_id(suffix),
            changed,
            props(suffix),
        ))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical_id(suffix));

    let project = cloud.project(suffix).await.unwrap();
    let environment = project.environment().unwrap();
    assert_eq!(environment.privileged_mode(), Some(true));
    assert_eq!(environment.compute_type().as_str(), "BUILD_GENERAL1_SMALL");
    let dockerfile = environment
        .environment_variables()
        .iter()
        .find(|v| v.name() == "DOCKERFILE_PATH")
        .map(|v| v.value().to_owned());
    assert_eq!(dockerfile.as_deref(), Some("docker/Dockerfile"));
    assert_eq!(
        tag_map(
            project
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        ),
        expected_tags()
    );

    let rule = cloud.rule(suffix).await.unwrap();
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
    let pattern = rule.event_pattern().unwrap().to_owned();
    assert!(
        cloud
            .matches(&pattern, "release", "octo-org/hello-service")
            .await
    );
    assert!(
        !cloud
            .matches(&pattern, "main", "octo-org/hello-service")
            .await
    );
    let targets = cloud.targets(suffix).await;
    assert_eq!(targets.len(), 1);
    assert_eq!(
        targets[0].arn(),
        format!("arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:starter-{suffix}")
    );

    let pipeline = cloud.pipeline(suffix).await.unwrap();
    let source = pipeline.pipeline().unwrap().stages()[0].actions()[0]
        .configuration()
        .unwrap();
    assert_eq!(source["BranchName"], "release");
    let tags = cloud
        .clients
        .codepipeline
        .list_tags_for_resource()
        .resource_arn(&pipeline_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tag_map(tags.tags().iter().map(|t| (t.key(), t.value()))),
        expected_tags()
    );
}

#[tokio::test]
async fn a_new_suffix_replaces_and_the_following_delete_removes_the_old_set() {
    let cloud = cloud().await;
    let (old, new) = ("lc-old", "lc-new");
    cloud.template_resources(old).await;
    cloud.template_resources(new).await;
    let answer = cloud.request(create_event("", props(old))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");

    let answer = cloud
        .request(update_event("", &physical_id(old), props(new), props(old)))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical_id(new));
    assert!(cloud.project(new).await.is_some());
    assert!(cloud.pipeline(new).await.is_some());
    assert!(cloud.rule(new).await.is_some());
    // The old set stays until CloudFormation's Delete of the old id.
    assert!(cloud.project(old).await.is_some());

    let answer = cloud
        .request(delete_event("", &physical_id(old), props(old)))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(cloud.project(old).await.is_none());
    assert!(cloud.pipeline(old).await.is_none());
    assert!(cloud.rule(old).await.is_none());
    assert!(cloud.project(new).await.is_some());
    assert!(cloud.pipeline(new).await.is_some());
    assert_eq!(cloud.targets(new).await.len(), 1);

    let answer = cloud
        .request(delete_event("", &physical_id(new), props(new)))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(cloud.project(new).await.is_none());
    assert!(cloud.pipeline(new).await.is_none());
    assert!(cloud.rule(new).await.is_none());
}

#[tokio::test]
async fn delete_empties_a_bucket_of_thousands_of_versions_and_delete_markers() {
    let cloud = cloud().await;
    let suffix = "lc-bucket";
    cloud.template_resources(suffix).await;
    let answer = cloud.request(create_event("", props(suffix))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");

    // 1200 keys written twice (2400 versions), 600 of them then deleted
    // (600 delete markers): 3000 entries, over three listing pages.
    let s3 = &cloud.clients.s3;
    let bucket = bucket(suffix);
    let keys: Vec<String> = (0..1200)
        .map(|i| format!("pipeline-{suffix}/SourceArti/{i:05}.zip"))
        .collect();
    for round in 0..2 {
        stream::iter(keys.iter())
            .map(|key| {
                s3.put_object()
                    .bucket(&bucket)
                    .key(key)
                    .body(ByteStream::from(format!("round {round}").into_bytes()))
                    .send()
            })
            .buffer_unordered(16)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    }
    stream::iter(keys.iter().take(600))
        .map(|key| s3.delete_object().bucket(&bucket).key(key).send())
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let mut total = 0;
    let mut markers = 0;
    let mut key_marker = None;
    let mut version_marker = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket(&bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .unwrap();
        total += page.versions().len() + page.delete_markers().len();
        markers += page.delete_markers().len();
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    assert_eq!((total, markers), (3000, 600));

    let started = std::time::Instant::now();
    let answer = cloud
        .request(delete_event("", &physical_id(suffix), props(suffix)))
        .await;
    let took = started.elapsed();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(cloud.versions(suffix).await, 0);
    // CloudFormation can now delete the bucket.
    s3.delete_bucket().bucket(&bucket).send().await.unwrap();
    eprintln!("Delete with 3000 versions and delete markers took {took:?}");
}

#[tokio::test]
async fn a_failed_create_cleans_up_and_its_delete_does_nothing() {
    let cloud = cloud().await;
    let suffix = "lc-failed";
    cloud.template_resources(suffix).await;
    // Another stack's pipeline already has our pipeline's name.
    let other = "arn:aws:cloudformation:ap-southeast-1:123456789012:stack/other/1";
    let mut foreign = props(suffix);
    foreign["GitHubRepo"] = json!("someone-elses-repo");
    let foreign_installer = {
        let mut event = create_event("", foreign);
        event["StackId"] = json!(other);
        event
    };
    let answer = cloud.request(foreign_installer).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    // Keep only the other stack's pipeline: remove its project and rule.
    cloud
        .clients
        .codebuild
        .delete_project()
        .name(format!("build-{suffix}"))
        .send()
        .await
        .unwrap();
    let events = &cloud.clients.eventbridge;
    events
        .remove_targets()
        .rule(format!("github-push-{suffix}"))
        .event_bus_name(format!("github-events-{suffix}"))
        .ids("starter")
        .send()
        .await
        .unwrap();
    events
        .delete_rule()
        .name(format!("github-push-{suffix}"))
        .event_bus_name(format!("github-events-{suffix}"))
        .send()
        .await
        .unwrap();

    let answer = cloud.request(create_event("", props(suffix))).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    let marker = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert!(marker.starts_with("installer:create-failed:"), "{marker}");
    assert!(answer["Reason"].as_str().unwrap().contains(&format!(
        "pipeline pipeline-{suffix} already exists and is not managed by this stack (owned by {other})"
    )));
    // The project it had created is gone again; the other stack's pipeline is untouched.
    assert!(cloud.project(suffix).await.is_none());
    assert!(cloud.rule(suffix).await.is_none());
    let pipeline = cloud
        .pipeline(suffix)
        .await
        .expect("the other stack's pipeline");
    let source = pipeline.pipeline().unwrap().stages()[0].actions()[0]
        .configuration()
        .unwrap();
    assert_eq!(source["FullRepositoryId"], "octo-org/someone-elses-repo");

    let answer = cloud
        .request(delete_event("", &marker, props(suffix)))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], marker);
    assert!(cloud.pipeline(suffix).await.is_some());
}
