//! The sample event in `events/` stays valid: its signature matches the
//! secret stated in `events/README.md`, and the handler forwards it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_smithy_mocks::{mock_client, RuleMode};
use base64::Engine as _;
use common::{put_events_ok, secret_rule, status};
use webhook::config::AllowedEvents;
use webhook::{Config, EventPublisher, SecretStore, Signature, Webhook, WebhookSecret};

const FIXTURE: &str = include_str!("../../../events/webhook-push.json");
const README: &str = include_str!("../../../events/README.md");
const FIXTURE_SECRET: &str = "local-webhook-secret-do-not-use-in-production";

fn fixture() -> LambdaFunctionUrlRequest {
    serde_json::from_str(FIXTURE).unwrap()
}

#[test]
fn readme_states_the_fixture_secret() {
    assert!(README.contains(&format!("`{FIXTURE_SECRET}`")));
}

#[test]
fn fixture_signature_is_valid_for_the_stated_secret() {
    let request = fixture();
    assert!(request.is_base64_encoded);
    let body = base64::engine::general_purpose::STANDARD
        .decode(request.body.as_deref().unwrap())
        .unwrap();
    let header = request
        .headers
        .get("X-Hub-Signature-256")
        .unwrap()
        .to_str()
        .unwrap();
    let secret = WebhookSecret::new(FIXTURE_SECRET).unwrap();
    Signature::parse(Some(header))
        .unwrap()
        .verify(&secret, &body)
        .unwrap();
    let content_length: usize = request.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(content_length, body.len());
}

#[tokio::test]
async fn fixture_is_forwarded_as_a_push_the_installer_rule_matches() {
    let secret_rule = secret_rule(FIXTURE_SECRET);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let put_rule = put_events_ok(seen.clone());
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &[&secret_rule]);
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, &[&put_rule]);
    let config = Config {
        event_bus_name: "github-events-dev".into(),
        secret_arn: "webhook-secret-dev".into(),
        allowed_events: AllowedEvents::default(),
    };
    let store = SecretStore::new(secrets, config.secret_arn.clone());
    let webhook = Webhook::new(config, store, EventPublisher::new(events));
    let response = webhook.handle(&fixture()).await;
    assert_eq!(status(&response), 200, "{:?}", response.body);
    let inputs = seen.lock().unwrap();
    let entry = &inputs[0].entries()[0];
    assert_eq!(entry.source(), Some("github.com"));
    assert_eq!(entry.detail_type(), Some("push"));
    let detail: serde_json::Value = serde_json::from_str(entry.detail().unwrap()).unwrap();
    assert_eq!(detail["ref"], "refs/heads/main");
    assert_eq!(detail["repository"]["full_name"], "owner/repo");
    assert_eq!(
        detail["delivery_id"],
        "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    );
}
