//! An operator's requests: rollback, release, status. Each first makes the
//! ECR tags agree with the production record (see [`crate::converge`]).

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::aws::ecr::{self, ImageRef, Manifest};
use crate::aws::order::{self, OrderGuard};
use crate::converge::converge_tags;
use crate::domain::params::{previous_tag, Digest, Reference, RollbackRequest, TagOf};
use crate::domain::production::{hold_line, status_report, Hold, Status, TagState};
use crate::domain::record::{plan_rollback, Record};
use crate::error::Error;
use crate::handler::Deps;

/// Now, as RFC 3339 in UTC.
pub fn now_text() -> String {
    aws_sdk_dynamodb::primitives::DateTime::from(SystemTime::now())
        .fmt(aws_sdk_dynamodb::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// The image an operator's reference names.
async fn resolve(
    deps: &Deps,
    repository: &str,
    reference: &Reference,
) -> Result<Option<Manifest>, Error> {
    match reference {
        Reference::Digest(digest) => {
            ecr::get_image(&deps.ecr, repository, ImageRef::Digest(digest)).await
        }
        Reference::Tag(tag) => ecr::get_image(&deps.ecr, repository, ImageRef::Tag(tag)).await,
    }
}

/// The rollback's target: the image `to` names, or the record's previous
/// image (for a record written before it kept one, the image tagged
/// `<tag>-previous`).
async fn target(
    deps: &Deps,
    request: &RollbackRequest,
    record: &Record,
) -> Result<Manifest, Error> {
    let TagOf { repository, tag } = &request.target;
    let previous = previous_tag(tag);
    let found = match (&request.to, &record.previous) {
        (Some(reference), _) => resolve(deps, repository, reference).await?,
        (None, Some(digest)) => {
            let digest = Digest::from_ecr(digest.as_str());
            ecr::get_image(&deps.ecr, repository, ImageRef::Digest(&digest)).await?
        }
        (None, None) => ecr::get_image(&deps.ecr, repository, ImageRef::Tag(&previous)).await?,
    };
    found.ok_or_else(|| match &request.to {
        None => Error::NothingToRollBack {
            repository: repository.clone(),
            tag: previous,
        },
        Some(reference) => Error::ImageNotFound {
            repository: repository.clone(),
            reference: reference.to_string(),
        },
    })
}

/// Moves the tag onto the image the request names (by default the one
/// promoted before it), with a compare-and-swap on the production record,
/// and holds automatic promotion until released. A rollback to the image
/// the record already names changes nothing and sets no hold. `--to` takes
/// only an image that was promoted before (it has a promotion record, or
/// is the record's previous image) unless the request says `force`. No scan
/// gate: a rollback goes back to an image that was promoted before.
pub async fn rollback(deps: &Deps, request: &RollbackRequest) -> Result<Value, Error> {
    let TagOf { repository, tag } = &request.target;
    let Some(guard) = &deps.order_guard else {
        return Err(Error::NoProductionRecord);
    };
    let mut record = converge_tags(deps, guard, repository, tag).await?;
    let target = target(deps, request, &record).await?;
    let to = target.digest.as_str().to_owned();
    let from = record.digest.clone();
    let expect = request.expect.as_ref().map(Digest::as_str);
    let mut changed = false;
    for _ in 0..5 {
        let hold = Hold {
            since: now_text(),
            to: String::new(),
            from: None,
        };
        match plan_rollback(&record, &to, expect, hold) {
            Err(moved) => {
                return Err(Error::ProductionMoved {
                    tag: tag.clone(),
                    expected: moved.expected,
                    found: moved.found.unwrap_or_else(|| "no image".to_owned()),
                })
            }
            Ok(None) => break,
            Ok(Some(_))
                if request.to.is_some()
                    && !request.force
                    && !was_promoted(guard, &record, &to).await? =>
            {
                return Err(Error::NeverPromoted {
                    repository: repository.clone(),
                    digest: to,
                });
            }
            Ok(Some(_)) if request.dry_run => {
                changed = true;
                break;
            }
            Ok(Some(write)) => {
                if order::write_record(guard, tag, &write).await? {
                    changed = true;
                    break;
                }
                record = order::read_record(guard, tag).await?;
            }
        }
    }
    if !request.dry_run {
        record = converge_tags(deps, guard, repository, tag).await?;
    }
    let unchanged = !changed;
    tracing::info!(%repository, %tag, from = ?from, %to, unchanged, dry_run = request.dry_run, "rollback");
    let from_text = from.clone().unwrap_or_else(|| "no image".to_owned());
    let mut report = vec![match (unchanged, request.dry_run) {
        (true, _) => format!("{tag} already holds {to}: unchanged, no hold set"),
        (false, true) => format!("would roll {tag} back: {from_text} -> {to}"),
        (false, false) => format!("{tag}: {to} (was {from_text})"),
    }];
    report.push(hold_line(record.hold.as_ref()));
    Ok(json!({
        "repository": repository,
        "tag": tag,
        "promoted": to,
        "replaced": from,
        "from": from,
        "to": to,
        "previousTag": previous_tag(tag),
        "previous": record.previous,
        "unchanged": unchanged,
        "dryRun": request.dry_run,
        "hold": record.hold,
        "report": report,
    }))
}

/// Whether `digest` was promoted before: it has a promotion record, or the
/// production record names it.
async fn was_promoted(guard: &OrderGuard, record: &Record, digest: &str) -> Result<bool, Error> {
    if record.previous.as_deref() == Some(digest) || record.digest.as_deref() == Some(digest) {
        return Ok(true);
    }
    Ok(order::promotion_of(guard, digest).await?.is_some())
}

/// Ends the hold a rollback set: the next passing build is promoted again.
/// Releasing when nothing is held changes nothing.
pub async fn release(deps: &Deps, target: &TagOf) -> Result<Value, Error> {
    let guard = deps.order_guard.as_ref().ok_or(Error::NoProductionRecord)?;
    converge_tags(deps, guard, &target.repository, &target.tag).await?;
    let released = order::release(guard, &target.tag).await?;
    tracing::info!(repository = %target.repository, released = ?released, "hold released");
    let report = vec![match &released {
        Some(hold) => format!(
            "hold released (it was set {} by a rollback to {}): the next passing build is promoted to {}",
            hold.since, hold.to, target.tag
        ),
        None => format!("no hold was set: {} is promoted by each passing build", target.tag),
    }];
    Ok(json!({
        "repository": target.repository,
        "tag": target.tag,
        "released": released.is_some(),
        "hold": released,
        "report": report,
    }))
}

/// One tag's image and where it came from.
async fn tag_state(deps: &Deps, repository: &str, tag: &str) -> Result<Option<TagState>, Error> {
    let Some(manifest) = ecr::get_image(&deps.ecr, repository, ImageRef::Tag(tag)).await? else {
        return Ok(None);
    };
    let digest = manifest.digest.to_string();
    let tags = ecr::image_tags(&deps.ecr, repository, &manifest.digest).await?;
    let promotion = match &deps.order_guard {
        Some(guard) => order::promotion_of(guard, &digest).await?,
        None => None,
    };
    Ok(Some(TagState {
        tag: tag.to_owned(),
        digest,
        tags,
        promotion,
    }))
}

/// What is in production: the tag's image and the rollback tag's, each with
/// its commit, when and by which execution it was promoted, and the hold.
pub async fn status(deps: &Deps, target: &TagOf) -> Result<Value, Error> {
    let repository = target.repository.as_str();
    let previous = previous_tag(&target.tag);
    let hold = match &deps.order_guard {
        Some(guard) => {
            converge_tags(deps, guard, repository, &target.tag)
                .await?
                .hold
        }
        None => None,
    };
    let status = Status {
        repository: repository.to_owned(),
        production: tag_state(deps, repository, &target.tag).await?,
        previous: tag_state(deps, repository, &previous).await?,
        hold,
    };
    let report = status_report(&status, &target.tag, &previous);
    let mut answer = serde_json::to_value(&status).unwrap_or_default();
    answer["report"] = json!(report);
    Ok(answer)
}
