//! ECR converges to the production record: the tags are moved to what the
//! record names, the record is read again, and the moves repeat while it
//! changed. Whoever writes the record runs this after the write, and every
//! invocation of the tagger runs it first, so a crash between the record
//! and the tags is repaired by the next invocation, and a writer that moved
//! a tag to an image the record no longer names moves it back.

use crate::aws::ecr::{self, ImageRef, PutOutcome};
use crate::aws::order::{self, OrderGuard};
use crate::domain::params::{previous_tag, Digest};
use crate::domain::record::{converge, Record, TagRole};
use crate::error::Error;
use crate::handler::Deps;

/// Rounds of "move, read again" before leaving the rest to the writer that
/// keeps moving the record (it converges after its own write).
const MAX_ROUNDS: usize = 5;

/// Moves `tag` and `<tag>-previous` in `repository` to the record and
/// answers the record they agree with.
pub async fn converge_tags(
    deps: &Deps,
    guard: &OrderGuard,
    repository: &str,
    tag: &str,
) -> Result<Record, Error> {
    let previous = previous_tag(tag);
    let mut record = order::read_record(guard, tag).await?;
    for _ in 0..MAX_ROUNDS {
        let holder = holder(deps, repository, tag).await?;
        let previous_holder = holder_of_previous(deps, repository, &previous, &record).await?;
        let moves = converge(&record, holder.as_deref(), previous_holder.as_deref());
        for (role, digest) in &moves {
            let name = match role {
                TagRole::Previous => previous.as_str(),
                TagRole::Current => tag,
            };
            let wanted = Digest::from_ecr(digest.as_str());
            let Some(manifest) =
                ecr::get_image(&deps.ecr, repository, ImageRef::Digest(&wanted)).await?
            else {
                return Err(Error::ImageNotFound {
                    repository: repository.to_owned(),
                    reference: format!("{digest}, which the production record names for {name}"),
                });
            };
            let put = ecr::put_tag(&deps.ecr, repository, &manifest, name).await?;
            tracing::info!(%repository, tag = name, %digest, outcome = ?put, "tag moved to the production record");
            if put == PutOutcome::Tagged && holder.is_some() && *role == TagRole::Current {
                tracing::warn!(%repository, tag = name, was = ?holder, %digest, "the tag disagreed with the production record: repaired");
            }
        }
        let again = order::read_record(guard, tag).await?;
        if again == record {
            return Ok(record);
        }
        record = again;
    }
    Ok(record)
}

async fn holder(deps: &Deps, repository: &str, tag: &str) -> Result<Option<String>, Error> {
    Ok(ecr::get_image(&deps.ecr, repository, ImageRef::Tag(tag))
        .await?
        .map(|m| m.digest.as_str().to_owned()))
}

/// What holds `<tag>-previous`; not read when the record names no previous
/// image (nothing to move it to).
async fn holder_of_previous(
    deps: &Deps,
    repository: &str,
    previous: &str,
    record: &Record,
) -> Result<Option<String>, Error> {
    if record.previous.is_none() {
        return Ok(None);
    }
    holder(deps, repository, previous).await
}
