//! The ECR calls the tagger makes: read an image's manifest, put a tag on a
//! manifest, find the newest image, read a scan result.

use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsError;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::primitives::DateTime;
use aws_sdk_ecr::types::{FindingSeverity, ImageFailureCode, ImageIdentifier, TagStatus};
use aws_sdk_ecr::Client;

use super::classify_error;
use crate::domain::params::{Digest, CACHE_TAG};
use crate::domain::scan::{classify, ScanState, SeverityCounts};
use crate::error::Error;

/// Docker v2 manifests, manifest lists, OCI manifests and OCI indexes: asked
/// for explicitly, so ECR returns each image in its own format.
pub const ACCEPTED_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// An image manifest exactly as ECR returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The image digest.
    pub digest: Digest,
    /// The manifest text, byte for byte.
    pub body: String,
    /// Its media type, when ECR reported one.
    pub media_type: Option<String>,
}

impl Manifest {
    /// The platform manifests of a manifest list or OCI index (attestations
    /// left out); empty for a single-platform manifest.
    pub fn platform_digests(&self) -> Vec<Digest> {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&self.body) else {
            return Vec::new();
        };
        let Some(entries) = json.get("manifests").and_then(|m| m.as_array()) else {
            return Vec::new();
        };
        entries
            .iter()
            .filter(|entry| {
                let attestation = entry
                    .pointer("/annotations/vnd.docker.reference.type")
                    .and_then(|v| v.as_str())
                    == Some("attestation-manifest");
                let unknown_platform =
                    entry.pointer("/platform/os").and_then(|v| v.as_str()) == Some("unknown");
                !attestation && !unknown_platform
            })
            .filter_map(|entry| entry.get("digest").and_then(|v| v.as_str()))
            .map(Digest::from_ecr)
            .collect()
    }
}

/// How an image is named in a lookup.
#[derive(Debug, Clone, Copy)]
pub enum ImageRef<'a> {
    Digest(&'a Digest),
    Tag(&'a str),
}

impl ImageRef<'_> {
    fn describe(&self) -> String {
        match self {
            ImageRef::Digest(d) => d.to_string(),
            ImageRef::Tag(t) => format!("tagged {t}"),
        }
    }
}

/// Whether PutImage moved the tag or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Tagged,
    AlreadyTagged,
}

/// BatchGetImage of one image. `Ok(None)` when ECR reports ImageNotFound.
pub async fn get_image(
    client: &Client,
    repository: &str,
    image: ImageRef<'_>,
) -> Result<Option<Manifest>, Error> {
    let id = match image {
        ImageRef::Digest(d) => ImageIdentifier::builder().image_digest(d.as_str()),
        ImageRef::Tag(t) => ImageIdentifier::builder().image_tag(t),
    }
    .build();
    let mut request = client
        .batch_get_image()
        .repository_name(repository)
        .image_ids(id);
    for media_type in ACCEPTED_MEDIA_TYPES {
        request = request.accepted_media_types(media_type);
    }
    let output = request
        .send()
        .await
        .map_err(|e| classify_error("ECR", "BatchGetImage", Some(repository), e))?;

    if let Some(found) = output.images().first() {
        let body = found.image_manifest().unwrap_or_default().to_owned();
        let digest = found
            .image_id()
            .and_then(|id| id.image_digest())
            .map(Digest::from_ecr)
            .or_else(|| match image {
                ImageRef::Digest(d) => Some(d.clone()),
                ImageRef::Tag(_) => None,
            });
        let Some(digest) = digest.filter(|_| !body.is_empty()) else {
            return Err(Error::ImageUnavailable {
                repository: repository.to_owned(),
                reference: image.describe(),
                code: "IncompleteResponse".into(),
                reason: "ECR returned the image without its digest or manifest".into(),
            });
        };
        return Ok(Some(Manifest {
            digest,
            body,
            media_type: found.image_manifest_media_type().map(str::to_owned),
        }));
    }
    match output.failures().first() {
        None => Ok(None),
        Some(failure) if failure.failure_code() == Some(&ImageFailureCode::ImageNotFound) => {
            Ok(None)
        }
        Some(failure) => Err(Error::ImageUnavailable {
            repository: repository.to_owned(),
            reference: image.describe(),
            code: failure
                .failure_code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            reason: failure.failure_reason().unwrap_or_default().to_owned(),
        }),
    }
}

/// PutImage of `manifest` (bytes and media type untouched) under `tag`.
///
/// AWS answers ImageAlreadyExistsException when the tag is already on that
/// digest: that counts as done. (MiniStack answers success instead; both end
/// in [`PutOutcome`].)
pub async fn put_tag(
    client: &Client,
    repository: &str,
    manifest: &Manifest,
    tag: &str,
) -> Result<PutOutcome, Error> {
    let result = client
        .put_image()
        .repository_name(repository)
        .image_manifest(&manifest.body)
        .set_image_manifest_media_type(manifest.media_type.clone())
        .image_digest(manifest.digest.as_str())
        .image_tag(tag)
        .send()
        .await;
    match result {
        Ok(_) => Ok(PutOutcome::Tagged),
        Err(error) => match error.as_service_error() {
            Some(PutImageError::ImageAlreadyExistsException(_)) => Ok(PutOutcome::AlreadyTagged),
            Some(PutImageError::ImageTagAlreadyExistsException(_)) => Err(Error::TagImmutable {
                repository: repository.to_owned(),
                tag: tag.to_owned(),
            }),
            _ => Err(classify_error("ECR", "PutImage", Some(repository), error)),
        },
    }
}

/// The newest image by push time that has a tag other than the build cache's:
/// the fallback when UserParameters name no digest.
pub async fn newest_image(
    client: &Client,
    repository: &str,
) -> Result<Option<(Digest, DateTime)>, Error> {
    let mut pages = client
        .describe_images()
        .repository_name(repository)
        .filter(
            aws_sdk_ecr::types::DescribeImagesFilter::builder()
                .tag_status(TagStatus::Tagged)
                .build(),
        )
        .into_paginator()
        .send();
    let mut newest: Option<(Digest, DateTime)> = None;
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| classify_error("ECR", "DescribeImages", Some(repository), e))?;
        for detail in page.image_details() {
            // Filtered here too: not every ECR emulator honours the filter.
            let tags = detail.image_tags();
            if tags.is_empty() || tags.iter().any(|t| t == CACHE_TAG) {
                continue;
            }
            let (Some(digest), Some(pushed)) = (detail.image_digest(), detail.image_pushed_at())
            else {
                continue;
            };
            let newer = newest
                .as_ref()
                .is_none_or(|(_, best)| pushed.as_nanos() > best.as_nanos());
            if newer {
                newest = Some((Digest::from_ecr(digest), *pushed));
            }
        }
    }
    Ok(newest)
}

/// DescribeImageScanFindings of one image manifest, as a [`ScanState`].
pub async fn scan_state(
    client: &Client,
    repository: &str,
    digest: &Digest,
) -> Result<ScanState, Error> {
    let result = client
        .describe_image_scan_findings()
        .repository_name(repository)
        .image_id(
            ImageIdentifier::builder()
                .image_digest(digest.as_str())
                .build(),
        )
        .max_results(1)
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            return match error.as_service_error() {
                Some(DescribeImageScanFindingsError::ScanNotFoundException(_)) => {
                    Ok(ScanState::NotFound)
                }
                Some(DescribeImageScanFindingsError::ImageNotFoundException(_)) => {
                    Err(Error::ImageNotFound {
                        repository: repository.to_owned(),
                        reference: digest.to_string(),
                    })
                }
                _ => Err(classify_error(
                    "ECR",
                    "DescribeImageScanFindings",
                    Some(repository),
                    error,
                )),
            };
        }
    };
    let mut counts = SeverityCounts::default();
    if let Some(map) = output
        .image_scan_findings()
        .and_then(|f| f.finding_severity_counts())
    {
        for (severity, count) in map {
            let count = u32::try_from(*count).unwrap_or(0);
            match severity {
                FindingSeverity::Critical => counts.critical += count,
                FindingSeverity::High => counts.high += count,
                FindingSeverity::Medium => counts.medium += count,
                FindingSeverity::Low => counts.low += count,
                FindingSeverity::Informational => counts.informational += count,
                _ => counts.undefined += count,
            }
        }
    }
    let status = output.image_scan_status();
    let name = status
        .and_then(|s| s.status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "UNKNOWN".to_owned());
    Ok(classify(
        &name,
        status.and_then(|s| s.description()),
        counts,
    ))
}

/// The tags of the image `digest` (its commit tag among them).
pub async fn image_tags(
    client: &Client,
    repository: &str,
    digest: &Digest,
) -> Result<Vec<String>, Error> {
    let described = client
        .describe_images()
        .repository_name(repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(digest.as_str())
                .build(),
        )
        .send()
        .await
        .map_err(|e| classify_error("ECR", "DescribeImages", Some(repository), e))?;
    let mut tags: Vec<String> = described
        .image_details()
        .iter()
        .flat_map(|d| d.image_tags().iter().cloned())
        .collect();
    tags.sort();
    Ok(tags)
}
