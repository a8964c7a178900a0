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

    /// An AWS call failed (after the SDK's own retries).
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
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

    /// Another attempt holds this delivery's claim: retried later.
    #[error("delivery {delivery_id} is being started by another attempt (its claim holds until {lease_until}); retry later")]
    InFlight {
        delivery_id: String,
        lease_until: i64,
    },

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

    pub(crate) fn aws_build(
        what: &'static str,
        source: aws_sdk_codepipeline::error::BuildError,
    ) -> Self {
        Self::Request { what, source }
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
