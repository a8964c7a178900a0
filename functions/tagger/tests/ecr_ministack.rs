//! The tagger against ECR in the local cloud (MiniStack), with job results
//! recorded by the sandbox's CodePipeline stand-in (moto).
//!
//! MiniStack has no DescribeImageScanFindings, so these run with SCAN_GATE
//! OFF; the scan gate is tested against moto (tests/scan_gate_moto.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::{
    digest_of, job_results, manifest_of, multi_platform_image, push_image, relaxed_deadline,
    single_image, Image,
};
use sandbox::Sandbox;
use serde_json::{json, Value};
use tagger::config::Config;
use tagger::domain::scan::{ScanGate, WaitLimits};
use tagger::{handle_event, Deps};

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(Sandbox::start_or_fail)
}

async fn clients(sb: &Sandbox) -> (aws_sdk_ecr::Client, Deps) {
    let cfg = sb.sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&cfg);
    let codepipeline = aws_sdk_codepipeline::Client::from_conf(
        tagger::aws::codepipeline::with_result_retries(
            aws_sdk_codepipeline::config::Builder::from(&cfg)
                .endpoint_url(sb.codepipeline_endpoint()),
        )
        .build(),
    );
    let config = Config {
        scan_gate: ScanGate::Off,
        wait_limits: WaitLimits {
            max_seconds: 600,
            poll: std::time::Duration::from_secs(15),
        },
    };
    (ecr.clone(), Deps::new(ecr, codepipeline, Ok(config)))
}

async fn create_repository(ecr: &aws_sdk_ecr::Client, name: &str) {
    ecr.create_repository()
        .repository_name(name)
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Runs one job and returns its one recorded result.
async fn promote(sb: &Sandbox, deps: &Deps, job_id: &str, user_parameters: &str) -> Value {
    let answer = handle_event(
        deps,
        common::job_event(job_id, user_parameters, None),
        relaxed_deadline(),
    )
    .await
    .unwrap();
    assert_eq!(answer["jobId"], job_id);
    let results = job_results(&sb.job_results_file(), job_id);
    assert_eq!(
        results.len(),
        1,
        "exactly one result for {job_id}: {results:?}"
    );
    results.into_iter().next().unwrap()
}

fn assert_success(result: &Value, promoted: &str, previous: &str) {
    assert_eq!(result["action"], "PutJobSuccessResult", "{result}");
    assert_eq!(
        result["outputVariables"]["PROMOTED_DIGEST"], promoted,
        "{result}"
    );
    assert_eq!(
        result["outputVariables"]["PREVIOUS_DIGEST"], previous,
        "{result}"
    );
    assert!(result.get("continuationToken").is_none(), "{result}");
}

/// First promotion, promotion over an older image, re-promotion, for one
/// image format; the manifests read back are the bytes that were pushed.
async fn promote_twice(label: &str, old: Image, new: Image) {
    let sb = sandbox();
    let (ecr, deps) = clients(sb).await;
    let repo = format!("images-{label}");
    create_repository(&ecr, &repo).await;
    push_image(&ecr, &repo, &old, "1111111").await;
    push_image(&ecr, &repo, &new, "2222222").await;

    let first = promote(
        sb,
        &deps,
        &format!("{label}-1"),
        &common::params(&repo, &old.digest),
    )
    .await;
    assert_success(&first, &old.digest, "none");
    assert_eq!(
        digest_of(&ecr, &repo, "production").await.as_deref(),
        Some(old.digest.as_str())
    );
    assert_eq!(digest_of(&ecr, &repo, "production-previous").await, None);

    let second = promote(
        sb,
        &deps,
        &format!("{label}-2"),
        &common::params(&repo, &new.digest),
    )
    .await;
    assert_success(&second, &new.digest, &old.digest);
    assert_eq!(
        manifest_of(&ecr, &repo, "production").await,
        Some((new.manifest.clone(), Some(new.media_type.to_owned())))
    );
    assert_eq!(
        manifest_of(&ecr, &repo, "production-previous").await,
        Some((old.manifest.clone(), Some(old.media_type.to_owned())))
    );
    // The commit tags stay where the build put them.
    assert_eq!(
        digest_of(&ecr, &repo, "1111111").await.as_deref(),
        Some(old.digest.as_str())
    );
    assert_eq!(
        digest_of(&ecr, &repo, "2222222").await.as_deref(),
        Some(new.digest.as_str())
    );

    // Re-promotion of the same digest: success, nothing moves. (MiniStack
    // answers PutImage with success here where AWS raises
    // ImageAlreadyExistsException; the moto tests cover that answer.)
    let again = promote(
        sb,
        &deps,
        &format!("{label}-3"),
        &common::params(&repo, &new.digest),
    )
    .await;
    assert_success(&again, &new.digest, &old.digest);
    assert!(
        again["executionDetails"]["summary"]
            .as_str()
            .unwrap()
            .contains("unchanged"),
        "{again}"
    );
    assert_eq!(
        digest_of(&ecr, &repo, "production-previous")
            .await
            .as_deref(),
        Some(old.digest.as_str())
    );
}

#[tokio::test]
async fn docker_v2_manifests_are_promoted_untouched() {
    promote_twice(
        "docker",
        single_image("docker-old", false),
        single_image("docker-new", false),
    )
    .await;
}

#[tokio::test]
async fn oci_manifests_are_promoted_untouched() {
    promote_twice(
        "oci",
        single_image("oci-old", true),
        single_image("oci-new", true),
    )
    .await;
}

#[tokio::test]
async fn docker_manifest_lists_are_promoted_untouched() {
    promote_twice(
        "list",
        multi_platform_image("list-old", false),
        multi_platform_image("list-new", false),
    )
    .await;
}

#[tokio::test]
async fn oci_indexes_are_promoted_untouched() {
    promote_twice(
        "index",
        multi_platform_image("index-old", true),
        multi_platform_image("index-new", true),
    )
    .await;
}

/// The payload of the documented rollback command, read from docs/rollback.md.
fn documented_rollback_payload(repository: &str) -> Value {
    let doc = include_str!("../../../docs/rollback.md");
    let start = doc.find("echo '").unwrap() + "echo '".len();
    let end = start + doc[start..].find('\'').unwrap();
    let payload = doc[start..end].replace("images-S", repository);
    serde_json::from_str(&payload).unwrap()
}

#[tokio::test]
async fn the_documented_rollback_swaps_the_tags_back_and_forth() {
    let sb = sandbox();
    let (ecr, deps) = clients(sb).await;
    let repo = "images-rollback";
    create_repository(&ecr, repo).await;
    let (old, new) = (single_image("rb-old", true), single_image("rb-new", false));
    push_image(&ecr, repo, &old, "1111111").await;
    push_image(&ecr, repo, &new, "2222222").await;

    // Nothing to roll back to yet.
    let error = handle_event(&deps, documented_rollback_payload(repo), relaxed_deadline())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("nothing to roll back to"),
        "{error}"
    );

    promote(sb, &deps, "rb-1", &common::params(repo, &old.digest)).await;
    promote(sb, &deps, "rb-2", &common::params(repo, &new.digest)).await;

    let answer = handle_event(&deps, documented_rollback_payload(repo), relaxed_deadline())
        .await
        .unwrap();
    assert_eq!(answer["promoted"], old.digest.as_str());
    assert_eq!(answer["previous"], new.digest.as_str());
    assert_eq!(
        manifest_of(&ecr, repo, "production").await,
        Some((old.manifest.clone(), Some(old.media_type.to_owned())))
    );
    assert_eq!(
        digest_of(&ecr, repo, "production-previous")
            .await
            .as_deref(),
        Some(new.digest.as_str())
    );

    // The same command again rolls forward.
    handle_event(&deps, documented_rollback_payload(repo), relaxed_deadline())
        .await
        .unwrap();
    assert_eq!(
        digest_of(&ecr, repo, "production").await.as_deref(),
        Some(new.digest.as_str())
    );
    assert_eq!(
        digest_of(&ecr, repo, "production-previous")
            .await
            .as_deref(),
        Some(old.digest.as_str())
    );
}

#[tokio::test]
async fn without_a_digest_the_newest_pushed_image_is_promoted() {
    let sb = sandbox();
    let (ecr, deps) = clients(sb).await;
    let repo = "images-fallback";
    create_repository(&ecr, repo).await;
    let (old, newest, cache) = (
        single_image("fb-old", false),
        single_image("fb-new", false),
        single_image("fb-cache", true),
    );
    // MiniStack records push times in whole seconds: keep the pushes apart.
    push_image(&ecr, repo, &old, "1111111").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    push_image(&ecr, repo, &newest, "2222222").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    push_image(&ecr, repo, &cache, "buildcache").await;

    let result = promote(
        sb,
        &deps,
        "fb-1",
        &json!({"repository": repo, "tag": "production"}).to_string(),
    )
    .await;
    assert_success(&result, &newest.digest, "none");
    let summary = result["executionDetails"]["summary"].as_str().unwrap();
    assert!(summary.contains("no digest in UserParameters"), "{summary}");
    assert_eq!(
        digest_of(&ecr, repo, "production").await.as_deref(),
        Some(newest.digest.as_str())
    );
}

#[tokio::test]
async fn a_missing_repository_or_image_is_reported_to_codepipeline() {
    let sb = sandbox();
    let (ecr, deps) = clients(sb).await;
    let image = single_image("missing", false);

    let result = promote(
        sb,
        &deps,
        "missing-repo",
        &common::params("images-nowhere", &image.digest),
    )
    .await;
    assert_eq!(result["action"], "PutJobFailureResult");
    assert_eq!(result["failureDetails"]["type"], "ConfigurationError");
    let message = result["failureDetails"]["message"].as_str().unwrap();
    assert!(
        message.contains("images-nowhere does not exist"),
        "{message}"
    );

    create_repository(&ecr, "images-missing").await;
    let result = promote(
        sb,
        &deps,
        "missing-image",
        &common::params("images-missing", &image.digest),
    )
    .await;
    assert_eq!(result["failureDetails"]["type"], "JobFailed");
    let message = result["failureDetails"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("no image {}", image.digest)),
        "{message}"
    );
}
