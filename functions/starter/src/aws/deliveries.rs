//! The deliveries table (DynamoDB): one item per delivery, keyed
//! `delivery#<X-GitHub-Delivery>`, and one `head` item for the newest push
//! started. Every write that decides something is conditional, so two
//! starters (cold starts, concurrent instances, Lambda's retries) cannot both
//! win it; reads after a lost condition are strongly consistent.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use crate::domain::ledger::{
    after_lost_claim, Conflict, DeliveryState, LEASE_SECONDS, REMEMBER_SECONDS,
};
use crate::domain::order::{may_start, Head, Late};
use crate::domain::push::Push;
use crate::error::Error;

/// The table's partition key (a string).
pub const KEY: &str = "pk";
/// The attribute the table's TTL reads (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// The key of the newest-push record.
pub const HEAD_KEY: &str = "head";
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// A claim wins when nobody holds the delivery, or when the claim that holds
/// it was never finished and its lease has ended (see the ledger's crash
/// windows).
pub const CLAIM_CONDITION: &str =
    "attribute_not_exists(pk) OR (#state = :claimed AND lease_until < :now)";

/// [`may_start`] as one condition: no head yet, the head's own delivery
/// (retried after its start failed), a later push, or a push of the same
/// second on top of the head.
pub const ADVANCE_CONDITION: &str = "attribute_not_exists(pushed_at) OR delivery_id = :delivery \
     OR pushed_at < :pushed_at OR (pushed_at = :pushed_at AND head_commit = :before)";

pub fn delivery_key(delivery_id: &str) -> String {
    format!("delivery#{delivery_id}")
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn is_condition_failed(error: &Error) -> bool {
    error.code() == Some(CONDITION_FAILED)
}

/// What a claim attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This attempt holds the delivery.
    Won,
    /// Another attempt holds it or finished it.
    Lost(Conflict),
}

/// Claims `push`'s delivery for `attempt` (the Lambda request id) at `now`.
pub async fn claim(
    client: &Client,
    table: &str,
    push: &Push,
    attempt: &str,
    now: i64,
) -> Result<Claim, Error> {
    let key = delivery_key(&push.delivery_id);
    // One retry: a record that vanished between the put and the read was
    // given back by its attempt, and the next put wins or meets a new owner.
    for _ in 0..2 {
        let put = client
            .put_item()
            .table_name(table)
            .item(KEY, s(&key))
            .item("state", s(DeliveryState::CLAIMED))
            .item("attempt", s(attempt))
            .item("lease_until", n(now + LEASE_SECONDS))
            .item("commit", s(&push.commit))
            .item("pushed_at", n(push.pushed_at))
            .item(TTL_ATTRIBUTE, n(now + REMEMBER_SECONDS))
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", s(DeliveryState::CLAIMED))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(|e| Error::aws("PutItem", e));
        match put {
            Ok(_) => return Ok(Claim::Won),
            Err(error) if is_condition_failed(&error) => {}
            Err(error) => return Err(error),
        }
        let existing = read(client, table, &key)
            .await?
            .map(|item| delivery_state(&key, &item))
            .transpose()?;
        match after_lost_claim(existing, now) {
            Conflict::Gone => continue,
            conflict => return Ok(Claim::Lost(conflict)),
        }
    }
    Ok(Claim::Lost(Conflict::InFlight {
        lease_until: now + LEASE_SECONDS,
    }))
}

/// Makes `push` the head, if the push order allows it. Returns its sequence
/// number, or why it is late.
pub async fn advance_head(
    client: &Client,
    table: &str,
    push: &Push,
) -> Result<Result<u64, Late>, Error> {
    for _ in 0..3 {
        let update = client
            .update_item()
            .table_name(table)
            .key(KEY, s(HEAD_KEY))
            .update_expression(
                "SET pushed_at = :pushed_at, head_commit = :commit, delivery_id = :delivery, \
                 #sequence = if_not_exists(#sequence, :zero) + :one",
            )
            .condition_expression(ADVANCE_CONDITION)
            .expression_attribute_names("#sequence", "sequence")
            .expression_attribute_values(":pushed_at", n(push.pushed_at))
            .expression_attribute_values(":commit", s(&push.commit))
            .expression_attribute_values(":delivery", s(&push.delivery_id))
            .expression_attribute_values(":before", s(&push.before))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| Error::aws("UpdateItem", e));
        match update {
            Ok(output) => {
                let sequence = output
                    .attributes()
                    .and_then(|a| a.get("sequence"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or(Error::Unexpected {
                        operation: "UpdateItem",
                        missing: "the new sequence",
                    })?;
                return Ok(Ok(sequence));
            }
            Err(error) if is_condition_failed(&error) => {}
            Err(error) => return Err(error),
        }
        let head = read(client, table, HEAD_KEY)
            .await?
            .map(|item| head(&item))
            .transpose()?;
        if let Err(late) = may_start(head.as_ref(), push) {
            return Ok(Err(late));
        }
        // The head moved between the write and the read: decide again.
    }
    Err(Error::Unexpected {
        operation: "UpdateItem",
        missing: "a settled head after three tries",
    })
}

/// Records what became of the delivery this attempt claimed.
pub async fn finish(
    client: &Client,
    table: &str,
    delivery_id: &str,
    state: &DeliveryState,
) -> Result<(), Error> {
    let mut update = client
        .update_item()
        .table_name(table)
        .key(KEY, s(&delivery_key(delivery_id)))
        .expression_attribute_names("#state", "state");
    update = match state {
        DeliveryState::Started { execution_id } => update
            .update_expression("SET #state = :state, execution_id = :execution REMOVE lease_until")
            .expression_attribute_values(":state", s(DeliveryState::STARTED))
            .expression_attribute_values(":execution", s(execution_id)),
        DeliveryState::Late => update
            .update_expression("SET #state = :state REMOVE lease_until")
            .expression_attribute_values(":state", s(DeliveryState::LATE)),
        DeliveryState::Claimed { .. } => return Ok(()),
    };
    update
        .send()
        .await
        .map_err(|e| Error::aws("UpdateItem", e))?;
    Ok(())
}

/// Gives the claim back after a failed start, so a retry can take it. Only
/// this attempt's own unfinished claim is deleted.
pub async fn release(
    client: &Client,
    table: &str,
    delivery_id: &str,
    attempt: &str,
) -> Result<(), Error> {
    let result = client
        .delete_item()
        .table_name(table)
        .key(KEY, s(&delivery_key(delivery_id)))
        .condition_expression("attempt = :attempt AND #state = :claimed")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":attempt", s(attempt))
        .expression_attribute_values(":claimed", s(DeliveryState::CLAIMED))
        .send()
        .await
        .map_err(|e| Error::aws("DeleteItem", e));
    match result {
        Err(error) if is_condition_failed(&error) => Ok(()),
        other => other.map(|_| ()),
    }
}

type Item = HashMap<String, AttributeValue>;

async fn read(client: &Client, table: &str, key: &str) -> Result<Option<Item>, Error> {
    let output = client
        .get_item()
        .table_name(table)
        .key(KEY, s(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Error::aws("GetItem", e))?;
    Ok(output.item)
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn delivery_state(key: &str, item: &Item) -> Result<DeliveryState, Error> {
    let malformed = |reason| Error::MalformedRecord {
        key: key.to_owned(),
        reason,
    };
    match text(item, "state") {
        Some(DeliveryState::CLAIMED) => Ok(DeliveryState::Claimed {
            attempt: text(item, "attempt").unwrap_or_default().to_owned(),
            lease_until: number(item, "lease_until")
                .ok_or_else(|| malformed("a claim without lease_until"))?,
        }),
        Some(DeliveryState::STARTED) => Ok(DeliveryState::Started {
            execution_id: text(item, "execution_id").unwrap_or("unknown").to_owned(),
        }),
        Some(DeliveryState::LATE) => Ok(DeliveryState::Late),
        _ => Err(malformed("no known state")),
    }
}

fn head(item: &Item) -> Result<Head, Error> {
    let malformed = |reason| Error::MalformedRecord {
        key: HEAD_KEY.to_owned(),
        reason,
    };
    Ok(Head {
        pushed_at: number(item, "pushed_at").ok_or_else(|| malformed("no pushed_at"))?,
        commit: text(item, "head_commit")
            .ok_or_else(|| malformed("no head_commit"))?
            .to_owned(),
        delivery_id: text(item, "delivery_id").unwrap_or_default().to_owned(),
        sequence: number(item, "sequence")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0),
    })
}
