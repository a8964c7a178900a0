//! The CodeBuild project of the Build stage, as a plain description.

use super::properties::Properties;
use super::tags::Tag;

/// A current Amazon Linux standard image: ships Docker with buildx.
pub const BUILD_IMAGE: &str = "aws/codebuild/amazonlinux-x86_64-standard:5.0";
pub const ENVIRONMENT_TYPE: &str = "LINUX_CONTAINER";
pub const COMPUTE_TYPE: &str = "BUILD_GENERAL1_SMALL";
/// Source and artifacts come from, and go to, the pipeline.
pub const SOURCE_TYPE: &str = "CODEPIPELINE";
pub const ARTIFACTS_TYPE: &str = "CODEPIPELINE";
/// The tag of the BuildKit registry cache in the image repository.
pub const CACHE_TAG: &str = "buildcache";
pub const TIMEOUT_MINUTES: i32 = 60;

/// Everything CreateProject / UpdateProject is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSpec {
    pub name: String,
    pub description: String,
    pub service_role: String,
    pub source_type: &'static str,
    pub buildspec: String,
    pub artifacts_type: &'static str,
    pub environment_type: &'static str,
    pub image: &'static str,
    pub compute_type: &'static str,
    /// Docker needs privileged mode.
    pub privileged_mode: bool,
    /// Plain-text variables: names and values, in order.
    pub environment_variables: Vec<(String, String)>,
    /// CloudWatch Logs group (created by the template, with its retention).
    pub log_group: String,
    pub timeout_minutes: i32,
    pub tags: Vec<Tag>,
}

/// The project for these properties. `tags` are the full resource tags
/// (template tags and the ownership tag).
pub fn project_spec(properties: &Properties, buildspec: &str, tags: Vec<Tag>) -> ProjectSpec {
    ProjectSpec {
        name: properties.names.project.clone(),
        description: format!(
            "Builds {} and pushes it to {}",
            properties.full_repository_name(),
            properties.repository_name
        ),
        service_role: properties.codebuild_role_arn.clone(),
        source_type: SOURCE_TYPE,
        buildspec: buildspec.to_owned(),
        artifacts_type: ARTIFACTS_TYPE,
        environment_type: ENVIRONMENT_TYPE,
        image: BUILD_IMAGE,
        compute_type: COMPUTE_TYPE,
        privileged_mode: true,
        environment_variables: vec![
            ("REPOSITORY_URI".into(), properties.repository_uri.clone()),
            ("DOCKERFILE_PATH".into(), properties.dockerfile_path.clone()),
            ("CACHE_TAG".into(), CACHE_TAG.into()),
            ("BUILDKIT_IMAGE".into(), properties.buildkit_image.clone()),
        ],
        log_group: properties.build_log_group_name.clone(),
        timeout_minutes: TIMEOUT_MINUTES,
        tags,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::properties::tests::sample;
    use crate::domain::tags::{resource_tags, OWNER_TAG_KEY};

    #[test]
    fn the_project_meets_the_build_constraints() {
        let properties = Properties::parse(&sample()).unwrap();
        let tags = resource_tags(&properties.tags, "arn:stack");
        let spec = project_spec(&properties, "version: 0.2\n", tags);
        assert_eq!(spec.name, "build-prod");
        assert_eq!(spec.environment_type, "LINUX_CONTAINER");
        assert_eq!(spec.compute_type, "BUILD_GENERAL1_SMALL");
        assert_eq!(spec.image, "aws/codebuild/amazonlinux-x86_64-standard:5.0");
        assert!(spec.privileged_mode);
        assert_eq!(spec.source_type, "CODEPIPELINE");
        assert_eq!(spec.artifacts_type, "CODEPIPELINE");
        assert_eq!(spec.buildspec, "version: 0.2\n");
        assert_eq!(spec.log_group, "/aws/codebuild/build-prod");
        assert_eq!(
            spec.service_role,
            "arn:aws:iam::123456789012:role/codebuild-role-prod"
        );
        assert_eq!(
            spec.environment_variables,
            vec![
                (
                    "REPOSITORY_URI".to_owned(),
                    "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/images-prod".to_owned()
                ),
                ("DOCKERFILE_PATH".to_owned(), "Dockerfile".to_owned()),
                ("CACHE_TAG".to_owned(), "buildcache".to_owned()),
                (
                    "BUILDKIT_IMAGE".to_owned(),
                    "public.ecr.aws/vend/moby/buildkit:buildx-stable-1".to_owned()
                ),
            ]
        );
        let keys: Vec<(&str, &str)> = spec
            .tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("Environment", "production"),
                ("Team", "devops"),
                (OWNER_TAG_KEY, "arn:stack")
            ]
        );
    }
}
