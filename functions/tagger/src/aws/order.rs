//! The production record, in the deliveries table (the starter's):
//!
//! - the `production` item holds the push sequence, commit and digest
//!   `production` was last promoted to, and the hold a rollback sets;
//! - a `promotion#<digest>` item per promoted image says from which commit
//!   and pipeline execution it was promoted, and when.
//!
//! Production only moves forward: a promotion must carry a higher push
//! sequence than the record, or the same one (the same push's job retried),
//! and no hold may be set. One conditional write decides, so two jobs that
//! race cannot both win with the older push, and a job that races a
//! rollback cannot undo it. A rollback is a compare-and-swap on the record's
//! digest.
//!
//! Every attribute is named through `#name` in expressions: DynamoDB refuses
//! reserved words (`hold` among them) as bare names.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use super::classify_error;
use crate::domain::params::PushOrder;
use crate::domain::production::{Hold, Promotion};
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

/// The push `production` holds, when this one is older.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newer {
    pub commit: String,
    pub sequence: u64,
}

/// Why a promotion may not move `production`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// A newer push holds it.
    Newer(Newer),
    /// A rollback holds it.
    Held(Hold),
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

fn hold_value(hold: &Hold) -> AttributeValue {
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
async fn production_item(guard: &OrderGuard, tag: &str) -> Result<Item, Error> {
    let read = guard
        .client
        .get_item()
        .table_name(&guard.table)
        .key("pk", key(&record_key(tag)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| classify_error("DynamoDB", "GetItem", None, e))?;
    Ok(read.item.unwrap_or_default())
}

/// The digest the record says `tag` was last moved to, and the hold.
pub async fn production_record(
    guard: &OrderGuard,
    tag: &str,
) -> Result<(Option<String>, Option<Hold>), Error> {
    let item = production_item(guard, tag).await?;
    Ok((text(&item, "digest"), hold_of(&item)))
}

/// Records a promotion to `digest` (of `push`, when a push started it),
/// unless a newer push holds production or a rollback holds it.
pub async fn advance(
    guard: &OrderGuard,
    tag: &str,
    push: Option<&PushOrder>,
    digest: &str,
) -> Result<Result<(), Blocked>, Error> {
    let mut update = guard
        .client
        .update_item()
        .table_name(&guard.table)
        .key("pk", key(&record_key(tag)))
        .expression_attribute_names("#digest", "digest")
        .expression_attribute_names("#hold", "hold")
        .expression_attribute_values(":digest", AttributeValue::S(digest.to_owned()));
    update = match push {
        Some(push) => update
            .update_expression("SET #sequence = :sequence, #commit = :commit, #digest = :digest")
            .condition_expression(
                "(attribute_not_exists(#sequence) OR #sequence <= :sequence) AND attribute_not_exists(#hold)",
            )
            .expression_attribute_names("#sequence", "sequence")
            .expression_attribute_names("#commit", "commit")
            .expression_attribute_values(":sequence", AttributeValue::N(push.sequence.to_string()))
            .expression_attribute_values(":commit", AttributeValue::S(push.commit.clone())),
        // Started by hand: no push order to keep, but a hold still applies.
        None => update
            .update_expression("SET #digest = :digest")
            .condition_expression("attribute_not_exists(#hold)"),
    };
    match update.send().await {
        Ok(_) => Ok(Ok(())),
        Err(error) if is_condition_failed(&error) => {
            let item = production_item(guard, tag).await?;
            if let Some(hold) = hold_of(&item) {
                return Ok(Err(Blocked::Held(hold)));
            }
            Ok(Err(Blocked::Newer(Newer {
                commit: text(&item, "commit").unwrap_or_default(),
                sequence: number(&item, "sequence").unwrap_or(0),
            })))
        }
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

/// The rollback's compare-and-swap: the record moves to `target` and the
/// hold is set, provided the record still says `holder` (what the tag holds
/// now) or already says `target` (the same rollback repeated). When the tag
/// holds no image there is nothing to swap against, and the record is
/// written as it is. A repeat (`repeat`: the tag already holds `target`)
/// keeps the hold it finds; a rollback to another image replaces it.
/// Answers the hold in effect, or the digest the record names when it moved
/// under us.
pub async fn roll_back(
    guard: &OrderGuard,
    tag: &str,
    holder: Option<&str>,
    target: &str,
    hold: &Hold,
    repeat: bool,
) -> Result<Result<Hold, Option<String>>, Error> {
    let set_hold = if repeat {
        "SET #digest = :target, #hold = if_not_exists(#hold, :hold)"
    } else {
        "SET #digest = :target, #hold = :hold"
    };
    let mut update = guard
        .client
        .update_item()
        .table_name(&guard.table)
        .key("pk", key(&record_key(tag)))
        .update_expression(set_hold)
        .expression_attribute_names("#digest", "digest")
        .expression_attribute_names("#hold", "hold")
        .expression_attribute_values(":target", AttributeValue::S(target.to_owned()))
        .expression_attribute_values(":hold", hold_value(hold))
        .return_values(ReturnValue::AllNew);
    if let Some(holder) = holder {
        update = update
            .condition_expression(
                "attribute_not_exists(#digest) OR #digest = :holder OR #digest = :target",
            )
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()));
    }
    match update.send().await {
        Ok(output) => {
            let item = output.attributes.unwrap_or_default();
            Ok(Ok(hold_of(&item).unwrap_or_else(|| hold.clone())))
        }
        Err(error) if is_condition_failed(&error) => {
            let (digest, _) = production_record(guard, tag).await?;
            Ok(Err(digest))
        }
        Err(error) => Err(classify_error("DynamoDB", "UpdateItem", None, error)),
    }
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
