//! The starter's one error type. Every error makes the invocation fail, so
//! Lambda retries the event and, after the retries, puts it in the dead-letter
//! queue; a push that can never start is a [`crate::domain::push::Refusal`],
//! answered without an error instead.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A boxed error from an AWS SDK call, kept as the source of [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An environment variable of the function is missing or unusable.
    #[error("the function's environment variable {name} is invalid: {reason}")]
    InvalidEnvironment { name: &'static str, reason: String },

    /// An AWS call failed (after the SDK's own retries). `refused`: AWS
    /// answered with an error, so the call did nothing; otherwise (a
    /// timeout, a broken connection) it may have taken effect.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
        refused: bool,
        #[source]
        source: BoxError,
    },

    /// A request could not be built (a required field was empty).
    #[error("could not build the {what} of the request: {source}")]
    Request {
        what: &'static str,
        #[source]
        source: aws_sdk_codepipeline::error::BuildError,
    },

    /// An answer lacked a field AWS documents as always present.
    #[error("{operation} answered without {missing}")]
    Unexpected {
        operation: &'static str,
        missing: &'static str,
    },

    /// Another attempt holds the start lease: retried later.
    #[error("the push of {commit} waits for another attempt's start (its lease holds until {lease_until}); retry later")]
    InFlight { commit: String, lease_until: i64 },

    /// The head kept changing under this attempt: retried later.
    #[error("the push of {commit} could not be settled: the head kept changing; retry later")]
    Unsettled { commit: String },

    /// The head record could not be written as JSON.
    #[error("could not encode the head record: {0}")]
    Encode(#[source] serde_json::Error),

    /// A record in the deliveries table is not one the starter wrote.
    #[error("the deliveries table holds a malformed record {key}: {reason}")]
    MalformedRecord { key: String, reason: &'static str },
}

impl Error {
    /// Wraps an SDK error, keeping its code and message.
    pub(crate) fn aws<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let code = error.code().unwrap_or("-").to_owned();
        let refused = matches!(error, SdkError::ServiceError(_));
        let message = match error.message() {
            Some(message) => message.to_owned(),
            None => DisplayErrorContext(&error).to_string(),
        };
        Self::Aws {
            operation,
            code,
            message,
            refused,
            source: Box::new(error),
        }
    }

    pub(crate) fn aws_build(
        what: &'static str,
        source: aws_sdk_codepipeline::error::BuildError,
    ) -> Self {
        Self::Request { what, source }
    }

    /// Whether AWS answered the call with an error (so it did nothing).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Aws { refused: true, .. })
    }

    /// The AWS error code, for an AWS error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        Self {
            error_type: "StarterError".into(),
            error_message: error.to_string(),
        }
    }
}
