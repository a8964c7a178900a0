//! The installer Lambda: see the library's documentation.

use installer::aws::{custom_s3_endpoint, load_sdk_config};
use installer::{Clients, Installer, Settings};
use lambda_runtime::{run, service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = load_sdk_config().await;
    let force_path_style = custom_s3_endpoint(|name| std::env::var(name).ok());
    let installer = Installer::new(Clients::new(&config, force_path_style), Settings::default())?;
    let installer = &installer;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        installer.lambda(event).await
    }))
    .await
}
