//! The CodePipeline V2 pipeline (Source, Build, Deploy), as a plain description.

use std::collections::BTreeMap;

use serde::Serialize;

use super::properties::Properties;
use super::tags::Tag;

pub const PIPELINE_TYPE: &str = "V2";

/// Execution mode: `QUEUED`.
///
/// Every push the EventBridge rule forwards becomes one execution, and
/// executions pass the stages one at a time in the order they started:
///
/// - every pushed commit is built and gets its commit tag in ECR (nothing is
///   silently skipped, as `SUPERSEDED` does to an execution waiting behind a
///   newer one), so any commit can be promoted or rolled back to later;
/// - the Deploy stage moves `production` in push order, so after a burst of
///   pushes it ends on the newest commit. `PARALLEL` gives no such order: an
///   older, slower execution could move `production` back after a newer one.
///
/// The price is latency under bursts (each execution waits for the one
/// ahead), which for a single branch of one repository is small.
pub const EXECUTION_MODE: &str = "QUEUED";

pub const SOURCE_STAGE: &str = "Source";
pub const BUILD_STAGE: &str = "Build";
pub const DEPLOY_STAGE: &str = "Deploy";
/// The artifact the GitHub source hands to the build.
pub const SOURCE_ARTIFACT: &str = "SourceArtifact";
/// Variable namespaces. The buildspec exports `IMAGE_DIGEST` and `IMAGE_TAG`
/// into `BuildVariables`; the tagger exports `PROMOTED_DIGEST` and
/// `PREVIOUS_DIGEST` into `DeployVariables`.
pub const SOURCE_NAMESPACE: &str = "SourceVariables";
pub const BUILD_NAMESPACE: &str = "BuildVariables";
pub const DEPLOY_NAMESPACE: &str = "DeployVariables";
/// The tag the Deploy stage moves.
pub const PRODUCTION_TAG: &str = "production";
/// The source action's name: the starter pins its revision by this name
/// (the template gives the starter the same name as SOURCE_ACTION_NAME).
pub const SOURCE_ACTION: &str = "GitHub";

/// Pipeline-level variables (V2), set by the starter on every start and read
/// by actions as `#{variables.NAME}`. Their defaults are what a start by hand
/// (the console's "Release change") carries: no push.
pub const VARIABLES: &[VariableSpec] = &[
    VariableSpec {
        name: "COMMIT_ID",
        default: NO_PUSH,
        description: "The pushed commit this execution builds (set by the starter).",
    },
    VariableSpec {
        name: "DELIVERY_ID",
        default: NO_PUSH,
        description: "The GitHub delivery that started this execution.",
    },
    VariableSpec {
        name: "PUSH_SEQUENCE",
        default: "0",
        description: "The push's place in push order; 0 when started by hand.",
    },
];
/// The default of the commit and delivery variables.
pub const NO_PUSH: &str = "none";

/// One pipeline-level variable declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariableSpec {
    pub name: &'static str,
    pub default: &'static str,
    pub description: &'static str,
}

/// Everything CreatePipeline / UpdatePipeline is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineSpec {
    pub name: String,
    pub role_arn: String,
    /// The S3 artifact store (bucket name).
    pub artifact_bucket: String,
    pub pipeline_type: &'static str,
    pub execution_mode: &'static str,
    pub variables: &'static [VariableSpec],
    pub stages: Vec<StageSpec>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSpec {
    pub name: &'static str,
    pub actions: Vec<ActionSpec>,
}

/// One action. Categories, owners and providers are CodePipeline's strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSpec {
    pub name: &'static str,
    pub category: &'static str,
    pub owner: &'static str,
    pub provider: &'static str,
    pub version: &'static str,
    pub configuration: BTreeMap<String, String>,
    pub input_artifacts: Vec<&'static str>,
    pub output_artifacts: Vec<&'static str>,
    pub namespace: &'static str,
    pub run_order: i32,
}

/// The Deploy action's UserParameters, in the contract's key order.
#[derive(Debug, Serialize)]
struct TaggerParameters<'a> {
    repository: &'a str,
    digest: &'a str,
    tag: &'a str,
    commit: &'a str,
    sequence: &'a str,
    execution: &'a str,
}

/// `{"repository":"<repo>","digest":"#{BuildVariables.IMAGE_DIGEST}","tag":"production",
/// "commit":"#{variables.COMMIT_ID}","sequence":"#{variables.PUSH_SEQUENCE}",
/// "execution":"#{codepipeline.PipelineExecutionId}"}`. `PipelineExecutionId`
/// is the variable CodePipeline makes available to every action in the
/// `codepipeline` namespace
/// (<https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html>):
/// the tagger records which execution promoted an image.
pub fn tagger_user_parameters(repository: &str) -> String {
    let digest = format!("#{{{BUILD_NAMESPACE}.IMAGE_DIGEST}}");
    let parameters = TaggerParameters {
        repository,
        digest: &digest,
        tag: PRODUCTION_TAG,
        commit: "#{variables.COMMIT_ID}",
        sequence: "#{variables.PUSH_SEQUENCE}",
        execution: "#{codepipeline.PipelineExecutionId}",
    };
    // Serializing three strings cannot fail; the fallback keeps this total.
    serde_json::to_string(&parameters).unwrap_or_default()
}

/// The pipeline for these properties. `tags` are the full resource tags.
pub fn pipeline_spec(properties: &Properties, tags: Vec<Tag>) -> PipelineSpec {
    let config = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect()
    };
    let source = ActionSpec {
        name: SOURCE_ACTION,
        category: "Source",
        owner: "AWS",
        provider: "CodeStarSourceConnection",
        version: "1",
        configuration: config(&[
            ("ConnectionArn", properties.connection_arn.clone()),
            ("FullRepositoryId", properties.full_repository_name()),
            ("BranchName", properties.github_branch.clone()),
            ("OutputArtifactFormat", "CODE_ZIP".into()),
            // The EventBridge rule is the one trigger.
            ("DetectChanges", "false".into()),
        ]),
        input_artifacts: vec![],
        output_artifacts: vec![SOURCE_ARTIFACT],
        namespace: SOURCE_NAMESPACE,
        run_order: 1,
    };
    let build = ActionSpec {
        name: "Image",
        category: "Build",
        owner: "AWS",
        provider: "CodeBuild",
        version: "1",
        configuration: config(&[
            ("ProjectName", properties.names.project.clone()),
            // The build checks that the source handed it this commit.
            (
                "EnvironmentVariables",
                r##"[{"name":"PUSHED_COMMIT","value":"#{variables.COMMIT_ID}","type":"PLAINTEXT"}]"##
                    .into(),
            ),
        ]),
        input_artifacts: vec![SOURCE_ARTIFACT],
        // The image goes to ECR; the digest travels as a variable.
        output_artifacts: vec![],
        namespace: BUILD_NAMESPACE,
        run_order: 1,
    };
    let deploy = ActionSpec {
        name: "PromoteImage",
        category: "Invoke",
        owner: "AWS",
        provider: "Lambda",
        version: "1",
        configuration: config(&[
            ("FunctionName", properties.tagger_function_name.clone()),
            (
                "UserParameters",
                tagger_user_parameters(&properties.repository_name),
            ),
        ]),
        input_artifacts: vec![],
        output_artifacts: vec![],
        namespace: DEPLOY_NAMESPACE,
        run_order: 1,
    };
    PipelineSpec {
        name: properties.names.pipeline.clone(),
        role_arn: properties.pipeline_role_arn.clone(),
        artifact_bucket: properties.artifact_bucket.clone(),
        pipeline_type: PIPELINE_TYPE,
        execution_mode: EXECUTION_MODE,
        variables: VARIABLES,
        stages: vec![
            StageSpec {
                name: SOURCE_STAGE,
                actions: vec![source],
            },
            StageSpec {
                name: BUILD_STAGE,
                actions: vec![build],
            },
            StageSpec {
                name: DEPLOY_STAGE,
                actions: vec![deploy],
            },
        ],
        tags,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::properties::tests::sample;

    fn spec() -> PipelineSpec {
        let properties = Properties::parse(&sample()).unwrap();
        let tags = vec![Tag::new("Team", "devops")];
        pipeline_spec(&properties, tags)
    }

    #[test]
    fn three_stages_in_order() {
        let spec = spec();
        let names: Vec<&str> = spec.stages.iter().map(|s| s.name).collect();
        assert_eq!(names, ["Source", "Build", "Deploy"]);
        assert!(spec.stages.iter().all(|s| s.actions.len() == 1));
        assert_eq!(spec.pipeline_type, "V2");
        assert_eq!(spec.execution_mode, "QUEUED");
        let variables: Vec<(&str, &str)> =
            spec.variables.iter().map(|v| (v.name, v.default)).collect();
        assert_eq!(
            variables,
            [
                ("COMMIT_ID", "none"),
                ("DELIVERY_ID", "none"),
                ("PUSH_SEQUENCE", "0")
            ]
        );
        assert_eq!(spec.artifact_bucket, "artifacts-prod-123456789012");
        assert_eq!(
            spec.role_arn,
            "arn:aws:iam::123456789012:role/codepipeline-role-prod"
        );
        assert_eq!(spec.tags, vec![Tag::new("Team", "devops")]);
    }

    #[test]
    fn source_is_github_via_connection_without_change_detection() {
        let spec = spec();
        let source = &spec.stages[0].actions[0];
        assert_eq!(
            (
                source.category,
                source.owner,
                source.provider,
                source.version
            ),
            ("Source", "AWS", "CodeStarSourceConnection", "1")
        );
        let expected: BTreeMap<String, String> = [
            ("BranchName", "main"),
            (
                "ConnectionArn",
                "arn:aws:codeconnections:ap-southeast-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666",
            ),
            ("DetectChanges", "false"),
            ("FullRepositoryId", "octo-org/hello-service"),
            ("OutputArtifactFormat", "CODE_ZIP"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(source.configuration, expected);
        assert_eq!(source.output_artifacts, ["SourceArtifact"]);
    }

    #[test]
    fn build_runs_the_project_in_the_build_variables_namespace() {
        let spec = spec();
        let build = &spec.stages[1].actions[0];
        assert_eq!(
            (build.category, build.owner, build.provider),
            ("Build", "AWS", "CodeBuild")
        );
        assert_eq!(build.configuration["ProjectName"], "build-prod");
        assert_eq!(
            build.configuration["EnvironmentVariables"],
            r##"[{"name":"PUSHED_COMMIT","value":"#{variables.COMMIT_ID}","type":"PLAINTEXT"}]"##
        );
        assert_eq!(build.namespace, "BuildVariables");
        assert_eq!(build.input_artifacts, ["SourceArtifact"]);
    }

    #[test]
    fn deploy_invokes_the_tagger_with_the_built_digest() {
        let spec = spec();
        let deploy = &spec.stages[2].actions[0];
        assert_eq!(
            (deploy.category, deploy.owner, deploy.provider),
            ("Invoke", "AWS", "Lambda")
        );
        assert_eq!(deploy.configuration["FunctionName"], "tagger-prod");
        assert_eq!(
            deploy.configuration["UserParameters"],
            r##"{"repository":"images-prod","digest":"#{BuildVariables.IMAGE_DIGEST}","tag":"production","commit":"#{variables.COMMIT_ID}","sequence":"#{variables.PUSH_SEQUENCE}","execution":"#{codepipeline.PipelineExecutionId}"}"##
        );
    }
}
