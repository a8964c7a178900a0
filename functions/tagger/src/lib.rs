//! The Deploy stage's tagger: moves the `production` tag onto exactly the
//! image the Build stage pushed in this pipeline execution, without pulling
//! or rebuilding it, and always tells CodePipeline how it went.
//!
//! # Trigger
//!
//! A CodePipeline Lambda invoke action. UserParameters:
//! `{"repository":"images-S","digest":"#{BuildVariables.IMAGE_DIGEST}","tag":"production"}`.
//! An absent or empty `digest` falls back to the most recently pushed tagged
//! image (the build cache's `buildcache` tag excluded), which the log and the
//! job result say; an absent `tag` means `production`.
//!
//! The image is read with BatchGetImage by digest (Docker v2 and OCI
//! manifests, manifest lists and OCI indexes alike) and tagged with PutImage
//! of the manifest exactly as returned, with its media type and digest.
//! "Already tagged" (ImageAlreadyExistsException) is success. Before the tag
//! moves, the image that held it gets `<tag>-previous` (`production-previous`).
//!
//! Every invocation of a job sends exactly one result: PutJobSuccessResult
//! with the output variables `PROMOTED_DIGEST` and `PREVIOUS_DIGEST` (`none`
//! when nothing holds the rollback tag), PutJobSuccessResult with a
//! continuation token while the image scan runs, or PutJobFailureResult with
//! a type (ConfigurationError, PermissionError, JobFailed) and a message that
//! says what to fix. That holds for malformed events and parameters, AWS
//! errors, panics (the work runs in its own task) and the deadline guard
//! (the work is raced against the Lambda deadline minus
//! [`handler::DEADLINE_MARGIN`]). The result calls use the SDK's standard
//! retry mode (throttling included). An event that carries no job id cannot
//! be answered — no result call can name it — so it is logged and the
//! invocation returns an error; CodePipeline never sends one. The event and
//! its `artifactCredentials` are never logged.
//!
//! # Scan gate
//!
//! With scan on push, the tagger reads the image's scan result (each platform
//! of a multi-platform image) and refuses promotion when a finding of the
//! SCAN_GATE severity or worse exists, listing the counts. While the scan is
//! pending it checks again every SCAN_POLL_SECONDS while the invocation has
//! time for another check and the rest of the work, then reports "in
//! progress" through CodePipeline's continuation token and is invoked again;
//! the token carries the digest, the number of checks and the time of the
//! first one. The wait is bounded by time only (how soon CodePipeline
//! invokes again after a token is not documented, so a count would bound
//! nothing): it ends in a failure SCAN_WAIT_MAX_SECONDS after the first
//! check. An
//! image the scanner does not support (UNSUPPORTED_IMAGE, or a basic scan
//! FAILED with UnsupportedImageError) is promoted with a warning in the result.
//!
//! # Production record, rollback and hold
//!
//! With DELIVERIES_TABLE, a promotion is a conditional write on the
//! `production` item (a newer push only, and no hold), and each promoted
//! image gets a `promotion#<digest>` item naming its commit, pipeline
//! execution (`#{codepipeline.PipelineExecutionId}` in UserParameters) and
//! time. Operators send three requests (`scripts/production.sh` wraps them):
//!
//! - `{"status":{}}`: what `production` and `production-previous` hold, with
//!   their records, and the hold;
//! - `{"rollback":{"to":"<digest or tag>","expect":"<digest>"}}`: moves
//!   `production` with a compare-and-swap on the record, idempotently, and
//!   sets a hold: later builds succeed "built, not promoted";
//! - `{"release":{}}`: ends the hold.
//!
//! Each may name `repository` (default REPOSITORY_NAME) and `tag`. See
//! `docs/rollback.md` at the repository root.
//!
//! # Notifications
//!
//! With NOTIFICATION_TOPIC, a promotion refused by the scan gate and a build
//! held after a rollback are published on that SNS topic after the job
//! result is sent (best effort), and each promotion too with
//! NOTIFY_ON_PROMOTION=true.
//!
//! # Environment
//!
//! - `SCAN_GATE`: `CRITICAL` (default), `HIGH`, `MEDIUM`, `LOW` (that
//!   severity or worse blocks) or `OFF`.
//! - `SCAN_WAIT_MAX_SECONDS` (default 1800; the stack's `ScanWaitSeconds`):
//!   the bound on waiting for a scan.
//! - `SCAN_POLL_SECONDS` (default 15): the pause between two checks of a
//!   pending scan within one invocation.
//! - `DELIVERIES_TABLE`, `REPOSITORY_NAME`, `NOTIFICATION_TOPIC`,
//!   `NOTIFY_ON_PROMOTION`: see above; each is optional.
//! - The usual `AWS_REGION`, `AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`.
//!
//! An invalid value does not stop the function: each job is answered with a
//! ConfigurationError naming the variable.
//!
//! # IAM actions
//!
//! `ecr:BatchGetImage`, `ecr:PutImage`, `ecr:DescribeImages`,
//! `ecr:DescribeImageScanFindings` on the repository;
//! `codepipeline:PutJobSuccessResult`, `codepipeline:PutJobFailureResult`
//! (resource `*`: these actions take no resource); `dynamodb:GetItem`,
//! `dynamodb:UpdateItem` on the deliveries table; `sns:Publish` on the topic.
//!
//! # Invoke locally
//!
//! ```text
//! cargo lambda watch                       # in functions/tagger
//! cargo lambda invoke tagger --data-file ../../events/tagger-job.json
//! ```
//!
//! Against the local cloud, run it under `scripts/sandbox.sh run`, which
//! points ECR at MiniStack and CodePipeline at moto.

pub mod aws;
pub mod config;
pub mod converge;
pub mod domain;
pub mod error;
pub mod handler;
pub mod operator;

pub use config::Config;
pub use error::Error;
pub use handler::{function_handler, handle_event, Deps};
