//! CodeBuild: the Build stage's project.

use aws_sdk_codebuild::types::{
    ArtifactsType, CloudWatchLogsConfig, ComputeType, EnvironmentType, EnvironmentVariable,
    EnvironmentVariableType, ImagePullCredentialsType, LogsConfig, LogsConfigStatusType,
    ProjectArtifacts, ProjectEnvironment, ProjectSource, S3LogsConfig, SourceType, Tag,
};
use aws_sdk_codebuild::Client;

use crate::domain::project::ProjectSpec;
use crate::error::Error;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// The parts of a project that CreateProject and UpdateProject share.
struct ProjectParts {
    source: ProjectSource,
    artifacts: ProjectArtifacts,
    environment: ProjectEnvironment,
    logs: LogsConfig,
    tags: Vec<Tag>,
}

fn parts(spec: &ProjectSpec) -> Result<ProjectParts, Error> {
    let source = ProjectSource::builder()
        .r#type(SourceType::from(spec.source_type))
        .buildspec(&spec.buildspec)
        .build()?;
    let artifacts = ProjectArtifacts::builder()
        .r#type(ArtifactsType::from(spec.artifacts_type))
        .build()?;
    let mut environment = ProjectEnvironment::builder()
        .r#type(EnvironmentType::from(spec.environment_type))
        .image(spec.image)
        .compute_type(ComputeType::from(spec.compute_type))
        .privileged_mode(spec.privileged_mode)
        .image_pull_credentials_type(ImagePullCredentialsType::Codebuild);
    for (name, value) in &spec.environment_variables {
        environment = environment.environment_variables(
            EnvironmentVariable::builder()
                .name(name)
                .value(value)
                .r#type(EnvironmentVariableType::Plaintext)
                .build()?,
        );
    }
    let logs = LogsConfig::builder()
        .cloud_watch_logs(
            CloudWatchLogsConfig::builder()
                .status(LogsConfigStatusType::Enabled)
                .group_name(&spec.log_group)
                .build()?,
        )
        .s3_logs(
            S3LogsConfig::builder()
                .status(LogsConfigStatusType::Disabled)
                .build()?,
        )
        .build();
    let tags = spec
        .tags
        .iter()
        .map(|tag| Tag::builder().key(&tag.key).value(&tag.value).build())
        .collect();
    Ok(ProjectParts {
        source,
        artifacts,
        environment: environment.build()?,
        logs,
        tags,
    })
}

/// The project's tags, or None when there is no such project.
pub async fn project_tags(
    client: &Client,
    name: &str,
) -> Result<Option<Vec<(String, String)>>, Error> {
    let output = client
        .batch_get_projects()
        .names(name)
        .send()
        .await
        .map_err(|e| Error::aws("BatchGetProjects", e))?;
    let project = output
        .projects()
        .iter()
        .find(|project| project.name() == Some(name));
    Ok(project.map(|project| {
        project
            .tags()
            .iter()
            .map(|tag| {
                (
                    tag.key().unwrap_or_default().to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }))
}

pub async fn create_project(client: &Client, spec: &ProjectSpec) -> Result<(), Error> {
    let parts = parts(spec)?;
    client
        .create_project()
        .name(&spec.name)
        .description(&spec.description)
        .service_role(&spec.service_role)
        .source(parts.source)
        .artifacts(parts.artifacts)
        .environment(parts.environment)
        .logs_config(parts.logs)
        .timeout_in_minutes(spec.timeout_minutes)
        .set_tags(Some(parts.tags))
        .send()
        .await
        .map_err(|e| Error::aws("CreateProject", e))?;
    Ok(())
}

/// Puts every setting back as the spec says (hand-made drift included). The
/// tags replace the project's tags.
pub async fn update_project(client: &Client, spec: &ProjectSpec) -> Result<(), Error> {
    let parts = parts(spec)?;
    client
        .update_project()
        .name(&spec.name)
        .description(&spec.description)
        .service_role(&spec.service_role)
        .source(parts.source)
        .artifacts(parts.artifacts)
        .environment(parts.environment)
        .logs_config(parts.logs)
        .timeout_in_minutes(spec.timeout_minutes)
        .set_tags(Some(parts.tags))
        .send()
        .await
        .map_err(|e| Error::aws("UpdateProject", e))?;
    Ok(())
}

/// Deletes the project; a project that is already gone counts as deleted.
pub async fn delete_project(client: &Client, name: &str) -> Result<(), Error> {
    match client.delete_project().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let error = Error::aws("DeleteProject", e);
            if error.has_code(NOT_FOUND) {
                Ok(())
            } else {
                Err(error)
            }
        }
    }
}
