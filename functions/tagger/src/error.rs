//! The tagger's one error type, and how each error is reported to CodePipeline.

use crate::domain::outcome::FailureKind;

/// A boxed error from an AWS SDK call, kept as the source of [`Error`].
pub type SdkSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can stop a promotion. The `Display` text is what a person
/// reads in the CodePipeline console, so each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An environment variable of the function has a value it cannot use.
    #[error("the function's environment variable {name} is invalid: {reason}")]
    InvalidEnvironment { name: &'static str, reason: String },

    /// The event is neither a CodePipeline job event nor an operator's request.
    #[error("the event is neither a CodePipeline job event (\"CodePipeline.job\") nor an operator's request: {examples}", examples = crate::domain::params::REQUEST_EXAMPLES)]
    UnknownEvent,

    /// An operator's request is not one of the expected JSON objects.
    #[error("the request is not valid: {source}; expected {examples}", examples = crate::domain::params::REQUEST_EXAMPLES)]
    MalformedRequest {
        #[source]
        source: serde_json::Error,
    },

    /// A rollback's compare-and-swap found another image than it expected.
    #[error("{tag} moved under the rollback: expected {expected}, found {found}; nothing changed. Check with `scripts/production.sh --stack <stack> status` and run the rollback again")]
    ProductionMoved {
        tag: String,
        expected: String,
        found: String,
    },

    /// A release was asked for without a production record to hold.
    #[error("the function has no production record (DELIVERIES_TABLE is not set), so there is no hold to release")]
    NoProductionRecord,

    /// The CodePipeline job event has no job id: no result can be sent for it.
    #[error("the CodePipeline job event has no job id, so no job result can be sent")]
    NoJobId,

    /// The job event has a job id but not the shape of a CodePipeline job event.
    #[error("the CodePipeline job event is malformed: {0}")]
    MalformedEvent(#[source] serde_json::Error),

    /// The action configuration has no UserParameters.
    #[error("the action has no UserParameters; set them to {example}", example = crate::domain::params::EXAMPLE)]
    MissingParameters,

    /// UserParameters (or a rollback request) is not the expected JSON object.
    #[error("the parameters are not valid: {source}; expected JSON like {example}", example = crate::domain::params::EXAMPLE)]
    MalformedParameters {
        #[source]
        source: serde_json::Error,
    },

    /// One parameter has a value that cannot name an ECR repository, digest or tag.
    #[error("the parameter {name} is not valid: {reason}")]
    InvalidParameter { name: &'static str, reason: String },

    /// The continuation token from CodePipeline is not one this function wrote.
    #[error("the continuation token of this job is not one the tagger wrote: {0}")]
    MalformedContinuationToken(#[source] serde_json::Error),

    /// The ECR repository does not exist.
    #[error("the ECR repository {repository} does not exist (check the repository in UserParameters and the region)")]
    RepositoryNotFound { repository: String },

    /// The image to promote is not in the repository.
    #[error("no image {reference} in the ECR repository {repository} (was it pushed by this pipeline execution, or expired by the lifecycle policy?)")]
    ImageNotFound {
        repository: String,
        reference: String,
    },

    /// ECR could not return an image, for a reason other than absence.
    #[error("ECR could not return {reference} from {repository}: {code}: {reason}")]
    ImageUnavailable {
        repository: String,
        reference: String,
        code: String,
        reason: String,
    },

    /// No digest was given and the repository holds no candidate image.
    #[error("no digest was given and the ECR repository {repository} holds no tagged image to fall back on")]
    NoImages { repository: String },

    /// A rollback was asked for but there is nothing to roll back to.
    #[error("nothing to roll back to: the ECR repository {repository} has no image tagged {tag}")]
    NothingToRollBack { repository: String, tag: String },

    /// A rollback names an image that was never promoted.
    #[error("{repository}@{digest} was never promoted: a rollback goes back only to an image that was promoted before (add --force to roll back to it anyway)")]
    NeverPromoted { repository: String, digest: String },

    /// The production record kept changing under this invocation.
    #[error("the production record of {tag} kept changing under this promotion; retry the stage")]
    RecordContended { tag: String },

    /// The repository's tags are immutable, so a tag cannot move.
    #[error("the ECR repository {repository} has immutable tags, so the tag {tag} cannot be moved; make the repository's tags mutable (or exclude {tag} from immutability)")]
    TagImmutable { repository: String, tag: String },

    /// The function's role may not perform an action.
    #[error("access denied for {service} {operation}: {message} (grant the function's role {service_prefix}:{operation})", service_prefix = service.to_lowercase())]
    AccessDenied {
        service: &'static str,
        operation: &'static str,
        message: String,
    },

    /// Any other failed AWS call.
    #[error("{service} {operation} failed: {detail}")]
    Aws {
        service: &'static str,
        operation: &'static str,
        detail: String,
        #[source]
        source: SdkSource,
    },

    /// CodePipeline says the job is no longer in progress: it was answered
    /// already (by this invocation's earlier attempt, or an earlier invocation
    /// that Lambda's asynchronous retry repeats).
    #[error("the job was already answered: {message}")]
    JobAlreadyAnswered { message: String },

    /// The image scan gate refused the image.
    #[error("{0}")]
    ScanRefused(String),

    /// The image scan did not give a usable result.
    #[error("{0}")]
    ScanUnusable(String),

    /// The scan result did not arrive within the configured bound.
    #[error("{0}")]
    ScanWaitExceeded(String),

    /// The work did not finish before the Lambda deadline (minus a margin).
    #[error("the tagger ran out of time before the Lambda deadline and stopped; the tags may be unchanged or partly moved (production-previous first): retry the stage, and check ECR's latency")]
    DeadlineExceeded,

    /// The work panicked: a defect in the tagger.
    #[error(
        "the tagger failed unexpectedly ({0}); retry the stage, and report this if it repeats"
    )]
    Panicked(String),
}

impl Error {
    /// The CodePipeline failure type that fits this error.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Error::InvalidEnvironment { .. }
            | Error::UnknownEvent
            | Error::NoJobId
            | Error::MalformedEvent(_)
            | Error::MissingParameters
            | Error::MalformedParameters { .. }
            | Error::MalformedRequest { .. }
            | Error::NoProductionRecord
            | Error::InvalidParameter { .. }
            | Error::RepositoryNotFound { .. }
            | Error::TagImmutable { .. } => FailureKind::ConfigurationError,
            Error::AccessDenied { .. } => FailureKind::PermissionError,
            Error::MalformedContinuationToken(_)
            | Error::ImageNotFound { .. }
            | Error::ImageUnavailable { .. }
            | Error::NoImages { .. }
            | Error::NothingToRollBack { .. }
            | Error::NeverPromoted { .. }
            | Error::RecordContended { .. }
            | Error::ProductionMoved { .. }
            | Error::Aws { .. }
            | Error::JobAlreadyAnswered { .. }
            | Error::ScanRefused(_)
            | Error::ScanUnusable(_)
            | Error::ScanWaitExceeded(_)
            | Error::DeadlineExceeded
            | Error::Panicked(_) => FailureKind::JobFailed,
        }
    }
}
