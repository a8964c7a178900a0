use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A bad environment fails every invocation: the events wait in the retries
    // and the dead-letter queue until the configuration is fixed.
    let config = starter::Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let deps = starter::Deps::from_sdk_config(&sdk, config);
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        starter::function_handler(deps, event).await
    }))
    .await
}
