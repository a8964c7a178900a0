//! Lambda entry point; see the library documentation.

use lambda_runtime::{run, service_fn, Error};
use webhook::{Config, Webhook};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let webhook = Webhook::from_sdk_config(config, &sdk);
    let webhook = &webhook;
    run(service_fn(move |event| webhook.handle_event(event))).await
}
