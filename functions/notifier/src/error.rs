//! The notifier's one error type. An error fails the invocation, so Lambda's
//! asynchronous retries try the event again; a commit that cannot be looked
//! up is not an error (the message says so instead).

use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

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
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        Self {
            error_type: "NotifierError".into(),
            error_message: error.to_string(),
        }
    }
}
