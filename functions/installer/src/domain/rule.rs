//! The EventBridge rule that starts the pipeline on a push, and its target.

use serde_json::{json, Value};

use super::properties::Properties;
use super::tags::Tag;

/// Source and detail-type of the events the webhook puts on the bus.
pub const EVENT_SOURCE: &str = "github.com";
pub const PUSH_DETAIL_TYPE: &str = "push";
/// The id of the rule's one target, the starter.
pub const TARGET_ID: &str = "starter";
/// The id of the pipeline target of stacks installed before the starter.
pub const LEGACY_TARGET_ID: &str = "codepipeline";
/// What `after` is when a push deletes its ref.
pub const ZERO_COMMIT: &str = "0000000000000000000000000000000000000000";
/// The target's retry policy: EventBridge retries a failure to invoke the
/// starter (throttling, the function unavailable) for up to an hour and at
/// most this many times, then puts the event in the dead-letter queue. An
/// error *inside* the starter is retried by Lambda's asynchronous invocation
/// instead (the template's EventInvokeConfig), into the same queue.
pub const TARGET_MAX_RETRIES: i32 = 30;
pub const TARGET_MAX_EVENT_AGE_SECONDS: i32 = 3600;

/// Everything PutRule is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub name: String,
    pub event_bus_name: String,
    /// The event pattern, as the JSON text PutRule takes.
    pub event_pattern: String,
    pub description: String,
    pub tags: Vec<Tag>,
}

/// The rule's one target: the starter function (EventBridge invokes it
/// through the function's resource policy, which the template grants; no
/// role), with its retry policy and dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub id: &'static str,
    pub arn: String,
    pub dead_letter_queue_arn: String,
    pub max_retries: i32,
    pub max_event_age_seconds: i32,
}

/// Matches the webhook's push events that create or move one branch of one
/// repository:
///
/// - `detail.repository.full_name` is `<owner>/<repo>` in any letter case
///   (`equals-ignore-case`): GitHub names are case-insensitive, and its
///   payloads spell them as the repository was created, not as the stack
///   parameters do;
/// - `detail.ref` is exactly `refs/heads/<branch>` (branch names are
///   case-sensitive in git; tags and other branches do not match);
/// - not a deletion: `deleted` is false and `after` is not all zeros (a
///   deleted branch has no commit to build).
///
/// Every field matched here survives the webhook's trimming of large payloads.
pub fn event_pattern(full_repository_name: &str, branch: &str) -> Value {
    json!({
        "source": [EVENT_SOURCE],
        "detail-type": [PUSH_DETAIL_TYPE],
        "detail": {
            "ref": [format!("refs/heads/{branch}")],
            "deleted": [false],
            "after": [{"anything-but": [ZERO_COMMIT]}],
            "repository": {
                "full_name": [{"equals-ignore-case": full_repository_name}]
            }
        }
    })
}

pub fn rule_spec(properties: &Properties, tags: Vec<Tag>) -> RuleSpec {
    let full_name = properties.full_repository_name();
    RuleSpec {
        name: properties.names.rule.clone(),
        event_bus_name: properties.event_bus_name.clone(),
        event_pattern: event_pattern(&full_name, &properties.github_branch).to_string(),
        description: format!(
            "Starts {} on a push to {} of {}",
            properties.names.pipeline, properties.github_branch, full_name
        ),
        tags,
    }
}

pub fn target_spec(properties: &Properties) -> TargetSpec {
    TargetSpec {
        id: TARGET_ID,
        arn: properties.starter_function_arn.clone(),
        dead_letter_queue_arn: properties.dead_letter_queue_arn.clone(),
        max_retries: TARGET_MAX_RETRIES,
        max_event_age_seconds: TARGET_MAX_EVENT_AGE_SECONDS,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::properties::tests::sample;

    #[test]
    fn the_pattern_matches_pushes_to_one_branch_of_one_repository() {
        let properties = Properties::parse(&sample()).unwrap();
        let spec = rule_spec(&properties, vec![Tag::new("Team", "devops")]);
        let pattern: Value = serde_json::from_str(&spec.event_pattern).unwrap();
        assert_eq!(
            pattern,
            json!({
                "source": ["github.com"],
                "detail-type": ["push"],
                "detail": {
                    "ref": ["refs/heads/main"],
                    "deleted": [false],
                    "after": [{"anything-but": ["0000000000000000000000000000000000000000"]}],
                    "repository": {"full_name": [{"equals-ignore-case": "octo-org/hello-service"}]}
                }
            })
        );
        assert_eq!(spec.name, "github-push-prod");
        assert_eq!(spec.event_bus_name, "github-events-prod");
        assert_eq!(spec.tags, vec![Tag::new("Team", "devops")]);
    }

    #[test]
    fn the_target_is_the_starter_with_retries_and_a_dead_letter_queue() {
        let properties = Properties::parse(&sample()).unwrap();
        assert_eq!(
            target_spec(&properties),
            TargetSpec {
                id: "starter",
                arn: "arn:aws:lambda:ap-southeast-1:123456789012:function:starter-prod".to_owned(),
                dead_letter_queue_arn:
                    "arn:aws:sqs:ap-southeast-1:123456789012:push-dead-letters-prod".to_owned(),
                max_retries: 30,
                max_event_age_seconds: 3600,
            }
        );
    }
}
