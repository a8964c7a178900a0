//! The crate's one error type, and how each error is answered over HTTP.

use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

/// Everything that can stop a delivery from being forwarded, plus
/// configuration errors found at start-up.
///
/// Client errors (4xx) carry a message that is safe to show the caller;
/// server errors (5xx) answer with a generic message and keep their detail
/// (and source) for the log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("environment variable {variable}: {reason}")]
    Config {
        variable: &'static str,
        reason: &'static str,
    },

    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("request body is not valid base64")]
    InvalidBase64(#[source] base64::DecodeError),
    #[error("header {name} is repeated or not visible ASCII")]
    InvalidHeader { name: &'static str },

    #[error("no X-Hub-Signature-256 header")]
    SignatureMissing,
    #[error("X-Hub-Signature-256 is not `sha256=` followed by 64 lowercase hex digits")]
    SignatureMalformed,
    #[error("X-Hub-Signature-256 does not match the body")]
    SignatureMismatch,

    #[error("no X-GitHub-Event header")]
    MissingEventName,
    #[error("X-GitHub-Delivery is missing or not a delivery id")]
    InvalidDeliveryId,
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("payload is not valid JSON")]
    MalformedJson(#[source] serde_json::Error),
    #[error("payload is not a JSON object")]
    PayloadNotObject,
    #[error("form body must carry exactly one `payload` field")]
    MissingFormPayload,
    #[error("event of {size} bytes is over the EventBridge entry limit even when trimmed")]
    EventTooLarge { size: usize },
    #[error("could not serialise the event detail")]
    SerializeDetail(#[source] serde_json::Error),

    #[error("could not read the webhook secret")]
    SecretFetch(#[source] Box<aws_sdk_secretsmanager::error::SdkError<GetSecretValueError>>),
    #[error("the webhook secret has no value")]
    SecretEmpty,
    #[error("the webhook secret could not be read recently; not asking again yet")]
    SecretBackoff,

    #[error("PutEvents failed")]
    PutEvents(#[source] Box<aws_sdk_eventbridge::error::SdkError<PutEventsError>>),
    #[error("EventBridge rejected the entry: {code}: {message}")]
    EntryRejected { code: String, message: String },
    #[error("EventBridge kept failing the entry with a retryable error: {code}: {message}")]
    EntryRetriesExhausted { code: String, message: String },
    #[error("PutEvents did not finish within {millis} ms")]
    PublishDeadline { millis: u128 },
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::BodyTooLarge { .. } | Self::EventTooLarge { .. } => 413,
            Self::InvalidBase64(_)
            | Self::InvalidHeader { .. }
            | Self::MissingEventName
            | Self::InvalidDeliveryId
            | Self::MalformedJson(_)
            | Self::PayloadNotObject
            | Self::MissingFormPayload => 400,
            Self::SignatureMissing | Self::SignatureMalformed | Self::SignatureMismatch => 401,
            Self::UnsupportedMediaType => 415,
            Self::PutEvents(_) | Self::EntryRejected { .. } => 502,
            Self::SecretFetch(_)
            | Self::SecretEmpty
            | Self::SecretBackoff
            | Self::EntryRetriesExhausted { .. }
            | Self::PublishDeadline { .. } => 503,
            Self::Config { .. } | Self::SerializeDetail(_) => 500,
        }
    }

    /// Whether the error is the caller's (4xx) rather than ours or AWS's.
    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status())
    }

    /// The message shown to the caller. Every signature failure reads the
    /// same, so that a prober learns nothing about which check failed; 5xx
    /// answers never carry detail.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "only POST is accepted",
            Self::BodyTooLarge { .. } => "request body too large",
            Self::InvalidBase64(_) => "request body could not be decoded",
            Self::InvalidHeader { .. } => "a request header is repeated or malformed",
            Self::SignatureMissing | Self::SignatureMalformed | Self::SignatureMismatch => {
                "missing or invalid signature"
            }
            Self::MissingEventName => "missing X-GitHub-Event header",
            Self::InvalidDeliveryId => "missing or invalid X-GitHub-Delivery header",
            Self::UnsupportedMediaType => {
                "unsupported content type: use application/json or application/x-www-form-urlencoded"
            }
            Self::MalformedJson(_) => "payload is not valid JSON",
            Self::PayloadNotObject => "payload must be a JSON object",
            Self::MissingFormPayload => "form body must carry exactly one payload field",
            Self::EventTooLarge { .. } => "payload too large to forward",
            Self::PutEvents(_) | Self::EntryRejected { .. } => {
                "the event could not be forwarded; redeliver later"
            }
            Self::SecretFetch(_)
            | Self::SecretEmpty
            | Self::SecretBackoff
            | Self::EntryRetriesExhausted { .. }
            | Self::PublishDeadline { .. } => "temporarily unavailable; redeliver later",
            Self::Config { .. } | Self::SerializeDetail(_) => "internal error",
        }
    }
}
