//! Narrow adapters over the AWS SDK: one function per capability the
//! handler needs, returning domain values and the crate's [`Error`].

use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::Error;

pub mod codepipeline;
pub mod ecr;
pub mod notify;
pub mod order;

/// Turns an SDK error into the tagger's error: access denied and a missing
/// repository get their own variants, the rest keeps the service's code and
/// message (or, without a code, the whole error chain).
pub fn classify_error<E>(
    service: &'static str,
    operation: &'static str,
    repository: Option<&str>,
    error: SdkError<E>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error.code().unwrap_or_default().to_owned();
    let message = error.message().unwrap_or_default().to_owned();
    match code.as_str() {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => Error::AccessDenied {
            service,
            operation,
            message,
        },
        "InvalidJobStateException" => Error::JobAlreadyAnswered { message },
        "RepositoryNotFoundException" => Error::RepositoryNotFound {
            repository: repository.unwrap_or_default().to_owned(),
        },
        _ => {
            let detail = if code.is_empty() {
                DisplayErrorContext(&error).to_string()
            } else {
                format!("{code}: {message}")
            };
            Error::Aws {
                service,
                operation,
                detail,
                source: Box::new(error),
            }
        }
    }
}
