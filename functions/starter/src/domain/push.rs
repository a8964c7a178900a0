//! The push an EventBridge event carries, read and checked before anything is
//! called. A push the starter must not start (no commit, a deletion, a tag) is
//! a [`Refusal`] that names what is wrong.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The source and detail-type the webhook gives a push.
pub const EVENT_SOURCE: &str = "github.com";
pub const PUSH_DETAIL_TYPE: &str = "push";
/// What `after` is when a push deletes its ref.
pub const ZERO_COMMIT: &str = "0000000000000000000000000000000000000000";
const BRANCH_PREFIX: &str = "refs/heads/";

/// One push to a branch, as the starter uses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Push {
    /// Who the push is: a digest of what GitHub signed (see [`PushId`]).
    pub id: PushId,
    /// `X-GitHub-Delivery`, which the webhook adds as `delivery_id`. GitHub
    /// does not sign it: it labels logs and redeliveries, and decides
    /// nothing.
    pub delivery_id: String,
    /// `repository.full_name`, as GitHub spells it.
    pub repository: String,
    /// The branch (`ref` without `refs/heads/`).
    pub branch: String,
    /// `before`: the branch's commit before the push.
    pub before: String,
    /// `after`: the commit the push moved the branch to, the one to build.
    pub commit: String,
    /// `repository.pushed_at`, in seconds since the Unix epoch, when GitHub
    /// gave one: the order of pushes of different seconds (see
    /// [`super::order`]). `None` for GitHub's `null`.
    pub pushed_at: Option<i64>,
    /// `forced`: the push rewrote the branch (its `after` need not descend
    /// from its `before`).
    pub forced: bool,
}

/// A push's identity: SHA-256 over the fields GitHub signed that make it
/// this push, `repository.full_name` (lowercased: GitHub names are
/// case-insensitive), `ref`, `before`, `after` and `repository.pushed_at`
/// (seconds, or empty when `null`). A redelivery of the same body is the
/// same push whatever its `X-GitHub-Delivery`; a forced push back to an
/// earlier commit has another `before` (and `pushed_at`) and is a new push.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PushId(String);

impl PushId {
    /// The identity of a push with these signed fields.
    pub fn of(
        repository: &str,
        git_ref: &str,
        before: &str,
        after: &str,
        pushed_at: Option<i64>,
    ) -> Self {
        let mut hasher = Sha256::new();
        let pushed_at = pushed_at.map(|s| s.to_string()).unwrap_or_default();
        for field in [
            repository.to_ascii_lowercase().as_str(),
            git_ref,
            before,
            after,
            pushed_at.as_str(),
        ] {
            // Length-prefixed, so that no two field lists hash alike.
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        Self(hex(&hasher.finalize()))
    }

    /// An identity given as text (a record read back, a model's label).
    pub fn from_text(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, for messages.
    pub fn short(&self) -> &str {
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl std::fmt::Display for PushId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
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
    #[serde(default)]
    forced: Option<bool>,
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
        id: PushId::of(&full_name, &git_ref, &before, &after, pushed_at),
        delivery_id,
        repository: full_name,
        branch,
        before,
        commit: after,
        pushed_at,
        forced: detail.forced.unwrap_or(false),
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

/// `repository.pushed_at`. GitHub's published webhook schema allows an
/// integer (seconds since the Unix epoch, what push payloads carry), an
/// ISO 8601 date-time text, or `null`; the first two give seconds, `null`
/// (or no field) gives `None`, and the chain of `before` and `after` alone
/// orders such a push.
fn pushed_at(value: Option<Value>) -> Result<Option<i64>, Refusal> {
    const FIELD: &str = "repository.pushed_at";
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(seconds) if seconds > 0 => Ok(Some(seconds)),
            _ => Err(Refusal::Invalid {
                field: FIELD,
                value: number.to_string(),
                reason: "not a positive whole number of seconds",
            }),
        },
        Some(Value::String(text)) => match iso8601_seconds(&text) {
            Some(seconds) if seconds > 0 => Ok(Some(seconds)),
            _ => Err(Refusal::Invalid {
                field: FIELD,
                value: text.chars().take(80).collect(),
                reason: "not an ISO 8601 date-time such as 2026-12-01T10:00:00Z",
            }),
        },
        Some(other) => Err(Refusal::Invalid {
            field: FIELD,
            value: other.to_string().chars().take(80).collect(),
            reason: "neither seconds since the Unix epoch nor an ISO 8601 date-time",
        }),
    }
}

/// Seconds since the Unix epoch of an ISO 8601 (RFC 3339) date-time:
/// `YYYY-MM-DDTHH:MM:SS`, optional fraction (dropped: GitHub's push times
/// are whole seconds), then `Z` or `±HH:MM`.
pub fn iso8601_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|(i, c)| b.get(*i) != Some(c))
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let mut rest = 19;
    if b.get(rest) == Some(&b'.') {
        rest += 1;
        let start = rest;
        while b.get(rest).is_some_and(u8::is_ascii_digit) {
            rest += 1;
        }
        if rest == start {
            return None;
        }
    }
    let offset = match b.get(rest) {
        Some(b'Z' | b'z') if rest + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if rest + 6 == b.len() && b.get(rest + 3) == Some(&b':') => {
            let minutes = digits(rest + 1, 2)? * 60 + digits(rest + 4, 2)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    valid.then(|| {
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// public-domain `days_from_civil` algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
                id: PushId::of(
                    "octo-org/hello-app",
                    "refs/heads/main",
                    BEFORE,
                    COMMIT,
                    Some(1_764_583_200)
                ),
                delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
                repository: "Octo-Org/Hello-App".into(),
                branch: "main".into(),
                before: BEFORE.into(),
                commit: COMMIT.into(),
                pushed_at: Some(1_764_583_200),
                forced: false,
            }
        );
    }

    #[test]
    fn the_identity_is_the_signed_body_not_the_delivery_header() {
        let first = parse_push(event(detail())).unwrap();
        let mut redelivered = detail();
        redelivered["delivery_id"] = json!("00000000-0000-4000-8000-000000000000");
        let again = parse_push(event(redelivered)).unwrap();
        assert_eq!(first.id, again.id, "a redelivery is the same push");
        // Any signed field that makes the push another push changes it.
        type Change = fn(&mut Value);
        let changes: [(&str, Change); 5] = [
            ("before", |d| d["before"] = json!(COMMIT)),
            ("after", |d| d["after"] = json!(BEFORE)),
            ("ref", |d| d["ref"] = json!("refs/heads/release")),
            ("repository", |d| {
                d["repository"]["full_name"] = json!("octo-org/other")
            }),
            ("pushed_at", |d| {
                d["repository"]["pushed_at"] = json!(1_764_583_201)
            }),
        ];
        for (name, change) in changes {
            let mut d = detail();
            change(&mut d);
            assert_ne!(parse_push(event(d)).unwrap().id, first.id, "{name}");
        }
        // The repository's case is GitHub's spelling, not another push.
        let mut d = detail();
        d["repository"]["full_name"] = json!("octo-org/hello-app");
        assert_eq!(parse_push(event(d)).unwrap().id, first.id);
    }

    #[test]
    fn pushed_at_comes_as_seconds_iso_text_or_null() {
        let read = |value: Value| {
            let mut d = detail();
            d["repository"]["pushed_at"] = value;
            parse_push(event(d)).map(|p| p.pushed_at)
        };
        assert_eq!(read(json!(1_764_583_200)), Ok(Some(1_764_583_200)));
        assert_eq!(read(json!("2025-12-01T10:00:00Z")), Ok(Some(1_764_583_200)));
        assert_eq!(
            read(json!("2025-12-01T18:00:00+08:00")),
            Ok(Some(1_764_583_200))
        );
        assert_eq!(
            read(json!("2025-12-01T10:00:00.250Z")),
            Ok(Some(1_764_583_200))
        );
        assert_eq!(read(Value::Null), Ok(None));
        let mut d = detail();
        d["repository"].as_object_mut().unwrap().remove("pushed_at");
        assert_eq!(parse_push(event(d)).unwrap().pushed_at, None);
        for bad in [
            json!("yesterday"),
            json!("2025-13-01T10:00:00Z"),
            json!("2025-02-30T10:00:00Z"),
            json!("2025-12-01T10:00:00"),
            json!(-5),
            json!(1.5),
            json!(true),
        ] {
            let refusal = read(bad.clone()).unwrap_err().to_string();
            assert!(refusal.contains("repository.pushed_at"), "{bad}: {refusal}");
        }
    }

    #[test]
    fn iso_dates_agree_with_known_epoch_seconds() {
        for (text, seconds) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:00:00Z", 951_825_600),
            ("2026-12-07T23:43:44Z", 1_796_687_024),
            ("2024-02-29T00:00:00-01:30", 1_709_170_200),
        ] {
            assert_eq!(iso8601_seconds(text), Some(seconds), "{text}");
        }
    }

    #[test]
    fn forced_is_read_and_defaults_to_false() {
        let mut d = detail();
        d["forced"] = json!(true);
        assert!(parse_push(event(d)).unwrap().forced);
        let mut d = detail();
        d.as_object_mut().unwrap().remove("forced");
        assert!(!parse_push(event(d)).unwrap().forced);
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
                "text pushed_at that is no date",
                Box::new(|d| d["repository"]["pushed_at"] = json!("2026-01-01")),
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
