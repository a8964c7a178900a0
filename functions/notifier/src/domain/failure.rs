//! A failed action as CodePipeline's EventBridge event describes it, and the
//! commit its pipeline execution was built from.
//!
//! The event ("CodePipeline Action Execution State Change") names the
//! pipeline, the execution (`execution-id`, the id GetPipelineExecution
//! takes), the stage and the action, not the commit:
//! <https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html>.
//! CodePipeline emits events at least once, so a failure may be announced twice.

use serde_json::Value;

/// The pipeline variables the starter sets on each execution
/// (`functions/starter`, domain/start.rs).
pub const COMMIT_VARIABLE: &str = "COMMIT_ID";
pub const SEQUENCE_VARIABLE: &str = "PUSH_SEQUENCE";

/// What the event says. Every field is optional: an event with fields
/// missing is still announced, with what it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub pipeline: Option<String>,
    pub execution_id: Option<String>,
    pub stage: Option<String>,
    pub action: Option<String>,
    pub time: Option<String>,
    pub region: Option<String>,
    /// The action's own account of the failure
    /// (`execution-result.external-execution-summary`), when the event has one.
    pub summary: Option<String>,
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Reads an EventBridge event; never fails.
pub fn parse_failure(event: &Value) -> Failure {
    let detail = &event["detail"];
    Failure {
        pipeline: text(&detail["pipeline"]),
        execution_id: text(&detail["execution-id"]),
        stage: text(&detail["stage"]),
        action: text(&detail["action"]),
        time: text(&event["time"]),
        region: text(&event["region"]).or_else(|| text(&detail["region"])),
        summary: text(&detail["execution-result"]["external-execution-summary"]),
    }
}

/// The commit of the failed execution, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// The commit, and the push sequence when the starter set one.
    Known { id: String, push: Option<String> },
    /// The execution records no commit (started without the starter and
    /// before its source action ran).
    NotRecorded,
    /// The execution could not be read: why.
    Unknown(String),
}

/// The commit from the execution's resolved pipeline variables (`COMMIT_ID`,
/// set by the starter) or else its first source revision (`revisionId`: the
/// commit id for a CodeConnections source). `variables` are (name, value)
/// pairs; `revisions` are the artifact revision ids in the answer's order.
/// <https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_GetPipelineExecution.html>
pub fn commit_of(variables: &[(String, String)], revisions: &[String]) -> Commit {
    let variable = |name: &str| {
        variables
            .iter()
            .find(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    if let Some(id) = variable(COMMIT_VARIABLE) {
        return Commit::Known {
            id,
            push: variable(SEQUENCE_VARIABLE),
        };
    }
    match revisions.iter().find(|r| !r.trim().is_empty()) {
        Some(id) => Commit::Known {
            id: id.trim().to_owned(),
            push: None,
        },
        None => Commit::NotRecorded,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

    #[test]
    fn the_event_is_read_with_the_actions_summary() {
        let event = json!({
            "time": "2026-12-02T01:14:07Z", "region": "ap-southeast-1",
            "detail": {
                "pipeline": "pipeline-dev", "execution-id": "01234567-0123-0123-0123-012345678901",
                "stage": "Deploy", "action": "Promote", "state": "FAILED",
                "execution-result": {"external-execution-summary": "promotion refused: 2 CRITICAL"}
            }
        });
        assert_eq!(
            parse_failure(&event),
            Failure {
                pipeline: Some("pipeline-dev".into()),
                execution_id: Some("01234567-0123-0123-0123-012345678901".into()),
                stage: Some("Deploy".into()),
                action: Some("Promote".into()),
                time: Some("2026-12-02T01:14:07Z".into()),
                region: Some("ap-southeast-1".into()),
                summary: Some("promotion refused: 2 CRITICAL".into()),
            }
        );
    }

    #[test]
    fn a_malformed_event_gives_what_it_has() {
        assert_eq!(parse_failure(&json!("not an event")), Failure::default());
        let event = json!({"detail": {"pipeline": " ", "stage": 7, "region": "eu-west-1"}});
        assert_eq!(
            parse_failure(&event),
            Failure {
                region: Some("eu-west-1".into()),
                ..Failure::default()
            }
        );
    }

    #[test]
    fn the_commit_comes_from_the_variables_then_the_revisions() {
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            commit_of(
                &vars(&[
                    ("DELIVERY_ID", "d-1"),
                    ("COMMIT_ID", COMMIT),
                    ("PUSH_SEQUENCE", "12")
                ]),
                &["ffffffffffffffffffffffffffffffffffffffff".into()]
            ),
            Commit::Known {
                id: COMMIT.into(),
                push: Some("12".into())
            }
        );
        assert_eq!(
            commit_of(&vars(&[("COMMIT_ID", "")]), &[String::new(), COMMIT.into()]),
            Commit::Known {
                id: COMMIT.into(),
                push: None
            }
        );
        assert_eq!(commit_of(&[], &[]), Commit::NotRecorded);
    }
}
