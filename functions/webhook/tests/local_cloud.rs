//! In the local cloud: a signed push delivered as a function URL request
//! reaches the bus and matches a rule with the installer's pattern; a forged
//! one does not reach it.
//!
//! The rule's observer target is an SQS queue (MiniStack delivers EventBridge
//! targets to SQS, Lambda, SNS and other buses; it cannot deliver to
//! CodePipeline, the real target). The match is also checked with
//! TestEventPattern on the event exactly as delivered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::{Tag, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use common::{push_payload, signed, status};
use sandbox::Sandbox;
use serde_json::{json, Value};
use webhook::config::AllowedEvents;
use webhook::{Config, Webhook};

const SUFFIX: &str = "whit";
const SECRET: &str = "local-cloud-webhook-secret";

fn installer_pattern() -> String {
    json!({
        "source": ["github.com"],
        "detail-type": ["push"],
        "detail": {
            "ref": ["refs/heads/main"],
            "repository": {"full_name": ["owner/repo"]}
        }
    })
    .to_string()
}

/// Messages that arrive on `queue_url` within `wait`.
async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str, wait: Duration) -> Vec<Value> {
    let deadline = Instant::now() + wait;
    let mut bodies = Vec::new();
    while Instant::now() < deadline {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            bodies.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    bodies
}

#[tokio::test]
async fn signed_push_reaches_the_bus_and_matches_the_rule_forged_does_not() {
    let sandbox = Sandbox::start_or_fail();
    let sdk = sandbox.sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    let secret_arn = secrets
        .create_secret()
        .name(format!("webhook-secret-{SUFFIX}"))
        .secret_string(SECRET)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let bus = format!("github-events-{SUFFIX}");
    events
        .create_event_bus()
        .name(&bus)
        .tags(
            Tag::builder()
                .key("Environment")
                .value("production")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let rule = format!("github-push-{SUFFIX}");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(installer_pattern())
        .send()
        .await
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("observer-{SUFFIX}"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let put_targets = events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("observer")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put_targets.failed_entry_count(), 0);

    let config = Config {
        event_bus_name: bus.clone(),
        secret_arn,
        allowed_events: AllowedEvents::default(),
    };
    let webhook = Webhook::from_sdk_config(config, &sdk);
    let body = serde_json::to_vec(&push_payload("main")).unwrap();

    // Forged: signed with another secret. Refused, and nothing arrives.
    let forged = webhook
        .handle(&signed("push", &body, "guessed-secret"))
        .await;
    assert_eq!(status(&forged), 401);
    assert!(drain(&sqs, &queue_url, Duration::from_secs(2))
        .await
        .is_empty());

    // Genuine: forwarded, delivered to the rule's target once.
    let genuine = webhook.handle(&signed("push", &body, SECRET)).await;
    assert_eq!(status(&genuine), 200, "{:?}", genuine.body);
    let delivered = drain(&sqs, &queue_url, Duration::from_secs(3)).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let event = &delivered[0];
    assert_eq!(event["source"], "github.com");
    assert_eq!(event["detail-type"], "push");
    assert_eq!(event["detail"]["ref"], "refs/heads/main");
    assert_eq!(event["detail"]["repository"]["full_name"], "owner/repo");
    assert_eq!(event["detail"]["delivery_id"], common::DELIVERY);

    // The event as delivered matches the installer's pattern; the same event
    // on another branch does not (so the check can fail).
    let matches = |event: &Value| {
        let events = events.clone();
        let event = event.to_string();
        async move {
            events
                .test_event_pattern()
                .event_pattern(installer_pattern())
                .event(event)
                .send()
                .await
                .unwrap()
                .result()
        }
    };
    assert!(matches(event).await);
    let mut other_branch = event.clone();
    other_branch["detail"]["ref"] = json!("refs/heads/feature");
    assert!(!matches(&other_branch).await);

    // A push to another branch is forwarded but does not match the rule.
    let feature = serde_json::to_vec(&push_payload("feature")).unwrap();
    assert_eq!(
        status(&webhook.handle(&signed("push", &feature, SECRET)).await),
        200
    );
    assert!(drain(&sqs, &queue_url, Duration::from_secs(2))
        .await
        .is_empty());
}
