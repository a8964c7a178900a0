//! What becomes of a verified delivery, and the EventBridge entry it turns
//! into. Pure functions, no AWS.

use serde_json::{Map, Value};

use crate::config::AllowedEvents;
use crate::error::Error;

/// The `Source` of every event this function puts on the bus.
pub const SOURCE: &str = "github.com";

/// EventBridge's limit on one PutEvents entry: "the total entry size must be
/// less than 256KB". (AWS raised the bus limit to 1 MB in January 2026; the
/// lower figure keeps every region and the local emulator safe.)
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// The longest head commit message kept in a trimmed event, in bytes.
pub const TRIMMED_MESSAGE_BYTES: usize = 1024;

/// What to do with a verified delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// `ping`: answer 200, forward nothing.
    Ping,
    /// An allowed event: forward it to the bus.
    Forward,
    /// Any other event: answer 202, forward nothing.
    Ignore,
}

/// Classifies a delivery by its `X-GitHub-Event` name.
pub fn classify(event_name: &str, allowed: &AllowedEvents) -> Disposition {
    if event_name == "ping" {
        Disposition::Ping
    } else if allowed.contains(event_name) {
        Disposition::Forward
    } else {
        Disposition::Ignore
    }
}

/// One PutEvents entry, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    pub source: &'static str,
    pub detail_type: String,
    pub detail: String,
    pub event_bus_name: String,
    /// Whether the payload was cut down to fit the entry limit.
    pub trimmed: bool,
}

impl OutgoingEvent {
    /// The entry size as EventBridge computes it: the UTF-8 bytes of
    /// `Source`, `DetailType` and `Detail` (plus 14 for `Time` and each of
    /// `Resources`, neither of which is sent). The bus name is counted too:
    /// AWS's formula leaves it out, so counting it only errs on the safe side.
    pub fn entry_size(&self) -> usize {
        entry_size(
            self.source,
            &self.detail_type,
            &self.detail,
            &self.event_bus_name,
        )
    }
}

/// See [`OutgoingEvent::entry_size`].
pub fn entry_size(source: &str, detail_type: &str, detail: &str, event_bus_name: &str) -> usize {
    source.len() + detail_type.len() + detail.len() + event_bus_name.len()
}

/// Builds the entry for a forwarded delivery: the payload with
/// `delivery_id` added at the top level. When that is too large for one
/// entry, a trimmed detail (see [`trimmed_detail`]) is sent instead; when
/// even that is too large, the delivery is refused with `EventTooLarge`.
pub fn build_event(
    mut payload: Map<String, Value>,
    event_name: &str,
    delivery_id: &str,
    event_bus_name: &str,
) -> Result<OutgoingEvent, Error> {
    payload.insert("delivery_id".into(), Value::String(delivery_id.to_owned()));
    let mut event = OutgoingEvent {
        source: SOURCE,
        detail_type: event_name.to_owned(),
        detail: serde_json::to_string(&payload).map_err(Error::SerializeDetail)?,
        event_bus_name: event_bus_name.to_owned(),
        trimmed: false,
    };
    if event.entry_size() < MAX_ENTRY_BYTES {
        return Ok(event);
    }
    let trimmed = trimmed_detail(&payload, delivery_id);
    event.detail = serde_json::to_string(&trimmed).map_err(Error::SerializeDetail)?;
    event.trimmed = true;
    let size = event.entry_size();
    if size < MAX_ENTRY_BYTES {
        Ok(event)
    } else {
        Err(Error::EventTooLarge { size })
    }
}

/// The fields a push needs downstream, nothing else: `ref`, `before`,
/// `after`, `created`, `deleted`, `forced`, `repository` (`full_name`,
/// `name`, `owner.login`, `owner.name`, `html_url`, `pushed_at`),
/// `head_commit` (`id`, `message` cut to [`TRIMMED_MESSAGE_BYTES`],
/// `timestamp`, `url`, `author`), `pusher`, `delivery_id`, and
/// `"trimmed": true`. Fields the rule matches on (`ref`, `deleted`, `after`,
/// `repository.full_name`) and the starter reads (those, `before` and
/// `repository.pushed_at`) are never cut: a cut value could match another
/// rule or start another commit.
pub fn trimmed_detail(payload: &Map<String, Value>, delivery_id: &str) -> Map<String, Value> {
    let mut out = Map::new();
    copy_fields(
        payload,
        &mut out,
        &[
            "ref", "before", "after", "created", "deleted", "forced", "pusher",
        ],
    );
    if let Some(Value::Object(repository)) = payload.get("repository") {
        let mut repo = Map::new();
        copy_fields(
            repository,
            &mut repo,
            &["full_name", "name", "html_url", "pushed_at"],
        );
        if let Some(Value::Object(owner)) = repository.get("owner") {
            let mut kept = Map::new();
            copy_fields(owner, &mut kept, &["login", "name"]);
            repo.insert("owner".into(), Value::Object(kept));
        }
        out.insert("repository".into(), Value::Object(repo));
    }
    match payload.get("head_commit") {
        Some(Value::Object(commit)) => {
            let mut kept = Map::new();
            copy_fields(commit, &mut kept, &["id", "timestamp", "url", "author"]);
            if let Some(Value::String(message)) = commit.get("message") {
                let cut = cut_at_char_boundary(message, TRIMMED_MESSAGE_BYTES);
                kept.insert("message".into(), Value::String(cut.to_owned()));
            }
            out.insert("head_commit".into(), Value::Object(kept));
        }
        Some(Value::Null) => {
            out.insert("head_commit".into(), Value::Null);
        }
        _ => {}
    }
    out.insert("delivery_id".into(), Value::String(delivery_id.to_owned()));
    out.insert("trimmed".into(), Value::Bool(true));
    out
}

fn copy_fields(from: &Map<String, Value>, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key) {
            to.insert((*key).to_owned(), value.clone());
        }
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a
/// character boundary.
pub fn cut_at_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn push_payload(commits: usize, message: &str) -> Map<String, Value> {
        let commit = json!({
            "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "message": message,
            "timestamp": "2026-05-04T10:00:00+08:00",
            "url": "https://github.com/owner/repo/commit/0d1a26e",
            "author": {"name": "Dev", "email": "dev@example.com", "username": "dev"},
            "added": ["a.txt"], "removed": [], "modified": ["Dockerfile"]
        });
        let json = json!({
            "ref": "refs/heads/main",
            "before": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
            "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "created": false, "deleted": false, "forced": true,
            "repository": {
                "id": 1, "name": "repo", "full_name": "owner/repo",
                "html_url": "https://github.com/owner/repo", "pushed_at": 1_777_860_000,
                "owner": {"name": "owner", "login": "owner", "id": 7, "avatar_url": "x"},
                "description": "d"
            },
            "pusher": {"name": "dev", "email": "dev@example.com"},
            "head_commit": commit.clone(),
            "commits": vec![commit; commits],
        });
        json.as_object().unwrap().clone()
    }

    #[test]
    fn classification() {
        let allowed = AllowedEvents::parse("push,release").unwrap();
        assert_eq!(classify("ping", &allowed), Disposition::Ping);
        assert_eq!(classify("push", &allowed), Disposition::Forward);
        assert_eq!(classify("release", &allowed), Disposition::Forward);
        assert_eq!(classify("issues", &allowed), Disposition::Ignore);
        assert_eq!(classify("Push", &allowed), Disposition::Ignore);
        let with_ping = AllowedEvents::parse("ping").unwrap();
        assert_eq!(classify("ping", &with_ping), Disposition::Ping);
    }

    #[test]
    fn small_payload_is_forwarded_whole_with_delivery_id() {
        let payload = push_payload(2, "fix");
        let event = build_event(payload.clone(), "push", "d-1", "github-events-dev").unwrap();
        assert!(!event.trimmed);
        assert_eq!(event.source, "github.com");
        assert_eq!(event.detail_type, "push");
        let detail: Map<String, Value> = serde_json::from_str(&event.detail).unwrap();
        assert_eq!(detail["delivery_id"], "d-1");
        assert_eq!(detail["commits"], payload["commits"]);
        assert_eq!(detail.len(), payload.len() + 1);
    }

    #[test]
    fn entry_size_counts_utf8_bytes() {
        assert_eq!(
            entry_size("github.com", "push", "{}", "bus"),
            10 + 4 + 2 + 3
        );
        assert_eq!(entry_size("", "", "\"é\"", ""), 4);
    }

    #[test]
    fn the_limit_is_exclusive() {
        // Pad a payload so that the untrimmed entry is exactly at the limit,
        // then one byte under it.
        let base = build_event(push_payload(0, "m"), "push", "d", "b").unwrap();
        let mut payload = push_payload(0, "m");
        let pad = MAX_ENTRY_BYTES - base.entry_size() - r#","pad":"""#.len();
        payload.insert("pad".into(), Value::String("x".repeat(pad)));
        let at_limit = build_event(payload.clone(), "push", "d", "b").unwrap();
        assert!(at_limit.trimmed, "an entry of exactly 256 KB is trimmed");
        payload.insert("pad".into(), Value::String("x".repeat(pad - 1)));
        let under = build_event(payload, "push", "d", "b").unwrap();
        assert!(!under.trimmed);
        assert_eq!(under.entry_size(), MAX_ENTRY_BYTES - 1);
    }

    #[test]
    fn large_payload_is_trimmed_to_the_contract_fields() {
        let long_message = "é".repeat(5_000);
        let payload = push_payload(400, &long_message);
        let event = build_event(payload, "push", "d-2", "github-events-dev").unwrap();
        assert!(event.trimmed);
        assert!(event.entry_size() < MAX_ENTRY_BYTES);
        let detail: Value = serde_json::from_str(&event.detail).unwrap();
        assert_eq!(detail["trimmed"], true);
        assert_eq!(detail["delivery_id"], "d-2");
        assert_eq!(detail["ref"], "refs/heads/main");
        assert_eq!(detail["before"], "9049f1265b7d61be4a8904a9a27120d2064dab3b");
        assert_eq!(detail["after"], "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        assert_eq!(
            detail["repository"],
            json!({"full_name": "owner/repo", "name": "repo",
                   "html_url": "https://github.com/owner/repo", "pushed_at": 1_777_860_000,
                   "owner": {"login": "owner", "name": "owner"}})
        );
        // What the rule matches and the starter reads to order the push.
        assert_eq!(
            (&detail["created"], &detail["deleted"], &detail["forced"]),
            (&json!(false), &json!(false), &json!(true))
        );
        assert_eq!(detail["pusher"]["name"], "dev");
        let head = &detail["head_commit"];
        assert_eq!(head["id"], "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        assert_eq!(head["author"]["username"], "dev");
        assert_eq!(head["timestamp"], "2026-05-04T10:00:00+08:00");
        let message = head["message"].as_str().unwrap();
        assert!(
            message.len() <= TRIMMED_MESSAGE_BYTES && message.len() >= TRIMMED_MESSAGE_BYTES - 1
        );
        assert!(long_message.starts_with(message));
        assert!(detail.get("commits").is_none());
        assert!(head.get("added").is_none());
    }

    #[test]
    fn branch_deletion_keeps_null_head_commit() {
        let mut payload = push_payload(0, "m");
        payload.insert("head_commit".into(), Value::Null);
        let detail = trimmed_detail(&payload, "d");
        assert_eq!(detail["head_commit"], Value::Null);
    }

    #[test]
    fn oversized_matching_fields_are_refused_not_cut() {
        let mut payload = push_payload(0, "m");
        payload.insert(
            "ref".into(),
            Value::String(format!("refs/heads/{}", "b".repeat(MAX_ENTRY_BYTES))),
        );
        let error = build_event(payload, "push", "d", "b").unwrap_err();
        assert!(matches!(error, Error::EventTooLarge { .. }), "{error}");
    }

    #[test]
    fn cutting_respects_char_boundaries() {
        assert_eq!(cut_at_char_boundary("abc", 5), "abc");
        assert_eq!(cut_at_char_boundary("abc", 2), "ab");
        assert_eq!(cut_at_char_boundary("éé", 3), "é");
        assert_eq!(cut_at_char_boundary("é", 1), "");
    }
}
