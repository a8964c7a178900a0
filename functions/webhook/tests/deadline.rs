//! GitHub waits 10 seconds for an answer. Against endpoints that accept
//! connections and never reply, the handler still answers 5xx in time,
//! using the production client settings (`webhook::secrets_client`,
//! `webhook::events_client`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use aws_smithy_mocks::{mock_client, RuleMode};
use common::{secret_rule, signed, status, SECRET};
use webhook::config::AllowedEvents;
use webhook::{Config, EventPublisher, SecretStore, Webhook};

/// A loopback endpoint that accepts connections and never answers.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}")
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("ap-southeast-1"))
        .test_credentials()
        .load()
        .await
}

fn config() -> Config {
    Config {
        event_bus_name: "github-events-test".into(),
        secret_arn: "webhook-secret-test".into(),
        allowed_events: AllowedEvents::default(),
    }
}

fn push() -> Vec<u8> {
    serde_json::to_vec(&common::push_payload("main")).unwrap()
}

#[tokio::test]
async fn stalled_eventbridge_is_answered_5xx_within_the_publish_deadline() {
    let sdk = sdk_config(&black_hole().await).await;
    let secrets = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::MatchAny,
        &[&secret_rule(SECRET)]
    );
    let store = SecretStore::new(secrets, "webhook-secret-test");
    let webhook = Webhook::new(
        config(),
        store,
        EventPublisher::new(webhook::events_client(&sdk)),
    );
    let started = Instant::now();
    let response = webhook.handle(&signed("push", &push(), SECRET)).await;
    let elapsed = started.elapsed();
    eprintln!(
        "stalled EventBridge answered {} after {elapsed:?}",
        response.status_code
    );
    assert!(
        matches!(status(&response), 502 | 503),
        "{}",
        response.status_code
    );
    assert!(
        elapsed <= webhook::publisher::PUBLISH_DEADLINE + Duration::from_millis(500),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn stalled_secrets_manager_is_answered_503_quickly() {
    let sdk = sdk_config(&black_hole().await).await;
    let store = SecretStore::new(webhook::secrets_client(&sdk), "webhook-secret-test");
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, &[]);
    let webhook = Webhook::new(config(), store, EventPublisher::new(events));
    let started = Instant::now();
    let response = webhook.handle(&signed("push", &push(), SECRET)).await;
    let elapsed = started.elapsed();
    eprintln!(
        "stalled Secrets Manager answered {} after {elapsed:?}",
        response.status_code
    );
    assert_eq!(status(&response), 503);
    // The SDK operation timeout (2.5 s) bounds the read, retries included.
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}
