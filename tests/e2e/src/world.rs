//! The clients of the local cloud and what the deployed stack says about itself.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};

/// One client per service, built once from the environment the sandbox exported.
pub struct World {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub codebuild: aws_sdk_codebuild::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub http: reqwest::Client,
    /// The region the clients use.
    pub region: String,
    /// MiniStack's endpoint (function URLs are served below it).
    pub endpoint: String,
}

/// The deployed stack: its outputs and parameters.
#[derive(Debug)]
pub struct Stack {
    pub outputs: HashMap<String, String>,
    pub parameters: HashMap<String, String>,
}

impl Stack {
    pub fn output(&self, key: &str) -> Result<&str> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("the stack has no output {key}"))
    }

    pub fn parameter(&self, key: &str) -> Result<&str> {
        self.parameters
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("the stack has no parameter {key}"))
    }

    pub fn suffix(&self) -> Result<&str> {
        self.parameter("EnvironmentSuffix")
    }
}

impl World {
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self {
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            codebuild: aws_sdk_codebuild::Client::new(&config),
            codepipeline: aws_sdk_codepipeline::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            s3: aws_sdk_s3::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            http: reqwest::Client::new(),
            region: config
                .region()
                .map_or_else(|| "ap-southeast-1".to_owned(), ToString::to_string),
            endpoint: std::env::var("AWS_ENDPOINT_URL").unwrap_or_default(),
        }
    }

    pub async fn ensure_bucket(&self, bucket: &str) -> Result<()> {
        if self.s3.head_bucket().bucket(bucket).send().await.is_ok() {
            return Ok(());
        }
        self.s3
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::ApSoutheast1)
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("creating the deployment bucket {bucket}"))?;
        println!("ok   deployment bucket {bucket} ready");
        Ok(())
    }

    /// The webhook's signing secret, as the stack generated it.
    pub async fn webhook_secret(&self, stack: &Stack) -> Result<String> {
        let name = format!("webhook-secret-{}", stack.suffix()?);
        self.secrets
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .with_context(|| format!("reading the webhook secret {name}"))?
            .secret_string()
            .map(str::to_owned)
            .context("the webhook secret has no string")
    }

    pub async fn stack(&self, name: &str) -> Result<Stack> {
        let described = self
            .cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .with_context(|| format!("describing stack {name}"))?;
        let Some(stack) = described.stacks().first() else {
            bail!("stack {name} does not exist");
        };
        let outputs = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();
        let parameters = stack
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value()?.to_owned(),
                ))
            })
            .collect();
        Ok(Stack {
            outputs,
            parameters,
        })
    }
}
