//! The deliveries table (DynamoDB): the `head` item holds the order's whole
//! state ([`Head`], as JSON in `state`) and a `version` that every write is
//! conditional on, so two starters (cold starts, concurrent instances,
//! Lambda's retries) never both act on the same head. Reads are strongly
//! consistent. The item has no TTL: the order is kept for ever.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::domain::order::{Current, Edge, Head, StartState};
use crate::domain::push::PushId;
use crate::error::Error;

/// The table's partition key (a string).
pub const KEY: &str = "pk";
/// The key of the head record.
pub const HEAD_KEY: &str = "head";
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// A head write wins when nobody wrote the head since it was read: the
/// version read is the version stored (`attribute_not_exists` for a head
/// never written, or written by a release before versions were kept).
pub const FIRST_WRITE_CONDITION: &str = "attribute_not_exists(#version)";
pub const NEXT_WRITE_CONDITION: &str = "#version = :expected";

/// What [`write_head`]'s condition lets through, as a pure function: the
/// stored version (`None`: no version attribute) against the one read.
pub fn write_allowed(stored: Option<u64>, read: u64) -> bool {
    match stored {
        None => read == 0,
        Some(stored) => stored == read && read > 0,
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

type Item = HashMap<String, AttributeValue>;

/// Reads the head (an empty head at version 0 when there is none).
pub async fn read_head(client: &Client, table: &str) -> Result<Head, Error> {
    let output = client
        .get_item()
        .table_name(table)
        .key(KEY, s(HEAD_KEY))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Error::aws("GetItem", e))?;
    output.item.as_ref().map_or(Ok(Head::default()), head_of)
}

/// Writes `next` if the stored head is still the one read at
/// `next.version`. `Ok(false)`: another write came first (read again).
pub async fn write_head(client: &Client, table: &str, next: &Head) -> Result<bool, Error> {
    let state = serde_json::to_string(next).map_err(Error::Encode)?;
    let mut put = client
        .put_item()
        .table_name(table)
        .item(KEY, s(HEAD_KEY))
        .item("version", n(next.version + 1))
        .item("sequence", n(next.sequence))
        .item("state", s(&state))
        .expression_attribute_names("#version", "version");
    // Readable at a glance in the console: the current push's commit.
    if let Some(current) = &next.current {
        put = put.item("head_commit", s(&current.push.after));
    }
    put = if next.version == 0 {
        put.condition_expression(FIRST_WRITE_CONDITION)
    } else {
        put.condition_expression(NEXT_WRITE_CONDITION)
            .expression_attribute_values(":expected", n(next.version))
    };
    match put.send().await.map_err(|e| Error::aws("PutItem", e)) {
        Ok(_) => Ok(true),
        Err(error) if error.code() == Some(CONDITION_FAILED) => Ok(false),
        Err(error) => Err(error),
    }
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn head_of(item: &Item) -> Result<Head, Error> {
    let malformed = |reason| Error::MalformedRecord {
        key: HEAD_KEY.to_owned(),
        reason,
    };
    let Some(state) = text(item, "state") else {
        return legacy_head(item).ok_or_else(|| malformed("neither state nor head_commit"));
    };
    let mut head: Head = serde_json::from_str(state).map_err(|_| malformed("state is not JSON"))?;
    head.version = number(item, "version").ok_or_else(|| malformed("no version"))?;
    Ok(head)
}

/// A head written by a release before the order kept its state (the push
/// started last, by its commit and push time): that push counts as
/// started, and the first write replaces the record.
fn legacy_head(item: &Item) -> Option<Head> {
    let commit = text(item, "head_commit")?;
    let sequence = number(item, "sequence").unwrap_or(0);
    Some(Head {
        version: 0,
        sequence,
        current: Some(Current {
            push: Edge {
                id: PushId::from_text(format!("legacy:{commit}")),
                before: String::new(),
                after: commit.to_owned(),
                pushed_at: number(item, "pushed_at").and_then(|v| i64::try_from(v).ok()),
                forced: false,
            },
            sequence,
            start: StartState::Started {
                execution: "recorded by an earlier release".to_owned(),
            },
        }),
        recent: Vec::new(),
        forced_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_condition_as_a_function() {
        assert!(write_allowed(None, 0));
        assert!(!write_allowed(None, 3));
        assert!(write_allowed(Some(3), 3));
        assert!(!write_allowed(Some(4), 3));
        assert!(!write_allowed(Some(0), 0));
    }

    #[test]
    fn an_earlier_release_head_reads_as_its_started_push() {
        let item = Item::from([
            ("pk".to_owned(), s("head")),
            ("head_commit".to_owned(), s("abc")),
            ("pushed_at".to_owned(), n(100)),
            ("sequence".to_owned(), n(7)),
        ]);
        let head = head_of(&item).unwrap_or_default();
        assert_eq!(head.version, 0);
        assert_eq!(head.sequence, 7);
        let current = head.current.unwrap_or_else(|| unreachable!());
        assert_eq!(current.push.after, "abc");
        assert_eq!(current.push.pushed_at, Some(100));
    }
}
