//! The scan gate against moto's ECR, which implements image scan findings
//! (MiniStack does not). moto's server is the sandbox's CodePipeline
//! endpoint; its scan results are set through its moto-api, and its
//! StartImageScan stands in for scan on push completing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::sync::OnceLock;

use common::{digest_of, job_results, push_image, relaxed_deadline, single_image, Image};
use sandbox::Sandbox;
use serde_json::{json, Value};
use tagger::config::Config;
use tagger::domain::scan::{ScanGate, Severity, WaitLimits};
use tagger::{handle_event, Deps};

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(Sandbox::start_or_fail)
}

/// An ECR client on moto, and the tagger's dependencies on moto for both
/// services, with `gate`, waiting at most `max_seconds` for a scan and
/// checking every 50 ms within an invocation.
async fn clients(sb: &Sandbox, gate: ScanGate, max_seconds: u64) -> (aws_sdk_ecr::Client, Deps) {
    let cfg = sb.sdk_config().await;
    let ecr = aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::config::Builder::from(&cfg)
            .endpoint_url(sb.codepipeline_endpoint())
            .build(),
    );
    let codepipeline = aws_sdk_codepipeline::Client::from_conf(
        tagger::aws::codepipeline::with_result_retries(
            aws_sdk_codepipeline::config::Builder::from(&cfg)
                .endpoint_url(sb.codepipeline_endpoint()),
        )
        .build(),
    );
    let config = Config {
        scan_gate: gate,
        wait_limits: WaitLimits {
            max_seconds,
            poll: std::time::Duration::from_millis(50),
        },
    };
    (ecr.clone(), Deps::new(ecr, codepipeline, Ok(config)))
}

async fn repository_with(ecr: &aws_sdk_ecr::Client, name: &str, image: &Image) {
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
    push_image(ecr, name, image, "abc1234").await;
}

/// moto starts a scan; until then DescribeImageScanFindings says ScanNotFound.
async fn finish_scan(ecr: &aws_sdk_ecr::Client, repository: &str, digest: &str) {
    ecr.start_image_scan()
        .repository_name(repository)
        .image_id(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(digest)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Sets the scan result moto returns for the image (its moto-api).
fn set_scan_result(sb: &Sandbox, repository: &str, digest: &str, status: &str, counts: Value) {
    let body = json!({
        "region": sb.region(),
        "results": [{
            "registryId": "123456789012",
            "repositoryName": repository,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": status, "description": format!("status {status}")},
            "imageScanFindings": {"findings": [], "findingSeverityCounts": counts}
        }]
    })
    .to_string();
    let address = sb
        .codepipeline_endpoint()
        .trim_start_matches("http://")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /moto-api/static/ecr/scan-finding-results HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

/// Runs one job invocation and returns its one recorded result. The
/// invocation's deadline leaves no time to check a pending scan again
/// within it (see `a_scan_that_stays_in_progress_ends_in_a_failure`).
async fn invoke(
    sb: &Sandbox,
    deps: &Deps,
    job_id: &str,
    repository: &str,
    digest: &str,
    token: Option<&str>,
) -> Value {
    handle_event(
        deps,
        common::job_event(job_id, &common::params(repository, digest), token),
        tokio::time::Instant::now() + std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    let results = job_results(&sb.job_results_file(), job_id);
    assert_eq!(
        results.len(),
        1,
        "exactly one result for {job_id}: {results:?}"
    );
    results.into_iter().next().unwrap()
}

fn failure_message(result: &Value) -> &str {
    assert_eq!(result["action"], "PutJobFailureResult", "{result}");
    result["failureDetails"]["message"].as_str().unwrap()
}

#[tokio::test]
async fn a_scan_not_yet_done_is_waited_for_then_critical_findings_refuse() {
    let sb = sandbox();
    let (ecr, deps) = clients(sb, ScanGate::AtLeast(Severity::Critical), 600).await;
    let repo = "images-wait";
    let image = single_image("wait", false);
    repository_with(&ecr, repo, &image).await;

    // No scan yet: "in progress" with a continuation token.
    let first = invoke(sb, &deps, "wait-1", repo, &image.digest, None).await;
    assert_eq!(first["action"], "PutJobSuccessResult");
    let token = first["continuationToken"].as_str().unwrap().to_owned();
    assert!(first.get("outputVariables").is_none(), "{first}");
    assert!(first["executionDetails"]["summary"]
        .as_str()
        .unwrap()
        .contains("waiting for the image scan"));

    // The scan completes with critical findings; CodePipeline invokes again.
    set_scan_result(
        sb,
        repo,
        &image.digest,
        "COMPLETE",
        json!({"CRITICAL": 2, "HIGH": 1, "LOW": 7}),
    );
    finish_scan(&ecr, repo, &image.digest).await;
    let second = invoke(sb, &deps, "wait-2", repo, &image.digest, Some(&token)).await;
    let message = failure_message(&second);
    assert_eq!(second["failureDetails"]["type"], "JobFailed");
    assert!(
        message.contains("2 finding(s) of severity CRITICAL or worse"),
        "{message}"
    );
    assert!(
        message.contains("CRITICAL 2, HIGH 1, MEDIUM 0, LOW 7"),
        "{message}"
    );
    assert_eq!(
        digest_of(&ecr, repo, "production").await,
        None,
        "nothing promoted"
    );
}

/// moto's own scan result has one HIGH finding.
#[tokio::test]
async fn the_threshold_decides_on_the_same_findings() {
    let sb = sandbox();
    let image = single_image("threshold", true);

    let (ecr, critical) = clients(sb, ScanGate::AtLeast(Severity::Critical), 600).await;
    repository_with(&ecr, "images-threshold-a", &image).await;
    finish_scan(&ecr, "images-threshold-a", &image.digest).await;
    let passed = invoke(
        sb,
        &critical,
        "threshold-a",
        "images-threshold-a",
        &image.digest,
        None,
    )
    .await;
    assert_eq!(passed["action"], "PutJobSuccessResult", "{passed}");
    assert_eq!(
        passed["outputVariables"]["PROMOTED_DIGEST"],
        image.digest.as_str()
    );
    assert!(
        passed["executionDetails"]["summary"]
            .as_str()
            .unwrap()
            .contains("HIGH 1"),
        "{passed}"
    );
    assert_eq!(
        digest_of(&ecr, "images-threshold-a", "production")
            .await
            .as_deref(),
        Some(image.digest.as_str())
    );

    // Re-promotion of the same digest: moto, like AWS, answers
    // ImageAlreadyExistsException, which is success.
    let again = invoke(
        sb,
        &critical,
        "threshold-a2",
        "images-threshold-a",
        &image.digest,
        None,
    )
    .await;
    assert_eq!(again["action"], "PutJobSuccessResult", "{again}");
    assert!(
        again["executionDetails"]["summary"]
            .as_str()
            .unwrap()
            .contains("unchanged"),
        "{again}"
    );

    let (ecr, high) = clients(sb, ScanGate::AtLeast(Severity::High), 600).await;
    repository_with(&ecr, "images-threshold-b", &image).await;
    finish_scan(&ecr, "images-threshold-b", &image.digest).await;
    let refused = invoke(
        sb,
        &high,
        "threshold-b",
        "images-threshold-b",
        &image.digest,
        None,
    )
    .await;
    assert!(
        failure_message(&refused).contains("1 finding(s) of severity HIGH or worse"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_image_the_scanner_does_not_support_is_promoted_with_a_warning() {
    let sb = sandbox();
    let (ecr, deps) = clients(sb, ScanGate::AtLeast(Severity::Low), 600).await;
    let repo = "images-unsupported";
    let image = single_image("unsupported", false);
    repository_with(&ecr, repo, &image).await;
    set_scan_result(sb, repo, &image.digest, "UNSUPPORTED_IMAGE", json!({}));
    finish_scan(&ecr, repo, &image.digest).await;

    let result = invoke(sb, &deps, "unsupported-1", repo, &image.digest, None).await;
    assert_eq!(result["action"], "PutJobSuccessResult", "{result}");
    let summary = result["executionDetails"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("WARNING: the image scanner does not support"),
        "{summary}"
    );
    assert_eq!(
        digest_of(&ecr, repo, "production").await.as_deref(),
        Some(image.digest.as_str())
    );
}

#[tokio::test]
async fn a_scan_that_stays_in_progress_ends_in_a_failure() {
    let sb = sandbox();
    let (ecr, deps) = clients(sb, ScanGate::AtLeast(Severity::Critical), 1).await;
    let repo = "images-stuck";
    let image = single_image("stuck", false);
    repository_with(&ecr, repo, &image).await;
    set_scan_result(sb, repo, &image.digest, "IN_PROGRESS", json!({}));
    finish_scan(&ecr, repo, &image.digest).await;

    // With time in the invocation, the tagger checks every 50 ms until the
    // one-second limit has passed, then fails the job.
    handle_event(
        &deps,
        common::job_event("stuck-1", &common::params(repo, &image.digest), None),
        relaxed_deadline(),
    )
    .await
    .unwrap();
    let results = job_results(&sb.job_results_file(), "stuck-1");
    assert_eq!(results.len(), 1, "exactly one result: {results:?}");
    let message = failure_message(&results[0]);
    assert!(
        message.contains("gave up waiting") && message.contains("SCAN_WAIT_MAX_SECONDS=1"),
        "{message}"
    );
    let checks: u32 = message
        .split("after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(checks > 2, "checked again within the invocation: {message}");
    assert_eq!(digest_of(&ecr, repo, "production").await, None);
}
