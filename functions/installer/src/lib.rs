//! # installer
//!
//! A CloudFormation custom resource that installs the CI/CD pipeline's
//! moving parts: the CodeBuild project, the CodePipeline V2 pipeline (Source,
//! Build, Deploy) and the EventBridge rule that hands each push to the starter.
//!
//! - **Trigger**: CloudFormation custom resource requests (Create, Update,
//!   Delete) from the template's `Custom::Installer` resource. Every request
//!   is answered, SUCCESS or FAILED, before the function's deadline.
//! - **Properties**: EnvironmentSuffix, ProjectName, PipelineName, RuleName,
//!   EventBusName, CodeBuildRoleArn, PipelineRoleArn, StarterFunctionArn,
//!   DeadLetterQueueArn, ArtifactBucket, RepositoryName, RepositoryUri, ConnectionArn,
//!   GitHubOwner, GitHubRepo, GitHubBranch, DockerfilePath, BuildKitImage,
//!   TaggerFunctionName, BuildLogGroupName, Tags. Answers Data: ProjectName,
//!   PipelineName, PipelineArn, RuleName, RuleArn.
//! - **Physical id**: `installer:<project>:<pipeline>:<rule>`; a failed
//!   Create answers `installer:create-failed:<RequestId>` after removing what
//!   it created, and the Delete that follows does nothing.
//! - **Environment**: the standard AWS SDK variables only. With a custom
//!   endpoint (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3`, as in the local
//!   cloud) S3 is addressed path-style; against AWS, virtual-hosted style.
//!   `AWS_LAMBDA_LOG_FORMAT` / `AWS_LAMBDA_LOG_LEVEL` control the logs.
//! - **IAM actions**: `iam:GetRole` (preflight) and `iam:PassRole` on the
//!   CodeBuild and pipeline roles; `codeconnections:PassConnection` (and its
//!   `codestar-connections` twin) on the connection; `codebuild:BatchGetProjects`, `CreateProject`,
//!   `UpdateProject`, `DeleteProject`; `codepipeline:GetPipeline`,
//!   `CreatePipeline`, `UpdatePipeline`, `DeletePipeline`, `TagResource`,
//!   `ListTagsForResource`; `events:DescribeRule`, `PutRule`, `DeleteRule`,
//!   `PutTargets`, `RemoveTargets`, `ListTargetsByRule`, `TagResource`,
//!   `ListTagsForResource`; `s3:ListBucketVersions`, `s3:DeleteObject`,
//!   `s3:DeleteObjectVersion` on the artifact bucket.
//! - **Run locally**: `cargo lambda watch` in one shell, then
//!   `cargo lambda invoke installer --data-file events/installer-create.json`
//!   (also `installer-update.json`, `installer-delete.json`). The fixtures'
//!   ResponseURL points at 127.0.0.1; serve it with any listener that
//!   accepts a PUT to see the answer.
//!
//! Layers: [`domain`] (pure: names, specs, tags, trust policies, the
//! response), [`aws`] (one adapter per service), [`lifecycle`] (Create,
//! Update, Delete), [`handler`] (the path that always answers) and
//! [`respond`] (the response PUT).

pub mod aws;
pub mod domain;
pub mod error;
pub mod handler;
pub mod lifecycle;
pub mod respond;

pub use aws::s3::{empty_bucket, Emptied};
pub use aws::Clients;
pub use error::Error;
pub use handler::{Installer, Settings, BUILDSPEC};
