//! The production record, in the deliveries table (the starter's):
//!
//! - the `production` item (`production#<tag>` for another tag) is the one
//!   source of truth for what the tag holds: `digest`, `previous`, the
//!   highest push `sequence` promoted and its `commit`, and the `hold` a
//!   rollback sets ([`crate::domain::record`] decides every change);
//! - a `promotion#<digest>` item per promoted image says from which commit
//!   and pipeline execution it was promoted, and when.
//!
//! Every change of the record is one UpdateItem whose condition is
//! [`condition_expression`] of the decision's [`Condition`], so two jobs, or
//! a job and a rollback, cannot both win against the same record.
//!
//! Every attribute is named through `#name` in expressions: DynamoDB refuses
//! reserved words (`hold` among them) as bare names.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use super::classify_error;
use crate::domain::production::{Hold, Promotion};
use crate::domain::record::{Condition, Record, Write};
use crate::error::Error;

/// The `production` tag's record: its key in the table's partition key `pk`.
pub const PRODUCTION_KEY: &str = "production";

/// The record of `tag`: `production` for the default tag (the key an older
/// install wrote), `production#<tag>` for any other.
pub fn record_key(tag: &str) -> String {
    if tag == crate::domain::params::DEFAULT_TAG {
        PRODUCTION_KEY.to_owned()
    } else {
        format!("{PRODUCTION_KEY}#{tag}")
    }
}
/// The prefix of a promoted image's item key.
pub const PROMOTION_PREFIX: &str = "promotion#";
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// The table and its client.
#[derive(Debug, Clone)]
pub struct OrderGuard {
    pub client: Client,
    pub table: String,
}

type Item = HashMap<String, AttributeValue>;

fn key(pk: &str) -> AttributeValue {
    AttributeValue::S(pk.to_owned())
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn is_condition_failed<E: ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some(CONDITION_FAILED)
}

fn hold_of(item: &Item) -> Option<Hold> {
    let map = item.get("hold")?.as_m().ok()?;
    Some(Hold {
        since: text(map, "since").unwrap_or_default(),
        to: text(map, "to").unwrap_or_default(),
        from: text(map, "from"),
    })
}

/// The `hold` attribute as the record stores it.
pub fn hold_value(hold: &Hold) -> AttributeValue {
    let mut map = HashMap::from([
        ("since".to_owned(), AttributeValue::S(hold.since.clone())),
        ("to".to_owned(), AttributeValue::S(hold.to.clone())),
    ]);
    if let Some(from) = &hold.from {
        map.insert("from".to_owned(), AttributeValue::S(from.clone()));
    }
    AttributeValue::M(map)
}

/// The tag's record, read consistently (empty when there is none).
pub async fn read_record(guard: &OrderGuard, tag: &str) -> Result<Record, Error> {
    let read = guard
        .client
        .get_item()
        .table_name(&guard.table)
        .key("pk", key(&record_key(tag)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| classify_error("DynamoDB", "GetItem", None, e))?;
    let item = read.item.unwrap_or_default();
    Ok(Record {
        digest: text(&item, "digest"),
        previous: text(&item, "previous"),
        sequence: number(&item, "sequence"),
        commit: text(&item, "commit"),
        hold: hold_of(&item),
    })
}

/// The condition expression of `condition` (with the values it names).
pub fn condition_expression(
    condition: &Condition,
) -> (String, Vec<(&'static str, AttributeValue)>) {
    let mut values = Vec::new();
    let mut parts = vec![match &condition.digest_was {
        Some(digest) => {
            values.push((":digest_was", AttributeValue::S(digest.clone())));
            "#digest = :digest_was".to_owned()
        }
        None => "attribute_not_exists(#digest)".to_owned(),
    }];
    if let Some(promotion) = &condition.promotion {
        parts.push("attribute_not_exists(#hold)".to_owned());
        if let Some(sequence) = promotion.sequence {
            values.push((":sequence_new", AttributeValue::N(sequence.to_string())));
            parts.push("(attribute_not_exists(#sequence) OR #sequence < :sequence_new)".to_owned());
        }
    }
    (parts.join(" AND "), values)
}

/// Stores `write.next` if its condition holds. `Ok(false)`: it did not
/// (read the record again and decide again).
pub async fn write_record(guard: &OrderGuard, tag: &str, write: &Write) -> Result<bool, Error> {
    let next = &write.next;
    let (condition, condition_values) = condition_expression(&write.condition);
    let mut set = Vec::new();
    let mut remove = Vec::new();
    let mut update = guard
        .client
        .update_item()
        .table_name(&guard.table)
        .key("pk", key(&record_key(tag)))
        .condition_expression(condition)
        .expression_attribute_names("#digest", "digest")
        .expression_attribute_names("#previous", "previous")
        .expression_attribute_names("#sequence", "sequence")
        .expression_attribute_names("#commit", "commit")
        .expression_attribute_names("#hold", "hold");
    for (name, value) in condition_values {
        update = update.expression_attribute_values(name, value);
    }
    let fields = [
        (
            "#digest",
            ":digest",
            next.digest.clone().map(AttributeValue::S),
        ),
        (
            "#previous",
            ":previous",
            next.previous.clone().map(AttributeValue::S),
        ),
        (
            "#sequence",
            ":sequence",
            next.sequence.map(|s| AttributeValue::N(s.to_string())),
        ),
        (
            "#commit",
            ":commit",
            next.commit.clone().map(AttributeValue::S),
        ),
        ("#hold", ":hold", next.hold.as_ref().map(hold_value)),
    ];
    for (name, placeholder, value) in fields {
        match value {
            Some(value) => {
                set.push(format!("{name} = {placeholder}"));
                update = update.expression_attribute_values(placeholder, value);
            }
            None => remove.push(name),
        }
    }
    let mut expression = String::new();
    if !set.is_empty() {
        expression.push_str(&format!("SET {}", set.join(", ")));
    }
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    match update.update_expression(expression.trim()).send().await {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failed(&error) => Ok(false),
        Err(error) => Err(classify_error("DynamoDB", "UpdateItem", None, error)),
    }
}

/// Remembers where a promoted image came from (its `promotion#` item).
pub async fn record_promotion(
    guard: &OrderGuard,
    digest: &str,
    promotion: &Promotion,
) -> Result<(), Error> {
    let mut names = vec!["#at = :at".to_owned()];
    let mut update = guard
        .client
        .update_item()
        .table_name(&guard.table)
        .key("pk", key(&format!("{PROMOTION_PREFIX}{digest}")))
        .expression_attribute_names("#at", "promotedAt")
        .expression_attribute_values(":at", AttributeValue::S(promotion.promoted_at.clone()));
    if let Some(commit) = &promotion.commit {
        names.push("#commit = :commit".to_owned());
        update = update
            .expression_attribute_names("#commit", "commit")
            .expression_attribute_values(":commit", AttributeValue::S(commit.clone()));
    }
    if let Some(sequence) = promotion.sequence {
        names.push("#sequence = :sequence".to_owned());
        update = update
            .expression_attribute_names("#sequence", "sequence")
            .expression_attribute_values(":sequence", AttributeValue::N(sequence.to_string()));
    }
    if let Some(execution) = &promotion.execution {
        names.push("#execution = :execution".to_owned());
        update = update
            .expression_attribute_names("#execution", "execution")
            .expression_attribute_values(":execution", AttributeValue::S(execution.clone()));
    }
    update
        .update_expression(format!("SET {}", names.join(", ")))
        .send()
        .await
        .map_err(|e| classify_error("DynamoDB", "UpdateItem", None, e))?;
    Ok(())
}

/// Where a promoted image came from, if the tagger promoted it.
pub async fn promotion_of(guard: &OrderGuard, digest: &str) -> Result<Option<Promotion>, Error> {
    let read = guard
        .client
        .get_item()
        .table_name(&guard.table)
        .key("pk", key(&format!("{PROMOTION_PREFIX}{digest}")))
        .send()
        .await
        .map_err(|e| classify_error("DynamoDB", "GetItem", None, e))?;
    Ok(read.item.map(|item| Promotion {
        commit: text(&item, "commit"),
        sequence: number(&item, "sequence"),
        execution: text(&item, "execution"),
        promoted_at: text(&item, "promotedAt").unwrap_or_default(),
    }))
}

/// Ends the hold; answers the hold that was set, if any.
pub async fn release(guard: &OrderGuard, tag: &str) -> Result<Option<Hold>, Error> {
    let output = guard
        .client
        .update_item()
        .table_name(&guard.table)
        .key("pk", key(&record_key(tag)))
        .update_expression("REMOVE #hold")
        .expression_attribute_names("#hold", "hold")
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .map_err(|e| classify_error("DynamoDB", "UpdateItem", None, e))?;
    Ok(output.attributes.as_ref().and_then(hold_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tag_has_its_own_record_and_production_keeps_its_key() {
        assert_eq!(record_key("production"), "production");
        assert_eq!(record_key("staging"), "production#staging");
    }
}
