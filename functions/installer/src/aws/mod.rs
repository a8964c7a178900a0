//! The AWS adapter layer: one small module per service, each turning domain
//! descriptions into SDK calls and SDK errors into [`crate::Error`].

pub mod codebuild;
pub mod codepipeline;
pub mod eventbridge;
pub mod iam;
pub mod propagation;
pub mod s3;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// The SDK clients the installer uses, built once per cold start.
#[derive(Debug, Clone)]
pub struct Clients {
    pub codebuild: aws_sdk_codebuild::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Clients for one configuration. `force_path_style` is for custom S3
    /// endpoints only: against AWS, buckets are addressed virtual-hosted style
    /// (the SDK default).
    pub fn new(config: &SdkConfig, force_path_style: bool) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(force_path_style)
            .build();
        Self {
            codebuild: aws_sdk_codebuild::Client::new(config),
            codepipeline: aws_sdk_codepipeline::Client::new(config),
            eventbridge: aws_sdk_eventbridge::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
        }
    }
}

/// Loads the SDK configuration from the environment, with timeouts so that
/// no single call can use up the invocation: throttling and transient errors
/// are retried by the SDK's standard retry configuration.
pub async fn load_sdk_config() -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// True when S3 is pointed at a custom endpoint (`AWS_ENDPOINT_URL` or
/// `AWS_ENDPOINT_URL_S3` set and not empty), i.e. not at AWS.
pub fn custom_s3_endpoint(var: impl Fn(&str) -> Option<String>) -> bool {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|name| var(name).is_some_and(|value| !value.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_style_only_with_a_custom_endpoint() {
        assert!(!custom_s3_endpoint(|_| None));
        assert!(!custom_s3_endpoint(|_| Some(" ".into())));
        assert!(custom_s3_endpoint(
            |name| (name == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:4566".into())
        ));
        assert!(custom_s3_endpoint(
            |name| (name == "AWS_ENDPOINT_URL_S3").then(|| "http://127.0.0.1:4566".into())
        ));
    }
}
