//! EventBridge: the rule on the GitHub bus and its starter target.
//!
//! PutRule creates or replaces a rule (it never says "already exists"), so
//! the installer looks a rule up with DescribeRule before deciding whether it
//! may touch it. PutRule's `Tags` only apply when the rule is created; an
//! existing rule's tags are set with TagResource.

use aws_sdk_eventbridge::types::{DeadLetterConfig, RetryPolicy, RuleState, Tag, Target};
use aws_sdk_eventbridge::Client;

use crate::domain::rule::{RuleSpec, TargetSpec};
use crate::error::Error;

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
/// RemoveTargets takes at most 100 ids.
const REMOVE_BATCH: usize = 100;

fn not_found_is_none<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.has_code(NOT_FOUND) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The rule's ARN, or None when there is no such rule on the bus.
pub async fn find_rule(client: &Client, bus: &str, name: &str) -> Result<Option<String>, Error> {
    let result = client
        .describe_rule()
        .name(name)
        .event_bus_name(bus)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeRule", e));
    match not_found_is_none(result)? {
        None => Ok(None),
        Some(output) => match output.arn() {
            Some(arn) => Ok(Some(arn.to_owned())),
            None => Err(Error::Unexpected {
                operation: "DescribeRule",
                missing: "Arn",
            }),
        },
    }
}

pub async fn rule_tags(client: &Client, arn: &str) -> Result<Vec<(String, String)>, Error> {
    let output = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| Error::aws("ListTagsForResource", e))?;
    Ok(output
        .tags()
        .iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect())
}

fn tags(spec: &RuleSpec) -> Result<Vec<Tag>, Error> {
    spec.tags
        .iter()
        .map(|tag| Ok(Tag::builder().key(&tag.key).value(&tag.value).build()?))
        .collect()
}

/// Creates or replaces the rule (always ENABLED, so a rule disabled by hand
/// is switched back on). Returns its ARN.
pub async fn put_rule(client: &Client, spec: &RuleSpec, creating: bool) -> Result<String, Error> {
    let mut request = client
        .put_rule()
        .name(&spec.name)
        .event_bus_name(&spec.event_bus_name)
        .event_pattern(&spec.event_pattern)
        .description(&spec.description)
        .state(RuleState::Enabled);
    if creating {
        request = request.set_tags(Some(tags(spec)?));
    }
    let output = request.send().await.map_err(|e| Error::aws("PutRule", e))?;
    output
        .rule_arn()
        .map(str::to_owned)
        .ok_or(Error::Unexpected {
            operation: "PutRule",
            missing: "RuleArn",
        })
}

pub async fn tag_rule(client: &Client, arn: &str, spec: &RuleSpec) -> Result<(), Error> {
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags(spec)?))
        .send()
        .await
        .map_err(|e| Error::aws("TagResource", e))?;
    Ok(())
}

/// Creates or replaces the starter target (other targets are left alone).
pub async fn put_target(
    client: &Client,
    spec: &RuleSpec,
    target: &TargetSpec,
) -> Result<(), Error> {
    let target = Target::builder()
        .id(target.id)
        .arn(&target.arn)
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(target.max_retries)
                .maximum_event_age_in_seconds(target.max_event_age_seconds)
                .build(),
        )
        .dead_letter_config(
            DeadLetterConfig::builder()
                .arn(&target.dead_letter_queue_arn)
                .build(),
        )
        .build()?;
    let output = client
        .put_targets()
        .rule(&spec.name)
        .event_bus_name(&spec.event_bus_name)
        .targets(target)
        .send()
        .await
        .map_err(|e| Error::aws("PutTargets", e))?;
    failed_entries(
        "PutTargets",
        output.failed_entry_count(),
        output
            .failed_entries()
            .iter()
            .map(|entry| (entry.error_code(), entry.error_message())),
    )
}

fn failed_entries<'a>(
    operation: &'static str,
    count: i32,
    entries: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Result<(), Error> {
    if count == 0 {
        return Ok(());
    }
    let detail = entries
        .take(3)
        .map(|(code, message)| format!("{}: {}", code.unwrap_or("-"), message.unwrap_or("-")))
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::PartialFailure {
        operation,
        failed: usize::try_from(count).unwrap_or(0),
        detail,
    })
}

/// The ids of the rule's targets, or None when there is no such rule.
async fn target_ids(client: &Client, bus: &str, rule: &str) -> Result<Option<Vec<String>>, Error> {
    let mut ids = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let result = client
            .list_targets_by_rule()
            .rule(rule)
            .event_bus_name(bus)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| Error::aws("ListTargetsByRule", e));
        let Some(output) = not_found_is_none(result)? else {
            return Ok(None);
        };
        ids.extend(output.targets().iter().map(|target| target.id().to_owned()));
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => return Ok(Some(ids)),
        }
    }
}

/// Removes these targets of the rule, in batches; a rule already gone has none.
async fn remove_targets(
    client: &Client,
    bus: &str,
    rule: &str,
    ids: &[String],
) -> Result<(), Error> {
    for batch in ids.chunks(REMOVE_BATCH) {
        let result = client
            .remove_targets()
            .rule(rule)
            .event_bus_name(bus)
            .set_ids(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| Error::aws("RemoveTargets", e));
        if let Some(output) = not_found_is_none(result)? {
            failed_entries(
                "RemoveTargets",
                output.failed_entry_count(),
                output
                    .failed_entries()
                    .iter()
                    .map(|entry| (entry.error_code(), entry.error_message())),
            )?;
        }
    }
    Ok(())
}

/// Removes every target of the rule (DeleteRule refuses a rule that has
/// targets). A rule that is already gone has none.
pub async fn remove_all_targets(client: &Client, bus: &str, rule: &str) -> Result<(), Error> {
    match target_ids(client, bus, rule).await? {
        Some(ids) => remove_targets(client, bus, rule, &ids).await,
        None => Ok(()),
    }
}

/// Removes the target `id` from the rule when it has one (RemoveTargets is
/// only called for an id ListTargetsByRule lists).
pub async fn remove_target(client: &Client, spec: &RuleSpec, id: &str) -> Result<(), Error> {
    let (bus, rule) = (&spec.event_bus_name, &spec.name);
    let ids = target_ids(client, bus, rule).await?.unwrap_or_default();
    let matching: Vec<String> = ids.into_iter().filter(|t| t == id).collect();
    remove_targets(client, bus, rule, &matching).await
}

/// Deletes the rule; a rule that is already gone counts as deleted.
pub async fn delete_rule(client: &Client, bus: &str, name: &str) -> Result<(), Error> {
    let result = client
        .delete_rule()
        .name(name)
        .event_bus_name(bus)
        .send()
        .await
        .map_err(|e| Error::aws("DeleteRule", e));
    not_found_is_none(result).map(|_| ())
}
