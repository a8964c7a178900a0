use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = tagger::Config::from_env();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut deps = tagger::Deps::from_sdk_config(&sdk, config);
    if let Some(table) = std::env::var("DELIVERIES_TABLE")
        .ok()
        .filter(|t| !t.is_empty())
    {
        deps = deps.with_order_guard(aws_sdk_dynamodb::Client::new(&sdk), table);
    }
    if let Some(repository) = std::env::var("REPOSITORY_NAME")
        .ok()
        .filter(|r| !r.is_empty())
    {
        deps = deps.with_repository(repository);
    }
    if let Some(topic) = std::env::var("NOTIFICATION_TOPIC")
        .ok()
        .filter(|t| !t.is_empty())
    {
        let on_promotion = std::env::var("NOTIFY_ON_PROMOTION").is_ok_and(|v| v == "true");
        deps = deps.with_notifier(aws_sdk_sns::Client::new(&sdk), topic, on_promotion);
    }
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        tagger::function_handler(deps, event).await
    }))
    .await
}
