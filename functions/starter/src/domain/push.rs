//! The push an EventBridge event carries, read and checked before anything is
//! called. A push the starter must not start (no commit, a deletion, a tag) is
//! a [`Refusal`] that names what is wrong.

use serde::Deserialize;
use serde_json::Value;

/// The source and detail-type the webhook gives a push.
pub const EVENT_SOURCE: &str = "github.com";
pub const PUSH_DETAIL_TYPE: &str = "push";
/// What `after` is when a push deletes its ref.
pub const ZERO_COMMIT: &str = "0000000000000000000000000000000000000000";
const BRANCH_PREFIX: &str = "refs/heads/";

/// One push to a branch, as the starter uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// `X-GitHub-Delivery`, which the webhook adds as `delivery_id`. GitHub
    /// keeps it when a delivery is redelivered: the dedupe key.
    pub delivery_id: String,
    /// `repository.full_name`, as GitHub spells it.
    pub repository: String,
    /// The branch (`ref` without `refs/heads/`).
    pub branch: String,
    /// `before`: the branch's commit before the push.
    pub before: String,
    /// `after`: the commit the push moved the branch to, the one to build.
    pub commit: String,
    /// `repository.pushed_at`, in seconds since the Unix epoch: the order of
    /// pushes (see the crate doc for why this field).
    pub pushed_at: i64,
}

/// Why an event is not a push the starter starts. Refused events are logged
/// and answered without an error: retrying cannot make them startable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the event is not a GitHub push (source {event_source:?}, detail-type {detail_type:?})"
    )]
    NotAPush {
        event_source: String,
        detail_type: String,
    },
    #[error("the event is not an EventBridge event with a push detail: {0}")]
    Malformed(String),
    #[error("the push has no {field}")]
    Missing { field: &'static str },
    #[error("the push's {field} {value:?} is not valid: {reason}")]
    Invalid {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("the push deletes {git_ref}: there is no commit to build")]
    Deletion { git_ref: String },
    #[error("the push is to {git_ref}, not to a branch")]
    NotABranch { git_ref: String },
}

/// The envelope fields of an EventBridge event the starter reads.
/// (`aws_lambda_events`' EventBridgeEvent would bring chrono and serde_with
/// for these three fields.)
#[derive(Debug, Deserialize)]
struct Envelope {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Value,
}

/// The detail fields the starter reads. Every one of them survives the
/// webhook's trimming of large payloads.
#[derive(Debug, Deserialize)]
struct Detail {
    delivery_id: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    #[serde(default)]
    deleted: bool,
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: Option<String>,
    pushed_at: Option<Value>,
}

/// Reads the push out of the rule's event.
pub fn parse_push(event: Value) -> Result<Push, Refusal> {
    let event: Envelope =
        serde_json::from_value(event).map_err(|e| Refusal::Malformed(e.to_string()))?;
    if event.source != EVENT_SOURCE || event.detail_type != PUSH_DETAIL_TYPE {
        return Err(Refusal::NotAPush {
            event_source: event.source,
            detail_type: event.detail_type,
        });
    }
    let detail: Detail =
        serde_json::from_value(event.detail).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let delivery_id = required(detail.delivery_id, "delivery_id")?;
    check_delivery_id(&delivery_id)?;
    let git_ref = required(detail.git_ref, "ref")?;
    let after = required(detail.after, "after (the pushed commit id)")?;
    if detail.deleted || after == ZERO_COMMIT {
        return Err(Refusal::Deletion { git_ref });
    }
    let Some(branch) = git_ref.strip_prefix(BRANCH_PREFIX).map(str::to_owned) else {
        return Err(Refusal::NotABranch { git_ref });
    };
    if branch.is_empty() {
        return Err(Refusal::NotABranch { git_ref });
    }
    check_commit("after", &after)?;
    let before = required(detail.before, "before")?;
    check_commit("before", &before)?;
    let repository = detail.repository.ok_or(Refusal::Missing {
        field: "repository",
    })?;
    let full_name = required(repository.full_name, "repository.full_name")?;
    let pushed_at = pushed_at(repository.pushed_at)?;
    Ok(Push {
        delivery_id,
        repository: full_name,
        branch,
        before,
        commit: after,
        pushed_at,
    })
}

fn required(value: Option<String>, field: &'static str) -> Result<String, Refusal> {
    match value {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(Refusal::Missing { field }),
    }
}

/// A full git object id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
fn check_commit(field: &'static str, value: &str) -> Result<(), Refusal> {
    let hex = value
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex && (value.len() == 40 || value.len() == 64) {
        Ok(())
    } else {
        Err(Refusal::Invalid {
            field,
            value: value.chars().take(80).collect(),
            reason: "not a full commit id (40 or 64 lowercase hex digits)",
        })
    }
}

/// GitHub's delivery ids are GUIDs. The id becomes part of a DynamoDB key and
/// CodePipeline's `clientRequestToken` (`[A-Za-z0-9-]`, at most 128).
fn check_delivery_id(value: &str) -> Result<(), Refusal> {
    let ok = value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Refusal::Invalid {
            field: "delivery_id",
            value: value.chars().take(80).collect(),
            reason: "not a GitHub delivery GUID (letters, digits and '-', at most 100)",
        })
    }
}

/// `repository.pushed_at` is a number of seconds in push payloads (other
/// GitHub events carry an ISO 8601 text there, which a push never does).
fn pushed_at(value: Option<Value>) -> Result<i64, Refusal> {
    const FIELD: &str = "repository.pushed_at";
    match value {
        None | Some(Value::Null) => Err(Refusal::Missing { field: FIELD }),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(seconds) if seconds > 0 => Ok(seconds),
            _ => Err(Refusal::Invalid {
                field: FIELD,
                value: number.to_string(),
                reason: "not a positive whole number of seconds",
            }),
        },
        Some(other) => Err(Refusal::Invalid {
            field: FIELD,
            value: other.to_string().chars().take(80).collect(),
            reason: "not a number of seconds since the Unix epoch",
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    pub const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
    pub const BEFORE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";

    pub fn event(detail: Value) -> Value {
        json!({
            "version": "0",
            "id": "4e1c5b6a-0000-4000-8000-000000000001",
            "detail-type": "push",
            "source": "github.com",
            "account": "123456789012",
            "time": "2026-12-01T10:00:00Z",
            "region": "ap-southeast-1",
            "resources": [],
            "detail": detail
        })
    }

    pub fn detail() -> Value {
        json!({
            "ref": "refs/heads/main",
            "before": BEFORE,
            "after": COMMIT,
            "created": false,
            "deleted": false,
            "forced": false,
            "repository": {"full_name": "Octo-Org/Hello-App", "pushed_at": 1_764_583_200},
            "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958"
        })
    }

    #[test]
    fn a_push_is_read_with_every_field() {
        let push = parse_push(event(detail())).unwrap();
        assert_eq!(
            push,
            Push {
                delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
                repository: "Octo-Org/Hello-App".into(),
                branch: "main".into(),
                before: BEFORE.into(),
                commit: COMMIT.into(),
                pushed_at: 1_764_583_200,
            }
        );
    }

    #[test]
    fn a_new_branch_has_a_zero_before_and_is_a_push() {
        let mut d = detail();
        d["before"] = json!(ZERO_COMMIT);
        d["created"] = json!(true);
        assert_eq!(parse_push(event(d)).unwrap().before, ZERO_COMMIT);
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        type Change = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Change, &str)> = vec![
            (
                "no commit",
                Box::new(|d| drop(d.as_object_mut().unwrap().remove("after"))),
                "after",
            ),
            (
                "empty commit",
                Box::new(|d| d["after"] = json!("")),
                "after",
            ),
            (
                "short commit",
                Box::new(|d| d["after"] = json!("6113728")),
                "not a full commit id",
            ),
            (
                "deleted",
                Box::new(|d| d["deleted"] = json!(true)),
                "deletes refs/heads/main",
            ),
            (
                "zero after",
                Box::new(|d| d["after"] = json!(ZERO_COMMIT)),
                "deletes",
            ),
            (
                "tag",
                Box::new(|d| d["ref"] = json!("refs/tags/v1")),
                "not to a branch",
            ),
            (
                "no delivery",
                Box::new(|d| drop(d.as_object_mut().unwrap().remove("delivery_id"))),
                "delivery_id",
            ),
            (
                "bad delivery",
                Box::new(|d| d["delivery_id"] = json!("a#b")),
                "delivery_id",
            ),
            (
                "no pushed_at",
                Box::new(|d| drop(d["repository"].as_object_mut().unwrap().remove("pushed_at"))),
                "pushed_at",
            ),
            (
                "text pushed_at",
                Box::new(|d| d["repository"]["pushed_at"] = json!("2026-01-01T00:00:00Z")),
                "pushed_at",
            ),
            (
                "no repository",
                Box::new(|d| drop(d.as_object_mut().unwrap().remove("repository"))),
                "repository",
            ),
            (
                "detail not an object",
                Box::new(|d| *d = json!("push")),
                "not an EventBridge event",
            ),
        ];
        for (name, change, expected) in cases {
            let mut d = detail();
            change(&mut d);
            let refusal = parse_push(event(d)).unwrap_err().to_string();
            assert!(refusal.contains(expected), "{name}: {refusal}");
        }
    }

    #[test]
    fn other_sources_and_detail_types_are_not_pushes() {
        let mut e = event(detail());
        e["detail-type"] = json!("release");
        assert!(matches!(parse_push(e), Err(Refusal::NotAPush { .. })));
        let mut e = event(detail());
        e["source"] = json!("aws.codecommit");
        assert!(matches!(parse_push(e), Err(Refusal::NotAPush { .. })));
        assert!(matches!(
            parse_push(json!({"hello": 1})),
            Err(Refusal::Malformed(_))
        ));
    }
}
