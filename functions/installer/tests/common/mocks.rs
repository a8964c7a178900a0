//! aws-smithy-mocks rules for every call the installer makes, answering as
//! AWS does. Errors are raw HTTP answers in each service's wire format, so
//! the SDK's own deserializer and retry classifier see them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_codebuild::types::{Project, Tag as BuildTag};
use aws_sdk_codepipeline::types::{PipelineMetadata, Tag as PipelineTag};
use aws_sdk_eventbridge::types::{Tag as RuleTag, Target};
use aws_sdk_iam::types::Role;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::DateTime;
use installer::Clients;

pub const ACCOUNT: &str = "123456789012";
pub const OWNER_TAG: &str = "ci-installer:stack-id";

pub type HttpResponse = Response<SdkBody>;

/// awsJson error (CodeBuild, CodePipeline, EventBridge).
pub fn json_error(code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    Response::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
}

/// awsQuery error (IAM).
pub fn iam_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    );
    Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

/// restXml error (S3).
pub fn s3_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>");
    Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A trust policy as GetRole returns it on AWS (URL-encoded JSON).
pub fn trust_policy(service: &str) -> String {
    percent_encode(
        &serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
        })
        .to_string(),
    )
}

/// The service a role of the test properties must trust, from its name.
pub fn service_for_role(name: &str) -> &'static str {
    if name.starts_with("codebuild-role") {
        "codebuild.amazonaws.com"
    } else if name.starts_with("codepipeline-role") {
        "codepipeline.amazonaws.com"
    } else {
        "events.amazonaws.com"
    }
}

pub fn role(name: &str, document: &str) -> Role {
    Role::builder()
        .path("/")
        .role_name(name)
        .role_id("AROAEXAMPLEEXAMPLE")
        .arn(format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
        .create_date(DateTime::from_secs(0))
        .assume_role_policy_document(document)
        .build()
        .unwrap()
}

pub fn pipeline_arn(name: &str) -> String {
    format!("arn:aws:codepipeline:ap-southeast-1:{ACCOUNT}:{name}")
}

pub fn rule_arn(bus: &str, name: &str) -> String {
    format!("arn:aws:events:ap-southeast-1:{ACCOUNT}:rule/{bus}/{name}")
}

/// Rules placed before the defaults (first matching rule wins).
#[derive(Default)]
pub struct Extra<'a> {
    pub iam: Vec<&'a Rule>,
    pub codebuild: Vec<&'a Rule>,
    pub codepipeline: Vec<&'a Rule>,
    pub eventbridge: Vec<&'a Rule>,
    pub s3: Vec<&'a Rule>,
}

/// Who the existing resources belong to in [`Aws::existing`].
#[derive(Debug, Clone)]
pub enum Owner {
    Stack(String),
    Nobody,
}

/// Default answers for every call, kept as fields so tests can count calls.
pub struct Aws {
    /// Whether GetPipeline finds the pipeline (set by CreatePipeline).
    pub pipeline_exists: Arc<AtomicBool>,
    pub get_role: Rule,
    pub batch_get_projects: Rule,
    pub create_project: Rule,
    pub update_project: Rule,
    pub delete_project: Rule,
    pub get_pipeline: Rule,
    pub create_pipeline: Rule,
    pub update_pipeline: Rule,
    pub delete_pipeline: Rule,
    pub list_pipeline_tags: Rule,
    pub tag_pipeline: Rule,
    pub describe_rule: Rule,
    pub put_rule: Rule,
    pub put_targets: Rule,
    pub list_rule_tags: Rule,
    pub tag_rule: Rule,
    pub list_targets: Rule,
    pub remove_targets: Rule,
    pub delete_rule: Rule,
    pub list_versions: Rule,
    pub delete_objects: Rule,
}

fn owner_tags(owner: &Owner) -> Vec<(String, String)> {
    let mut tags = vec![("Team".to_owned(), "devops".to_owned())];
    if let Owner::Stack(stack) = owner {
        tags.push((OWNER_TAG.to_owned(), stack.clone()));
    }
    tags
}

impl Aws {
    /// Nothing exists yet: GetPipeline finds the pipeline once it is created.
    pub fn empty() -> Self {
        Self::build(None)
    }

    /// Project, pipeline and rule exist, tagged for `owner`.
    pub fn existing(owner: Owner) -> Self {
        Self::build(Some(owner))
    }

    fn build(existing: Option<Owner>) -> Self {
        let exists = existing.is_some();
        let tags = existing.as_ref().map(owner_tags).unwrap_or_default();
        let pipeline_exists = Arc::new(AtomicBool::new(exists));
        let created = pipeline_exists.clone();
        let shared = pipeline_exists.clone();
        let (project_tags, pipeline_tags, rule_tags) = (tags.clone(), tags.clone(), tags);

        Self {
            pipeline_exists: shared,
            get_role: mock!(aws_sdk_iam::Client::get_role).then_compute_output(|input| {
                let name = input.role_name().unwrap_or_default();
                aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
                    .role(role(name, &trust_policy(service_for_role(name))))
                    .build()
            }),
            batch_get_projects: mock!(aws_sdk_codebuild::Client::batch_get_projects)
                .then_compute_output(move |input| {
                    let output = aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput::builder();
                    let name = input.names().first().cloned().unwrap_or_default();
                    if exists {
                        let mut project = Project::builder().name(name);
                        for (key, value) in &project_tags {
                            project = project.tags(BuildTag::builder().key(key).value(value).build());
                        }
                        output.projects(project.build()).build()
                    } else {
                        output.projects_not_found(name).build()
                    }
                }),
            create_project: mock!(aws_sdk_codebuild::Client::create_project).then_output(|| {
                aws_sdk_codebuild::operation::create_project::CreateProjectOutput::builder().build()
            }),
            update_project: mock!(aws_sdk_codebuild::Client::update_project).then_output(|| {
                aws_sdk_codebuild::operation::update_project::UpdateProjectOutput::builder().build()
            }),
            delete_project: mock!(aws_sdk_codebuild::Client::delete_project).then_output(|| {
                aws_sdk_codebuild::operation::delete_project::DeleteProjectOutput::builder().build()
            }),
            get_pipeline: mock!(aws_sdk_codepipeline::Client::get_pipeline).then_compute_response(
                move |input| {
                    use aws_smithy_mocks::MockResponse;
                    let name = input.name().unwrap_or_default();
                    if pipeline_exists.load(Ordering::SeqCst) {
                        MockResponse::Output(
                            aws_sdk_codepipeline::operation::get_pipeline::GetPipelineOutput::builder()
                                .metadata(PipelineMetadata::builder().pipeline_arn(pipeline_arn(name)).build())
                                .build(),
                        )
                    } else {
                        MockResponse::Http(json_error(
                            "PipelineNotFoundException",
                            &format!("Account '{ACCOUNT}' does not have a pipeline with name '{name}'"),
                        ))
                    }
                },
            ),
            create_pipeline: mock!(aws_sdk_codepipeline::Client::create_pipeline).then_compute_output(
                move |_| {
                    created.store(true, Ordering::SeqCst);
                    aws_sdk_codepipeline::operation::create_pipeline::CreatePipelineOutput::builder().build()
                },
            ),
            update_pipeline: mock!(aws_sdk_codepipeline::Client::update_pipeline).then_output(|| {
                aws_sdk_codepipeline::operation::update_pipeline::UpdatePipelineOutput::builder().build()
            }),
            delete_pipeline: mock!(aws_sdk_codepipeline::Client::delete_pipeline).then_output(|| {
                aws_sdk_codepipeline::operation::delete_pipeline::DeletePipelineOutput::builder().build()
            }),
            list_pipeline_tags: mock!(aws_sdk_codepipeline::Client::list_tags_for_resource)
                .then_compute_output(move |_| {
                    let mut output = aws_sdk_codepipeline::operation::list_tags_for_resource::ListTagsForResourceOutput::builder();
                    for (key, value) in &pipeline_tags {
                        output = output.tags(PipelineTag::builder().key(key).value(value).build().unwrap());
                    }
                    output.build()
                }),
            tag_pipeline: mock!(aws_sdk_codepipeline::Client::tag_resource).then_output(|| {
                aws_sdk_codepipeline::operation::tag_resource::TagResourceOutput::builder().build()
            }),
            describe_rule: mock!(aws_sdk_eventbridge::Client::describe_rule).then_compute_response(
                move |input| {
                    use aws_smithy_mocks::MockResponse;
                    let name = input.name().unwrap_or_default();
                    let bus = input.event_bus_name().unwrap_or_default();
                    if exists {
                        MockResponse::Output(
                            aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput::builder()
                                .name(name)
                                .arn(rule_arn(bus, name))
                                .build(),
                        )
                    } else {
                        MockResponse::Http(json_error(
                            "ResourceNotFoundException",
                            &format!("Rule {name} does not exist on EventBus {bus}."),
                        ))
                    }
                },
            ),
            put_rule: mock!(aws_sdk_eventbridge::Client::put_rule).then_compute_output(|input| {
                aws_sdk_eventbridge::operation::put_rule::PutRuleOutput::builder()
                    .rule_arn(rule_arn(
                        input.event_bus_name().unwrap_or_default(),
                        input.name().unwrap_or_default(),
                    ))
                    .build()
            }),
            put_targets: mock!(aws_sdk_eventbridge::Client::put_targets).then_output(|| {
                aws_sdk_eventbridge::operation::put_targets::PutTargetsOutput::builder()
                    .failed_entry_count(0)
                    .build()
            }),
            list_rule_tags: mock!(aws_sdk_eventbridge::Client::list_tags_for_resource)
                .then_compute_output(move |_| {
                    let mut output = aws_sdk_eventbridge::operation::list_tags_for_resource::ListTagsForResourceOutput::builder();
                    for (key, value) in &rule_tags {
                        output = output.tags(RuleTag::builder().key(key).value(value).build().unwrap());
                    }
                    output.build()
                }),
            tag_rule: mock!(aws_sdk_eventbridge::Client::tag_resource).then_output(|| {
                aws_sdk_eventbridge::operation::tag_resource::TagResourceOutput::builder().build()
            }),
            list_targets: mock!(aws_sdk_eventbridge::Client::list_targets_by_rule).then_output(|| {
                aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleOutput::builder()
                    .targets(
                        Target::builder()
                            .id("starter")
                            .arn("arn:aws:lambda:ap-southeast-1:123456789012:function:starter-x")
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
            remove_targets: mock!(aws_sdk_eventbridge::Client::remove_targets).then_output(|| {
                aws_sdk_eventbridge::operation::remove_targets::RemoveTargetsOutput::builder()
                    .failed_entry_count(0)
                    .build()
            }),
            delete_rule: mock!(aws_sdk_eventbridge::Client::delete_rule).then_output(|| {
                aws_sdk_eventbridge::operation::delete_rule::DeleteRuleOutput::builder().build()
            }),
            list_versions: mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
                aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput::builder()
                    .is_truncated(false)
                    .build()
            }),
            delete_objects: mock!(aws_sdk_s3::Client::delete_objects).then_output(|| {
                aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder().build()
            }),
        }
    }

    /// Clients answering with `extra` first, then these defaults.
    pub fn clients(&self, extra: Extra<'_>) -> Clients {
        let mut iam = extra.iam;
        iam.push(&self.get_role);
        let mut codebuild = extra.codebuild;
        codebuild.extend([
            &self.batch_get_projects,
            &self.create_project,
            &self.update_project,
            &self.delete_project,
        ]);
        let mut codepipeline = extra.codepipeline;
        codepipeline.extend([
            &self.get_pipeline,
            &self.create_pipeline,
            &self.update_pipeline,
            &self.delete_pipeline,
            &self.list_pipeline_tags,
            &self.tag_pipeline,
        ]);
        let mut eventbridge = extra.eventbridge;
        eventbridge.extend([
            &self.describe_rule,
            &self.put_rule,
            &self.put_targets,
            &self.list_rule_tags,
            &self.tag_rule,
            &self.list_targets,
            &self.remove_targets,
            &self.delete_rule,
        ]);
        let mut s3 = extra.s3;
        s3.extend([&self.list_versions, &self.delete_objects]);
        clients_from(iam, codebuild, codepipeline, eventbridge, s3)
    }
}

/// The SDK's standard retry mode (3 attempts), with a tiny backoff so that
/// tests of throttling run fast.
fn retry() -> aws_sdk_s3::config::retry::RetryConfig {
    aws_sdk_s3::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

pub fn clients_from(
    iam: Vec<&Rule>,
    codebuild: Vec<&Rule>,
    codepipeline: Vec<&Rule>,
    eventbridge: Vec<&Rule>,
    s3: Vec<&Rule>,
) -> Clients {
    Clients {
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, iam, |c| c
            .retry_config(retry())),
        codebuild: mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, codebuild, |c| c
            .retry_config(retry())),
        codepipeline: mock_client!(
            aws_sdk_codepipeline,
            RuleMode::MatchAny,
            codepipeline,
            |c| c.retry_config(retry())
        ),
        eventbridge: mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, eventbridge, |c| c
            .retry_config(retry())),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3, |c| c
            .retry_config(retry())),
    }
}
