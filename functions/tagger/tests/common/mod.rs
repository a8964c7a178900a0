//! Shared test support: job events, image manifests of each media type, and
//! ECR uploads of the blobs they reference.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `sha256:` and the hex digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A digest made of one repeated hex character.
pub fn fake_digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// A CodePipeline job event as CodePipeline sends it to the function.
pub fn job_event(job_id: &str, user_parameters: &str, continuation_token: Option<&str>) -> Value {
    let mut event = json!({
        "CodePipeline.job": {
            "id": job_id,
            "accountId": "123456789012",
            "data": {
                "actionConfiguration": {
                    "configuration": {
                        "FunctionName": "tagger-test",
                        "UserParameters": user_parameters
                    }
                },
                "inputArtifacts": [],
                "outputArtifacts": [],
                "artifactCredentials": {
                    "accessKeyId": "AKIAFAKEFAKEFAKEFAKE",
                    "secretAccessKey": "fake-secret",
                    "sessionToken": "fake-token"
                }
            }
        }
    });
    if let Some(token) = continuation_token {
        event["CodePipeline.job"]["data"]["continuationToken"] = json!(token);
    }
    event
}

/// UserParameters as the pipeline writes them.
pub fn params(repository: &str, digest: &str) -> String {
    json!({"repository": repository, "digest": digest, "tag": "production"}).to_string()
}

/// A blob an image references: its bytes, digest and media type.
#[derive(Debug, Clone)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub digest: String,
    pub media_type: &'static str,
}

impl Blob {
    pub fn new(bytes: Vec<u8>, media_type: &'static str) -> Self {
        let digest = sha256(&bytes);
        Self {
            bytes,
            digest,
            media_type,
        }
    }

    fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "size": self.bytes.len(), "digest": self.digest})
    }
}

/// A manifest document with its digest and the blobs it references.
#[derive(Debug, Clone)]
pub struct Image {
    pub manifest: String,
    pub digest: String,
    pub media_type: &'static str,
    pub blobs: Vec<Blob>,
    /// The platform images of a list/index.
    pub children: Vec<Image>,
}

/// A single-platform image in the Docker v2 or OCI format. `label` makes
/// the config (and so the digest) unique.
pub fn single_image(label: &str, oci: bool) -> Image {
    let (media_type, config_type, layer_type) = if oci {
        (
            OCI_MANIFEST,
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    } else {
        (
            DOCKER_MANIFEST,
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    };
    let layer = Blob::new(format!("layer of {label}").into_bytes(), layer_type);
    let config = Blob::new(
        json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"test": label}},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]}
        })
        .to_string()
        .into_bytes(),
        config_type,
    );
    let mut doc = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.descriptor(),
        "layers": [layer.descriptor()]
    });
    if oci {
        doc["annotations"] = json!({"org.opencontainers.image.title": label});
    }
    // Pretty-printed on purpose: the bytes must pass through untouched.
    let manifest = serde_json::to_string_pretty(&doc).unwrap();
    Image {
        digest: sha256(manifest.as_bytes()),
        manifest,
        media_type,
        blobs: vec![config, layer],
        children: Vec::new(),
    }
}

/// A multi-platform image: a Docker manifest list or an OCI index over two
/// platform images (the OCI index also lists an attestation manifest).
pub fn multi_platform_image(label: &str, oci: bool) -> Image {
    let amd = single_image(&format!("{label}-amd64"), oci);
    let arm = single_image(&format!("{label}-arm64"), oci);
    let entry = |image: &Image, arch: &str| {
        json!({
            "mediaType": image.media_type,
            "size": image.manifest.len(),
            "digest": image.digest,
            "platform": {"architecture": arch, "os": "linux"}
        })
    };
    let mut manifests = vec![entry(&amd, "amd64"), entry(&arm, "arm64")];
    let mut children = vec![amd, arm];
    let media_type = if oci { OCI_INDEX } else { DOCKER_LIST };
    if oci {
        let attestation = single_image(&format!("{label}-attestation"), true);
        manifests.push(json!({
            "mediaType": OCI_MANIFEST,
            "size": attestation.manifest.len(),
            "digest": attestation.digest,
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": children[0].digest
            }
        }));
        children.push(attestation);
    }
    let manifest = serde_json::to_string_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": manifests
    }))
    .unwrap();
    Image {
        digest: sha256(manifest.as_bytes()),
        manifest,
        media_type,
        blobs: Vec::new(),
        children,
    }
}

/// Uploads one blob through ECR's layer upload API.
pub async fn push_blob(ecr: &aws_sdk_ecr::Client, repository: &str, blob: &Blob) {
    let upload = ecr
        .initiate_layer_upload()
        .repository_name(repository)
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap().to_owned();
    ecr.upload_layer_part()
        .repository_name(repository)
        .upload_id(&upload_id)
        .part_first_byte(0)
        .part_last_byte(i64::try_from(blob.bytes.len()).unwrap() - 1)
        .layer_part_blob(aws_sdk_ecr::primitives::Blob::new(blob.bytes.clone()))
        .send()
        .await
        .unwrap();
    let done = ecr
        .complete_layer_upload()
        .repository_name(repository)
        .upload_id(&upload_id)
        .layer_digests(&blob.digest)
        .send()
        .await
        .unwrap();
    assert_eq!(done.layer_digest(), Some(blob.digest.as_str()));
}

/// Pushes an image as `docker push` does: blobs, platform images, then the
/// manifest under `tag`.
pub async fn push_image(ecr: &aws_sdk_ecr::Client, repository: &str, image: &Image, tag: &str) {
    for child in &image.children {
        Box::pin(push_image(ecr, repository, child, "")).await;
    }
    for blob in &image.blobs {
        push_blob(ecr, repository, blob).await;
    }
    let mut put = ecr
        .put_image()
        .repository_name(repository)
        .image_manifest(&image.manifest)
        .image_manifest_media_type(image.media_type)
        .image_digest(&image.digest);
    if !tag.is_empty() {
        put = put.image_tag(tag);
    }
    put.send().await.unwrap();
}

/// The digest that holds `tag`, if any, read back through BatchGetImage.
pub async fn digest_of(ecr: &aws_sdk_ecr::Client, repository: &str, tag: &str) -> Option<String> {
    let image = tagger::aws::ecr::get_image(ecr, repository, tagger::aws::ecr::ImageRef::Tag(tag))
        .await
        .unwrap()?;
    Some(image.digest.as_str().to_owned())
}

/// The manifest and media type that `tag` resolves to.
pub async fn manifest_of(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    tag: &str,
) -> Option<(String, Option<String>)> {
    let image = tagger::aws::ecr::get_image(ecr, repository, tagger::aws::ecr::ImageRef::Tag(tag))
        .await
        .unwrap()?;
    Some((image.body, image.media_type))
}

/// Reads the job results the sandbox's CodePipeline stand-in recorded for `job_id`.
pub fn job_results(file: &std::path::Path, job_id: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|v| v["jobId"] == job_id)
        .collect()
}

/// A deadline far enough away for any test.
pub fn relaxed_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(120)
}
