//! The EventBridge rule that starts the pipeline on a push, and its target.

use serde_json::{json, Value};

use super::properties::Properties;
use super::tags::Tag;

/// Source and detail-type of the events the webhook puts on the bus.
pub const EVENT_SOURCE: &str = "github.com";
pub const PUSH_DETAIL_TYPE: &str = "push";
/// The id of the rule's pipeline target.
pub const TARGET_ID: &str = "codepipeline";

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

/// The rule's one target: the pipeline, started with the EventBridge role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub id: &'static str,
    pub arn: String,
    pub role_arn: String,
}

/// Matches the webhook's push events for one branch of one repository:
/// `detail.ref` is `refs/heads/<branch>` and `detail.repository.full_name`
/// is `<owner>/<repo>` (both exact, as GitHub sends them).
pub fn event_pattern(full_repository_name: &str, branch: &str) -> Value {
    json!({
        "source": [EVENT_SOURCE],
        "detail-type": [PUSH_DETAIL_TYPE],
        "detail": {
            "ref": [format!("refs/heads/{branch}")],
            "repository": {
                "full_name": [full_repository_name]
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

pub fn target_spec(properties: &Properties, pipeline_arn: &str) -> TargetSpec {
    TargetSpec {
        id: TARGET_ID,
        arn: pipeline_arn.to_owned(),
        role_arn: properties.events_role_arn.clone(),
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
                    "repository": {"full_name": ["octo-org/hello-service"]}
                }
            })
        );
        assert_eq!(spec.name, "github-push-prod");
        assert_eq!(spec.event_bus_name, "github-events-prod");
        assert_eq!(spec.tags, vec![Tag::new("Team", "devops")]);
    }

    #[test]
    fn the_target_is_the_pipeline_with_the_events_role() {
        let properties = Properties::parse(&sample()).unwrap();
        let arn = "arn:aws:codepipeline:ap-southeast-1:123456789012:pipeline-prod";
        assert_eq!(
            target_spec(&properties, arn),
            TargetSpec {
                id: "codepipeline",
                arn: arn.to_owned(),
                role_arn: "arn:aws:iam::123456789012:role/events-role-prod".to_owned(),
            }
        );
    }
}
