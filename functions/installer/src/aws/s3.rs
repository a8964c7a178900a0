//! S3: emptying the versioned artifact bucket so CloudFormation can delete it.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use tokio::task::JoinSet;

use crate::error::Error;

/// DeleteObjects takes at most 1000 keys; ListObjectVersions returns at most
/// 1000 entries (versions and delete markers together) a page.
pub const DELETE_BATCH: usize = 1000;
/// DeleteObjects calls allowed in flight while the next page is listed.
const MAX_IN_FLIGHT: usize = 4;
/// Full passes over the bucket before giving up on objects written meanwhile.
const MAX_PASSES: usize = 3;

/// What emptying a bucket did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Emptied {
    /// Object versions and delete markers deleted.
    pub deleted: usize,
    /// DeleteObjects calls made.
    pub delete_calls: usize,
    /// ListObjectVersions pages read.
    pub pages: usize,
}

/// Deletes every object version and delete marker of `bucket`.
///
/// Pages of ListObjectVersions are turned into DeleteObjects calls of up to
/// 1000 keys, which run (up to four at a time) while the next page is listed.
/// A bucket that does not exist counts as empty.
pub async fn empty_bucket(client: &Client, bucket: &str) -> Result<Emptied, Error> {
    let mut total = Emptied::default();
    for _ in 0..MAX_PASSES {
        let pass = empty_pass(client, bucket).await?;
        total.deleted += pass.deleted;
        total.delete_calls += pass.delete_calls;
        total.pages += pass.pages;
        if pass.deleted == 0 {
            return Ok(total);
        }
    }
    // Objects keep appearing (something still writes): report what is left.
    let left = list_page(client, bucket, None, None).await?;
    match left {
        Some(page) if !page.keys.is_empty() => Err(Error::PartialFailure {
            operation: "DeleteObjects",
            failed: page.keys.len(),
            detail: format!("{bucket} still has objects after {MAX_PASSES} passes"),
        }),
        _ => Ok(total),
    }
}

struct Page {
    keys: Vec<ObjectIdentifier>,
    next: Option<(Option<String>, Option<String>)>,
}

async fn list_page(
    client: &Client,
    bucket: &str,
    key_marker: Option<String>,
    version_id_marker: Option<String>,
) -> Result<Option<Page>, Error> {
    let output = match client
        .list_object_versions()
        .bucket(bucket)
        .max_keys(i32::try_from(DELETE_BATCH).unwrap_or(1000))
        .set_key_marker(key_marker)
        .set_version_id_marker(version_id_marker)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) => {
            let error = Error::aws("ListObjectVersions", e);
            if error.has_code(&["NoSuchBucket"]) {
                return Ok(None);
            }
            return Err(error);
        }
    };
    let mut keys = Vec::new();
    for version in output.versions() {
        if let Some(key) = version.key() {
            keys.push(identifier(key, version.version_id())?);
        }
    }
    for marker in output.delete_markers() {
        if let Some(key) = marker.key() {
            keys.push(identifier(key, marker.version_id())?);
        }
    }
    let next = output.is_truncated().unwrap_or(false).then(|| {
        (
            output.next_key_marker().map(str::to_owned),
            output.next_version_id_marker().map(str::to_owned),
        )
    });
    Ok(Some(Page { keys, next }))
}

fn identifier(key: &str, version_id: Option<&str>) -> Result<ObjectIdentifier, Error> {
    Ok(ObjectIdentifier::builder()
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .build()?)
}

async fn empty_pass(client: &Client, bucket: &str) -> Result<Emptied, Error> {
    let mut stats = Emptied::default();
    let mut in_flight: JoinSet<Result<usize, Error>> = JoinSet::new();
    let mut markers: (Option<String>, Option<String>) = (None, None);
    loop {
        let Some(page) = list_page(client, bucket, markers.0.take(), markers.1.take()).await?
        else {
            break;
        };
        stats.pages += 1;
        for chunk in page.keys.chunks(DELETE_BATCH) {
            while in_flight.len() >= MAX_IN_FLIGHT {
                stats.deleted += joined(in_flight.join_next().await)?;
            }
            stats.delete_calls += 1;
            in_flight.spawn(delete_batch(
                client.clone(),
                bucket.to_owned(),
                chunk.to_vec(),
            ));
        }
        match page.next {
            Some(next) => markers = next,
            None => break,
        }
    }
    while let Some(result) = in_flight.join_next().await {
        stats.deleted += joined(Some(result))?;
    }
    Ok(stats)
}

fn joined(
    result: Option<Result<Result<usize, Error>, tokio::task::JoinError>>,
) -> Result<usize, Error> {
    match result {
        None => Ok(0),
        Some(Ok(result)) => result,
        Some(Err(join_error)) => Err(Error::Panic(join_error.to_string())),
    }
}

async fn delete_batch(
    client: Client,
    bucket: String,
    keys: Vec<ObjectIdentifier>,
) -> Result<usize, Error> {
    let count = keys.len();
    let delete = Delete::builder()
        .set_objects(Some(keys))
        .quiet(true)
        .build()?;
    let output = match client
        .delete_objects()
        .bucket(&bucket)
        .delete(delete)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) => {
            let error = Error::aws("DeleteObjects", e);
            if error.has_code(&["NoSuchBucket"]) {
                return Ok(0);
            }
            return Err(error);
        }
    };
    let errors = output.errors();
    if errors.is_empty() {
        return Ok(count);
    }
    let detail = errors
        .iter()
        .take(3)
        .map(|e| {
            format!(
                "{}: {}: {}",
                e.key().unwrap_or("-"),
                e.code().unwrap_or("-"),
                e.message().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::PartialFailure {
        operation: "DeleteObjects",
        failed: errors.len(),
        detail,
    })
}
