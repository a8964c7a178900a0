//! The crate's one error type. Its `Display` is what CloudFormation is told
//! (as the FAILED reason), so every message is short and names the property,
//! role, resource or AWS operation concerned.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event is not a CloudFormation custom resource request.
    #[error("malformed request: {0}")]
    Request(#[source] serde_json::Error),

    /// A property is missing or malformed.
    #[error("property {name} {problem}")]
    Property { name: &'static str, problem: String },

    /// A role named by a property cannot be used as it is.
    #[error("role {role} ({property}) {problem}")]
    Role {
        property: &'static str,
        role: String,
        problem: String,
    },

    /// The role named by a property does not exist (IAM's GetRole answered
    /// NoSuchEntity). Right after the stack created it, that can be IAM's
    /// eventual consistency, so the preflight retries it for a while.
    #[error("role {role} ({property}) does not exist")]
    RoleNotFound {
        property: &'static str,
        role: String,
    },

    /// An Update renames some of the three resources but not all.
    #[error("the update renames some of the installed resources but keeps {kept}: rename all three (they all derive from EnvironmentSuffix) or none, because CloudFormation's clean-up of the old names would delete what the new installation still uses")]
    PartialRename { kept: String },

    /// A resource with one of our names exists and belongs to someone else.
    #[error("{kind} {name} already exists and is not managed by this stack ({owner}); choose another EnvironmentSuffix or remove it")]
    NotOurs {
        kind: &'static str,
        name: String,
        owner: String,
    },

    /// An AWS call failed.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
        #[source]
        source: BoxError,
    },

    /// A batch call (PutTargets, DeleteObjects) reported failed entries.
    #[error("{operation} failed for {failed} entries: {detail}")]
    PartialFailure {
        operation: &'static str,
        failed: usize,
        detail: String,
    },

    /// An AWS answer lacked something it always carries.
    #[error("{operation} answered without {missing}")]
    Unexpected {
        operation: &'static str,
        missing: &'static str,
    },

    /// The request type is none of Create, Update, Delete.
    #[error("unsupported request type")]
    UnsupportedRequestType,

    /// The event has no ResponseURL, so CloudFormation cannot be answered.
    #[error("the event has no ResponseURL: CloudFormation cannot be answered")]
    NoResponseUrl,

    /// A request could not be built (a required field was missing).
    #[error("could not build a request: {0}")]
    Build(#[from] aws_sdk_s3::error::BuildError),

    /// The work did not finish before the Lambda deadline.
    #[error("timed out before the function's deadline (see the function's logs for the step)")]
    Deadline,

    /// A bug: the work panicked.
    #[error("internal error: {0}")]
    Panic(String),

    /// The response could not be delivered to CloudFormation. The error
    /// never carries the ResponseURL.
    #[error("could not deliver the response to CloudFormation: {0}")]
    Respond(#[source] reqwest::Error),

    /// CloudFormation's response URL refused the response.
    #[error("CloudFormation's response URL answered HTTP {0}")]
    RespondStatus(u16),
}

impl Error {
    pub(crate) fn property(name: &'static str, problem: impl Into<String>) -> Self {
        Self::Property {
            name,
            problem: problem.into(),
        }
    }

    /// Wraps an SDK error, keeping its code and message for the reason.
    pub(crate) fn aws<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let code = error.code().unwrap_or("-").to_owned();
        let message = match error.message() {
            Some(message) => message.to_owned(),
            None => DisplayErrorContext(&error).to_string(),
        };
        Self::Aws {
            operation,
            code,
            message,
            source: Box::new(error),
        }
    }

    /// The AWS error code, for an AWS error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The AWS error message, for an AWS error.
    pub fn aws_message(&self) -> Option<&str> {
        match self {
            Self::Aws { message, .. } => Some(message),
            _ => None,
        }
    }

    /// True for an AWS error with one of these codes.
    pub fn has_code(&self, codes: &[&str]) -> bool {
        self.code().is_some_and(|code| codes.contains(&code))
    }

    /// True for an error a caller caused (bad properties or roles, a name
    /// taken by someone else): logged as a warning, not an error.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::Request(_)
                | Self::Property { .. }
                | Self::Role { .. }
                | Self::RoleNotFound { .. }
                | Self::PartialRename { .. }
                | Self::NotOurs { .. }
        )
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        Self {
            error_type: "InstallerError".into(),
            error_message: error.to_string(),
        }
    }
}
