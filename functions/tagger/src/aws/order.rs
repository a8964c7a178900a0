//! Production only moves forward: the `production` item of the deliveries
//! table (the starter's) holds the push sequence `production` was last
//! promoted from, and a promotion must carry a higher one, or the same one
//! (the same push's job retried). One conditional write decides, so two jobs
//! that race cannot both win with the older push.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::classify_error;
use crate::domain::params::PushOrder;
use crate::error::Error;

/// The item's key in the table's partition key `pk`.
pub const PRODUCTION_KEY: &str = "production";
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

/// Records `push` as production's, unless a newer push already is.
pub async fn advance(
    guard: &OrderGuard,
    push: &PushOrder,
    digest: &str,
) -> Result<Result<(), Newer>, Error> {
    let sequence = AttributeValue::N(push.sequence.to_string());
    let result = guard
        .client
        .update_item()
        .table_name(&guard.table)
        .key("pk", AttributeValue::S(PRODUCTION_KEY.to_owned()))
        .update_expression("SET #sequence = :sequence, #commit = :commit, digest = :digest")
        .condition_expression("attribute_not_exists(#sequence) OR #sequence <= :sequence")
        .expression_attribute_names("#sequence", "sequence")
        .expression_attribute_names("#commit", "commit")
        .expression_attribute_values(":sequence", sequence)
        .expression_attribute_values(":commit", AttributeValue::S(push.commit.clone()))
        .expression_attribute_values(":digest", AttributeValue::S(digest.to_owned()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Ok(())),
        Err(error)
            if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&error)
                == Some(CONDITION_FAILED) =>
        {
            let held = guard
                .client
                .get_item()
                .table_name(&guard.table)
                .key("pk", AttributeValue::S(PRODUCTION_KEY.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| classify_error("DynamoDB", "GetItem", None, e))?;
            let item = held.item.unwrap_or_default();
            let text = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            let sequence = item
                .get("sequence")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Ok(Err(Newer {
                commit: text("commit"),
                sequence,
            }))
        }
        Err(error) => Err(classify_error("DynamoDB", "UpdateItem", None, error)),
    }
}
