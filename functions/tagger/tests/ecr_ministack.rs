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

/// The payload of the documented request "without the script", read from
/// docs/rollback.md: a rollback to a commit's tag.
fn documented_rollback_payload() -> (Value, String) {
    let doc = include_str!("../../../docs/rollback.md");
    let start = doc.find("echo '").unwrap() + "echo '".len();
    let end = start + doc[start..].find('\'').unwrap();
    let payload: Value = serde_json::from_str(&doc[start..end]).unwrap();
    let to = payload["rollback"]["to"].as_str().unwrap().to_owned();
    (payload, to)
}

async fn request(deps: &Deps, payload: Value) -> Result<Value, tagger::Error> {
    handle_event(deps, payload, relaxed_deadline()).await
}

/// The whole cycle against ECR and DynamoDB in the local cloud: the
/// documented rollback to a commit's tag, its repeat, a build under the
/// hold, a stale compare-and-swap, release, status.
#[tokio::test]
async fn the_documented_rollback_holds_until_released() {
    let sb = sandbox();
    let (ecr, deps) = clients(sb).await;
    let repo = "images-rollback";
    create_repository(&ecr, repo).await;
    let dynamodb = sb.deliveries_table("deliveries-rollback").await;
    let deps = deps
        .with_order_guard(dynamodb, "deliveries-rollback".to_owned())
        .with_repository(repo.to_owned());
    let (payload, commit_tag) = documented_rollback_payload();
    let (old, new, next) = (
        single_image("rb-old", true),
        single_image("rb-new", false),
        single_image("rb-next", false),
    );
    push_image(&ecr, repo, &old, &commit_tag).await;
    push_image(&ecr, repo, &new, "2222222").await;
    push_image(&ecr, repo, &next, "3333333").await;

    // Nothing to roll back to yet.
    let error = request(&deps, json!({"rollback": {}})).await.unwrap_err();
    assert!(
        error.to_string().contains("nothing to roll back to"),
        "{error}"
    );
    let error = request(&deps, json!({"rollback": {"to": "no-such-tag"}}))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("no image tag no-such-tag"),
        "{error}"
    );

    promote(sb, &deps, "rb-1", &common::params(repo, &old.digest)).await;
    promote(sb, &deps, "rb-2", &common::params(repo, &new.digest)).await;

    let answer = request(&deps, payload.clone()).await.unwrap();
    assert_eq!(answer["promoted"], old.digest.as_str());
    assert_eq!(answer["replaced"], new.digest.as_str());
    assert_eq!(answer["unchanged"], false);
    assert_eq!(answer["hold"]["to"], old.digest.as_str());
    assert_eq!(answer["hold"]["from"], new.digest.as_str());
    assert_eq!(
        manifest_of(&ecr, repo, "production").await,
        Some((old.manifest.clone(), Some(old.media_type.to_owned())))
    );

    // The same request again: the same result, the hold as it was.
    let again = request(&deps, payload.clone()).await.unwrap();
    assert_eq!(again["promoted"], old.digest.as_str());
    assert_eq!(again["unchanged"], true);
    assert_eq!(again["hold"], answer["hold"]);
    assert_eq!(
        digest_of(&ecr, repo, "production-previous")
            .await
            .as_deref(),
        Some(old.digest.as_str()),
        "production-previous stays where it was"
    );

    // A build under the hold succeeds without moving production.
    let held = promote(sb, &deps, "rb-3", &common::params(repo, &next.digest)).await;
    assert_eq!(held["action"], "PutJobSuccessResult", "{held}");
    let summary = held["executionDetails"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("built, not promoted") && summary.contains("release"),
        "{summary}"
    );
    assert_eq!(
        digest_of(&ecr, repo, "production").await.as_deref(),
        Some(old.digest.as_str())
    );

    // A compare-and-swap against a digest production no longer holds.
    let error = request(
        &deps,
        json!({"rollback": {"to": next.digest, "expect": new.digest}}),
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("moved under the rollback")
            && error.to_string().contains(&old.digest),
        "{error}"
    );

    // A rollback to another image while held moves production and the hold.
    let moved = request(&deps, json!({"rollback": {"to": new.digest}}))
        .await
        .unwrap();
    assert_eq!(moved["replaced"], old.digest.as_str());
    assert_eq!(moved["hold"]["to"], new.digest.as_str());
    assert_eq!(moved["hold"]["from"], old.digest.as_str());
    // Another tag has a record of its own: production's hold is not its.
    let staging = request(&deps, json!({"status": {"tag": "staging"}}))
        .await
        .unwrap();
    assert!(staging["hold"].is_null(), "{staging}");

    let released = request(&deps, json!({"release": {}})).await.unwrap();
    assert_eq!(released["released"], true);
    let again = request(&deps, json!({"release": {}})).await.unwrap();
    assert_eq!(again["released"], false);

    let promoted = promote(sb, &deps, "rb-4", &common::params(repo, &next.digest)).await;
    assert_success(&promoted, &next.digest, &new.digest);

    let status = request(&deps, json!({"status": {}})).await.unwrap();
    assert_eq!(status["production"]["digest"], next.digest.as_str());
    assert_eq!(status["previous"]["digest"], new.digest.as_str());
    assert!(status["hold"].is_null(), "{status}");
    assert!(
        status["production"]["promotion"]["promotedAt"].is_string(),
        "{status}"
    );
    let report: Vec<&str> = status["report"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(report[0], format!("repository: {repo}"));
    assert!(
        report.contains(&format!("production: {}", next.digest).as_str()),
        "{report:?}"
    );
    assert!(
        report.iter().any(|l| l.starts_with("hold: none")),
        "{report:?}"
    );
}
