use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Without a topic there is nowhere to say anything: every invocation
    // fails, and Lambda's retries keep the event until the function is fixed.
    let config = notifier::Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let deps = notifier::Deps::from_sdk_config(&sdk, config);
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        notifier::function_handler(deps, event).await
    }))
    .await
}
