//! # webhook
//!
//! Turns GitHub webhook deliveries into EventBridge events.
//!
//! **Trigger**: a Lambda function URL (auth type `NONE`, so it is public)
//! that GitHub posts deliveries to. The request is a
//! [`LambdaFunctionUrlRequest`](aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest).
//!
//! **What it does**, in order:
//! 1. only `POST`, body at most [`delivery::MAX_BODY_BYTES`] (else 405, 413);
//! 2. `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body under the
//!    webhook secret, compared in constant time, before anything of the body
//!    is read (else 401, nothing forwarded, no call to EventBridge);
//! 3. `ping` is answered 200; an event not in `ALLOWED_EVENTS` is answered
//!    202 and dropped;
//! 4. an allowed event (`application/json`, or form-encoded with a `payload`
//!    field, else 415; invalid JSON is 400) is put on the bus with source
//!    `github.com`, detail-type the event name, detail the payload plus
//!    `delivery_id` (from `X-GitHub-Delivery`), trimmed when it would not fit
//!    one EventBridge entry; answered 200;
//! 5. when EventBridge fails, 502 or 503 with a generic message, so that
//!    GitHub records a failed delivery that can be redelivered.
//!
//! Answers come well inside GitHub's 10-second window: SDK calls have
//! operation timeouts (see [`sdk_timeouts`]) and publishing has an overall
//! deadline ([`publisher::PUBLISH_DEADLINE`]).
//!
//! **Environment**:
//! - `EVENT_BUS_NAME`: the bus (name or ARN), e.g. `github-events-<suffix>`;
//! - `WEBHOOK_SECRET_ARN`: the Secrets Manager secret whose `SecretString` is
//!   the webhook secret; read once per cold start, re-read at most every
//!   [`secret_store::DEFAULT_REFETCH_INTERVAL`] when a signature fails;
//! - `ALLOWED_EVENTS`: comma-separated event names to forward (default `push`);
//! - `AWS_LAMBDA_LOG_FORMAT` / `AWS_LAMBDA_LOG_LEVEL`: logging.
//!
//! **IAM**: `secretsmanager:GetSecretValue` on the secret,
//! `events:PutEvents` on the bus.
//!
//! **Local invoke**: `events/webhook-push.json` is a signed function URL
//! request (the secret it is signed with is in `events/README.md`). With a
//! secret holding that value and a bus:
//!
//! ```text
//! EVENT_BUS_NAME=github-events-dev WEBHOOK_SECRET_ARN=<arn> cargo lambda watch
//! cargo lambda invoke webhook --data-file events/webhook-push.json
//! ```

pub mod config;
pub mod delivery;
pub mod error;
pub mod event;
pub mod handler;
pub mod publisher;
pub mod secret_store;
pub mod signature;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;

pub use config::Config;
pub use error::Error;
pub use handler::{Accepted, Webhook};
pub use publisher::EventPublisher;
pub use secret_store::SecretStore;
pub use signature::{sign, Signature, WebhookSecret};

/// Timeouts for every SDK call: a stalled connection fails fast instead of
/// running past GitHub's 10-second wait. With the SDK's standard retries,
/// one operation (all attempts) ends within 2.5 s.
pub fn sdk_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1_000))
        .read_timeout(Duration::from_millis(1_000))
        .operation_attempt_timeout(Duration::from_millis(1_200))
        .operation_timeout(Duration::from_millis(2_500))
        .build()
}

/// A Secrets Manager client from `sdk`, with [`sdk_timeouts`].
pub fn secrets_client(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(sdk_timeouts())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// An EventBridge client from `sdk`, with [`sdk_timeouts`].
pub fn events_client(sdk: &SdkConfig) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::config::Builder::from(sdk)
        .timeout_config(sdk_timeouts())
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

impl Webhook {
    /// The webhook as deployed: clients from `sdk`, with timeouts.
    pub fn from_sdk_config(config: Config, sdk: &SdkConfig) -> Self {
        let secrets = SecretStore::new(secrets_client(sdk), config.secret_arn.clone());
        let publisher = EventPublisher::new(events_client(sdk));
        Self::new(config, secrets, publisher)
    }
}
