//! The production record's conditions agree with the model's: for every
//! generated pair of a stored record and a write's [`Condition`], DynamoDB
//! in the local cloud (MiniStack, which evaluates condition expressions)
//! accepts the real UpdateItem exactly when `Condition::holds` says so, and
//! an accepted write leaves exactly the record the decision computed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use sandbox::Sandbox;
use tagger::aws::order::{self, record_key, OrderGuard};
use tagger::domain::production::Hold;
use tagger::domain::record::{Condition, Promotion, Record, Write};

fn digests() -> [Option<String>; 3] {
    [None, Some("sha256:1".into()), Some("sha256:2".into())]
}

fn stored_records() -> Vec<Record> {
    let mut records = Vec::new();
    for digest in digests() {
        for previous in [None, Some("sha256:9".to_owned())] {
            for sequence in [None, Some(1), Some(2), Some(3)] {
                for hold in [
                    None,
                    Some(Hold {
                        since: "2026-12-01T00:00:00Z".into(),
                        to: "sha256:1".into(),
                        from: Some("sha256:2".into()),
                    }),
                ] {
                    records.push(Record {
                        digest: digest.clone(),
                        previous: previous.clone(),
                        sequence,
                        commit: sequence.map(|s| format!("commit-{s}")),
                        hold,
                    });
                }
            }
        }
    }
    records
}

fn conditions() -> Vec<Condition> {
    let mut conditions = Vec::new();
    for digest_was in digests() {
        for promotion in [
            None,
            Some(Promotion { sequence: None }),
            Some(Promotion { sequence: Some(1) }),
            Some(Promotion { sequence: Some(2) }),
            Some(Promotion { sequence: Some(3) }),
        ] {
            conditions.push(Condition {
                digest_was: digest_was.clone(),
                promotion,
            });
        }
    }
    conditions
}

/// Stores `record` as the item of `tag`, unconditionally, attribute by
/// attribute as the tagger writes them (an absent field, no attribute).
async fn store(client: &aws_sdk_dynamodb::Client, table: &str, tag: &str, record: &Record) {
    let mut item = HashMap::from([("pk".to_owned(), AttributeValue::S(record_key(tag)))]);
    let mut put = |name: &str, value: Option<AttributeValue>| {
        if let Some(value) = value {
            item.insert(name.to_owned(), value);
        }
    };
    put("digest", record.digest.clone().map(AttributeValue::S));
    put("previous", record.previous.clone().map(AttributeValue::S));
    put(
        "sequence",
        record.sequence.map(|s| AttributeValue::N(s.to_string())),
    );
    put("commit", record.commit.clone().map(AttributeValue::S));
    put("hold", record.hold.as_ref().map(order::hold_value));
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn every_condition_agrees_with_dynamodb_on_every_stored_record() {
    let sb = Sandbox::start_or_fail();
    let table = "deliveries-conditions";
    let client = sb.deliveries_table(table).await;
    let guard = OrderGuard {
        client: client.clone(),
        table: table.to_owned(),
    };
    let next = Record {
        digest: Some("sha256:5".into()),
        previous: Some("sha256:1".into()),
        sequence: Some(7),
        commit: Some("commit-7".into()),
        hold: None,
    };
    let (mut checked, mut accepted) = (0, 0);
    for (s, stored) in stored_records().iter().enumerate() {
        // The absent record: no item at all.
        let absent = stored == &Record::default();
        for (c, condition) in conditions().into_iter().enumerate() {
            let tag = format!("agree-{s}-{c}");
            if !absent {
                store(&client, table, &tag, stored).await;
            }
            let expected = condition.holds(stored);
            let write = Write {
                next: next.clone(),
                condition: condition.clone(),
            };
            let written = order::write_record(&guard, &tag, &write).await.unwrap();
            assert_eq!(
                written, expected,
                "stored {stored:?}, condition {condition:?}: DynamoDB said {written}, the model {expected}"
            );
            let after = order::read_record(&guard, &tag).await.unwrap();
            if written {
                assert_eq!(after, next, "an accepted write leaves the record decided");
                accepted += 1;
            } else {
                assert_eq!(&after, stored, "a refused write changes nothing");
            }
            checked += 1;
        }
    }
    eprintln!("{checked} (record, condition) pairs agree; {accepted} writes accepted");
    assert!(checked >= 700 && accepted > 0 && accepted < checked);
}

/// A rollback's write sets the hold and keeps the sequence, a release ends
/// it, as stored by DynamoDB.
#[tokio::test]
async fn a_rollback_write_and_a_release_round_trip() {
    let sb = Sandbox::start_or_fail();
    let table = "deliveries-rollback-write";
    let client = sb.deliveries_table(table).await;
    let guard = OrderGuard {
        client,
        table: table.to_owned(),
    };
    let promoted = Record {
        digest: Some("sha256:2".into()),
        previous: Some("sha256:1".into()),
        sequence: Some(2),
        commit: Some("commit-2".into()),
        hold: None,
    };
    let first = Write {
        next: promoted.clone(),
        condition: Condition {
            digest_was: None,
            promotion: Some(Promotion { sequence: Some(2) }),
        },
    };
    assert!(order::write_record(&guard, "production", &first)
        .await
        .unwrap());
    let hold = Hold {
        since: "2026-12-01T00:00:00Z".into(),
        to: String::new(),
        from: None,
    };
    let rollback = tagger::domain::record::plan_rollback(&promoted, "sha256:1", None, hold)
        .unwrap()
        .unwrap();
    assert!(order::write_record(&guard, "production", &rollback)
        .await
        .unwrap());
    let held = order::read_record(&guard, "production").await.unwrap();
    assert_eq!(held, rollback.next);
    assert_eq!(held.sequence, Some(2));
    assert_eq!(held.hold.as_ref().map(|h| h.to.as_str()), Some("sha256:1"));
    let released = order::release(&guard, "production").await.unwrap();
    assert_eq!(released, held.hold);
    assert_eq!(
        order::read_record(&guard, "production").await.unwrap().hold,
        None
    );
}
