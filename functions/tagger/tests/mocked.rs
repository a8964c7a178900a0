//! Every failure path through the handler, with ECR and CodePipeline answered
//! by aws-smithy-mocks rules: each test checks the one job result sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codepipeline::operation::put_job_failure_result::{
    PutJobFailureResultInput, PutJobFailureResultOutput,
};
use aws_sdk_codepipeline::operation::put_job_success_result::{
    PutJobSuccessResultInput, PutJobSuccessResultOutput,
};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ecr::operation::put_image::PutImageOutput;
use aws_sdk_ecr::primitives::DateTime;
use aws_sdk_ecr::types::{
    FindingSeverity, Image, ImageDetail, ImageFailure, ImageFailureCode, ImageIdentifier,
    ImageScanFindings, ImageScanStatus, ScanStatus,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use common::{fake_digest, job_event, params, relaxed_deadline};
use serde_json::{json, Value};
use tagger::config::Config;
use tagger::domain::scan::{ScanGate, Severity, WaitLimits, WaitState};
use tagger::{handle_event, Deps};

const REPO: &str = "images-test";
const MANIFEST_A: &str = "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n  \"config\": {}, \"layers\": []\n}";
const MANIFEST_B: &str = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{},\"layers\":[]}";
/// The pause between two checks of a pending scan in these tests.
const POLL: Duration = Duration::from_millis(50);
const DOCKER: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI: &str = "application/vnd.oci.image.manifest.v1+json";

/// One result call as the mock received it.
#[derive(Debug, Clone)]
enum Sent {
    Success(PutJobSuccessResultInput),
    Failure(PutJobFailureResultInput),
}

type Log<T> = Arc<Mutex<Vec<T>>>;

/// A CodePipeline client that records result calls (with the function's own
/// retry settings), and the record.
fn pipeline() -> (aws_sdk_codepipeline::Client, Log<Sent>) {
    let log: Log<Sent> = Arc::default();
    let success = {
        let log = log.clone();
        mock!(aws_sdk_codepipeline::Client::put_job_success_result).then_compute_output(
            move |req| {
                log.lock().unwrap().push(Sent::Success(req.clone()));
                PutJobSuccessResultOutput::builder().build()
            },
        )
    };
    let failure = {
        let log = log.clone();
        mock!(aws_sdk_codepipeline::Client::put_job_failure_result).then_compute_output(
            move |req| {
                log.lock().unwrap().push(Sent::Failure(req.clone()));
                PutJobFailureResultOutput::builder().build()
            },
        )
    };
    let client = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&success, &failure],
        tagger::aws::codepipeline::with_result_retries
    );
    (client, log)
}

fn ecr_client(rules: &[&Rule]) -> aws_sdk_ecr::Client {
    mock_client!(aws_sdk_ecr, RuleMode::MatchAny, rules)
}

fn config(gate: ScanGate) -> Result<Config, tagger::Error> {
    Ok(Config {
        scan_gate: gate,
        wait_limits: WaitLimits {
            max_seconds: 600,
            poll: POLL,
        },
    })
}

fn deps(ecr: aws_sdk_ecr::Client, cp: aws_sdk_codepipeline::Client, gate: ScanGate) -> Deps {
    Deps::new(ecr, cp, config(gate))
}

fn image(digest: &str, manifest: &str, media_type: &str) -> Image {
    Image::builder()
        .repository_name(REPO)
        .image_id(ImageIdentifier::builder().image_digest(digest).build())
        .image_manifest(manifest)
        .image_manifest_media_type(media_type)
        .build()
}

fn found(digest: &str, manifest: &str, media_type: &str) -> BatchGetImageOutput {
    BatchGetImageOutput::builder()
        .images(image(digest, manifest, media_type))
        .build()
}

fn not_found() -> BatchGetImageOutput {
    BatchGetImageOutput::builder()
        .failures(
            ImageFailure::builder()
                .failure_code(ImageFailureCode::ImageNotFound)
                .failure_reason("Requested image not found")
                .build(),
        )
        .build()
}

/// BatchGetImage by digest `digest`.
fn get_digest(digest: &str, output: BatchGetImageOutput) -> Rule {
    let digest = digest.to_owned();
    mock!(aws_sdk_ecr::Client::batch_get_image)
        .match_requests(move |r| {
            r.image_ids().first().and_then(|i| i.image_digest()) == Some(&digest)
        })
        .then_output(move || output.clone())
}

/// BatchGetImage by tag `tag`.
fn get_tag(tag: &str, output: BatchGetImageOutput) -> Rule {
    let tag = tag.to_owned();
    mock!(aws_sdk_ecr::Client::batch_get_image)
        .match_requests(move |r| r.image_ids().first().and_then(|i| i.image_tag()) == Some(&tag))
        .then_output(move || output.clone())
}

fn scan_output(
    status: &ScanStatus,
    description: &str,
    counts: &[(FindingSeverity, i32)],
) -> DescribeImageScanFindingsOutput {
    let mut findings = ImageScanFindings::builder();
    for (severity, count) in counts {
        findings = findings.finding_severity_counts(severity.clone(), *count);
    }
    DescribeImageScanFindingsOutput::builder()
        .image_scan_status(
            ImageScanStatus::builder()
                .status(status.clone())
                .description(description)
                .build(),
        )
        .image_scan_findings(findings.build())
        .build()
}

fn scan(status: ScanStatus, description: &str, counts: &[(FindingSeverity, i32)]) -> Rule {
    let description = description.to_owned();
    let counts = counts.to_vec();
    mock!(aws_sdk_ecr::Client::describe_image_scan_findings)
        .then_compute_output(move |_| scan_output(&status, &description, &counts))
}

fn clean_scan() -> Rule {
    scan(
        ScanStatus::Complete,
        "The scan was completed successfully.",
        &[],
    )
}

/// PutImage calls as (tag, digest, manifest, media type).
type Put = (String, String, String, String);

fn put_ok(log: &Log<Put>) -> Rule {
    let log = log.clone();
    mock!(aws_sdk_ecr::Client::put_image).then_compute_output(move |r| {
        log.lock().unwrap().push((
            r.image_tag().unwrap_or_default().to_owned(),
            r.image_digest().unwrap_or_default().to_owned(),
            r.image_manifest().unwrap_or_default().to_owned(),
            r.image_manifest_media_type().unwrap_or_default().to_owned(),
        ));
        PutImageOutput::builder().build()
    })
}

/// An AWS JSON error response, as ECR sends it.
fn aws_error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(json!({"__type": code, "message": message}).to_string()),
    )
}

fn the_one_result(log: &Log<Sent>) -> Sent {
    let sent = log.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "exactly one result call: {sent:?}");
    sent.into_iter().next().unwrap()
}

fn the_one_failure(log: &Log<Sent>) -> (String, String) {
    match the_one_result(log) {
        Sent::Failure(input) => {
            assert_eq!(input.job_id(), Some("job-1"));
            let details = input.failure_details().unwrap();
            (
                details.r#type().as_str().to_owned(),
                details.message().to_owned(),
            )
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn the_one_success(log: &Log<Sent>) -> PutJobSuccessResultInput {
    match the_one_result(log) {
        Sent::Success(input) => {
            assert_eq!(input.job_id(), Some("job-1"));
            input
        }
        other => panic!("expected a success, got {other:?}"),
    }
}

fn var<'a>(input: &'a PutJobSuccessResultInput, name: &str) -> Option<&'a str> {
    input.output_variables()?.get(name).map(String::as_str)
}

async fn run(deps: &Deps, event: Value) -> Result<Value, tagger::Error> {
    handle_event(deps, event, relaxed_deadline()).await
}

#[tokio::test]
async fn promotion_over_an_older_digest_keeps_the_rollback_tag_and_passes_manifests_through() {
    let (new, old) = (fake_digest('b'), fake_digest('a'));
    let puts: Log<Put> = Arc::default();
    let rules = [
        get_digest(&new, found(&new, MANIFEST_B, OCI)),
        get_tag("production", found(&old, MANIFEST_A, DOCKER)),
        get_tag("production-previous", not_found()),
        clean_scan(),
        put_ok(&puts),
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::AtLeast(Severity::Critical),
    );

    let answer = run(&deps, job_event("job-1", &params(REPO, &new), None))
        .await
        .unwrap();

    assert_eq!(answer["result"], "succeeded");
    assert_eq!(
        *puts.lock().unwrap(),
        vec![
            (
                "production-previous".into(),
                old.clone(),
                MANIFEST_A.into(),
                DOCKER.into()
            ),
            (
                "production".into(),
                new.clone(),
                MANIFEST_B.into(),
                OCI.into()
            ),
        ]
    );
    let success = the_one_success(&log);
    assert_eq!(var(&success, "PROMOTED_DIGEST"), Some(new.as_str()));
    assert_eq!(var(&success, "PREVIOUS_DIGEST"), Some(old.as_str()));
    assert_eq!(success.continuation_token(), None);
    let summary = success.execution_details().unwrap().summary().unwrap();
    assert!(summary.contains("scan gate CRITICAL: passed"), "{summary}");
}

#[tokio::test]
async fn image_already_exists_means_the_tag_is_already_there() {
    let d = fake_digest('a');
    let put = mock!(aws_sdk_ecr::Client::put_image).then_http_response(|| {
        aws_error(
            400,
            "ImageAlreadyExistsException",
            "Image with digest 'sha256:aaa' and tag 'production' already exists",
        )
    });
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        get_tag("production", found(&d, MANIFEST_A, DOCKER)),
        get_tag(
            "production-previous",
            found(&fake_digest('c'), MANIFEST_B, OCI),
        ),
        put,
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );

    run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();

    let success = the_one_success(&log);
    assert_eq!(var(&success, "PROMOTED_DIGEST"), Some(d.as_str()));
    assert_eq!(
        var(&success, "PREVIOUS_DIGEST"),
        Some(fake_digest('c').as_str())
    );
    assert_eq!(rules[3].num_calls(), 1);
    let summary = success.execution_details().unwrap().summary().unwrap();
    assert!(
        summary.contains("unchanged") && summary.contains("scan gate OFF"),
        "{summary}"
    );
}

/// Failure paths that stop before any AWS call.
#[tokio::test]
async fn malformed_jobs_are_answered_with_a_configuration_error_and_touch_nothing() {
    let event_without_data =
        json!({"CodePipeline.job": {"id": "job-1", "accountId": "123456789012"}});
    let cases = [
        (event_without_data, "malformed"),
        (job_event("job-1", "not json", None), "expected JSON like"),
        (
            job_event(
                "job-1",
                r#"{"repository":"images-test","digest":"sha256:12"}"#,
                None,
            ),
            "parameter digest",
        ),
        (
            job_event("job-1", r#"{"digest":"sha256:12"}"#, None),
            "missing field `repository`",
        ),
        (job_event("job-1", "", None), "no UserParameters"),
    ];
    for (event, expected) in cases {
        let any_ecr = mock!(aws_sdk_ecr::Client::batch_get_image).then_output(not_found);
        let (cp, log) = pipeline();
        let deps = deps(ecr_client(&[&any_ecr]), cp, ScanGate::Off);
        run(&deps, event).await.unwrap();
        let (kind, message) = the_one_failure(&log);
        assert_eq!(kind, "ConfigurationError", "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
        assert_eq!(any_ecr.num_calls(), 0);
    }
}

#[tokio::test]
async fn a_foreign_continuation_token_fails_the_job() {
    let d = fake_digest('a');
    let (cp, log) = pipeline();
    let deps = deps(ecr_client(&[]), cp, ScanGate::Off);
    run(
        &deps,
        job_event("job-1", &params(REPO, &d), Some("someone else's token")),
    )
    .await
    .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(message.contains("continuation token"), "{message}");
}

#[tokio::test]
async fn an_invalid_environment_answers_every_job_with_a_configuration_error() {
    let (cp, log) = pipeline();
    let bad = Config::from_lookup(|name| (name == "SCAN_GATE").then(|| "SEVERE".to_owned()));
    let any_ecr = mock!(aws_sdk_ecr::Client::batch_get_image).then_output(not_found);
    let deps = Deps::new(ecr_client(&[&any_ecr]), cp, bad);
    run(
        &deps,
        job_event("job-1", &params(REPO, &fake_digest('a')), None),
    )
    .await
    .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "ConfigurationError");
    assert!(
        message.contains("SCAN_GATE") && message.contains("SEVERE"),
        "{message}"
    );
    assert_eq!(any_ecr.num_calls(), 0);
}

/// ECR errors on the first call, each mapped to its failure type and message.
#[tokio::test]
async fn ecr_errors_are_reported_with_a_type_and_an_actionable_message() {
    let d = fake_digest('a');
    let cases: [(u16, &str, &str, &str, &str); 3] = [
        (400, "RepositoryNotFoundException", "The repository with name 'images-test' does not exist", "ConfigurationError", "the ECR repository images-test does not exist"),
        (400, "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/tagger-role-test/tagger-test is not authorized to perform: ecr:BatchGetImage", "PermissionError", "grant the function's role ecr:BatchGetImage"),
        (400, "InvalidParameterException", "Invalid parameter at 'imageIds'", "JobFailed", "ECR BatchGetImage failed: InvalidParameterException"),
    ];
    for (status, code, text, kind_expected, expected) in cases {
        let (code, text) = (code.to_owned(), text.to_owned());
        let rule = mock!(aws_sdk_ecr::Client::batch_get_image)
            .then_http_response(move || aws_error(status, &code, &text));
        let (cp, log) = pipeline();
        let deps = deps(ecr_client(&[&rule]), cp, ScanGate::Off);
        run(&deps, job_event("job-1", &params(REPO, &d), None))
            .await
            .unwrap();
        let (kind, message) = the_one_failure(&log);
        assert_eq!(kind, kind_expected, "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[tokio::test]
async fn a_digest_that_is_not_in_the_repository_fails_the_job() {
    let d = fake_digest('a');
    let rules = [get_digest(&d, not_found())];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );
    run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(
        message.contains(&format!("no image {d} in the ECR repository {REPO}")),
        "{message}"
    );
}

#[tokio::test]
async fn immutable_tags_are_a_configuration_error() {
    let (new, old) = (fake_digest('b'), fake_digest('a'));
    let put = mock!(aws_sdk_ecr::Client::put_image).then_http_response(|| {
        aws_error(
            400,
            "ImageTagAlreadyExistsException",
            "The image tag 'production-previous' already exists",
        )
    });
    let rules = [
        get_digest(&new, found(&new, MANIFEST_B, OCI)),
        get_tag("production", found(&old, MANIFEST_A, DOCKER)),
        get_tag("production-previous", not_found()),
        put,
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );
    run(&deps, job_event("job-1", &params(REPO, &new), None))
        .await
        .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "ConfigurationError");
    assert!(message.contains("immutable tags"), "{message}");
}

#[tokio::test]
async fn a_server_error_that_outlasts_the_retries_fails_the_job() {
    let d = fake_digest('a');
    let put = mock!(aws_sdk_ecr::Client::put_image)
        .sequence()
        .http_response(|| aws_error(500, "ServerException", "Internal error"))
        .repeatedly()
        .build();
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        get_tag("production", not_found()),
        get_tag("production-previous", not_found()),
        put,
    ];
    let (cp, log) = pipeline();
    let ecr = mock_client!(
        aws_sdk_ecr,
        RuleMode::MatchAny,
        rules.iter().collect::<Vec<_>>(),
        |b| b.retry_config(
            aws_sdk_ecr::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(10))
        )
    );
    let deps = deps(ecr, cp, ScanGate::Off);
    run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(
        message.contains("ECR PutImage failed: ServerException: Internal error"),
        "{message}"
    );
    assert_eq!(rules[3].num_calls(), 2, "the SDK retried the 500 once");
}

#[tokio::test]
async fn findings_at_the_threshold_refuse_promotion_with_the_counts() {
    let d = fake_digest('a');
    let puts: Log<Put> = Arc::default();
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        scan(
            ScanStatus::Complete,
            "The scan was completed successfully.",
            &[(FindingSeverity::High, 2), (FindingSeverity::Medium, 5)],
        ),
        put_ok(&puts),
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::AtLeast(Severity::High),
    );
    run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(
        message.contains("2 finding(s) of severity HIGH or worse"),
        "{message}"
    );
    assert!(
        message.contains("CRITICAL 0, HIGH 2, MEDIUM 5"),
        "{message}"
    );
    assert!(puts.lock().unwrap().is_empty(), "no tag moved");
}

/// The refusal is announced on the topic once, after the job result, with
/// the counts and the commit; a topic that cannot be reached changes nothing
/// about the job's one result.
#[tokio::test]
async fn a_refusal_is_announced_once_and_a_failed_announcement_changes_nothing() {
    let d = fake_digest('a');
    let commit = "5555555555555555555555555555555555555555";
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        scan(
            ScanStatus::Complete,
            "The scan was completed successfully.",
            &[(FindingSeverity::Critical, 1)],
        ),
    ];
    let ecr = ecr_client(&rules.iter().collect::<Vec<_>>());
    let published: Log<(String, String)> = Arc::default();
    let publish = {
        let published = published.clone();
        mock!(aws_sdk_sns::Client::publish).then_compute_output(move |r| {
            published.lock().unwrap().push((
                r.subject().unwrap_or_default().to_owned(),
                r.message().unwrap_or_default().to_owned(),
            ));
            aws_sdk_sns::operation::publish::PublishOutput::builder().build()
        })
    };
    let (cp, log) = pipeline();
    let announcing = deps(ecr.clone(), cp, ScanGate::AtLeast(Severity::Critical)).with_notifier(
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]),
        "arn:aws:sns:ap-southeast-1:123456789012:notifications-test".into(),
        false,
    );
    run(
        &announcing,
        job_event("job-1", &push_params(&d, commit, 4), None),
    )
    .await
    .unwrap();
    let (kind, _) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    let published = published.lock().unwrap().clone();
    assert_eq!(published.len(), 1, "{published:?}");
    let (subject, message) = &published[0];
    assert_eq!(subject, &format!("Promotion refused: {REPO}"));
    assert!(
        message.starts_with(&format!(
            "{REPO} (commit {commit}, push 4): promotion refused by the scan gate"
        )) && message.contains("CRITICAL 1"),
        "{message}"
    );

    let denied = mock!(aws_sdk_sns::Client::publish).then_http_response(|| {
        Response::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from("<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not allowed</Message></Error></ErrorResponse>"),
        )
    });
    let (cp, log) = pipeline();
    let unreachable = deps(ecr, cp, ScanGate::AtLeast(Severity::Critical)).with_notifier(
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&denied]),
        "arn:aws:sns:ap-southeast-1:123456789012:notifications-test".into(),
        false,
    );
    let answer = run(
        &unreachable,
        job_event("job-1", &push_params(&d, commit, 4), None),
    )
    .await
    .unwrap();
    assert_eq!(answer["result"], "failed");
    assert_eq!(denied.num_calls(), 1);
    let (kind, _) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
}

#[tokio::test]
async fn below_the_threshold_promotes() {
    let d = fake_digest('a');
    let puts: Log<Put> = Arc::default();
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        get_tag("production", not_found()),
        get_tag("production-previous", not_found()),
        scan(ScanStatus::Complete, "", &[(FindingSeverity::High, 2)]),
        put_ok(&puts),
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::AtLeast(Severity::Critical),
    );
    run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();
    let success = the_one_success(&log);
    assert_eq!(var(&success, "PREVIOUS_DIGEST"), Some("none"));
    assert_eq!(puts.lock().unwrap().len(), 1);
}

/// A deadline with no room for a pause, a check and the rest of the
/// work (10 s): the tagger hands back a token after one check.
fn no_time_to_poll() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn a_pending_scan_continues_through_the_token_and_the_wait_is_bounded_by_time() {
    let d = fake_digest('a');
    let puts: Log<Put> = Arc::default();
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        scan(ScanStatus::InProgress, "", &[]),
        put_ok(&puts),
    ];
    let ecr = ecr_client(&rules.iter().collect::<Vec<_>>());
    let invoke = |token: Option<String>| {
        let ecr = ecr.clone();
        let d = d.clone();
        async move {
            let (cp, log) = pipeline();
            let deps = deps(ecr, cp, ScanGate::AtLeast(Severity::Critical));
            let event = job_event("job-1", &params(REPO, &d), token.as_deref());
            let answer = handle_event(&deps, event, no_time_to_poll()).await.unwrap();
            (answer, log)
        }
    };

    // First invocation: in progress, with a continuation token and no variables.
    let (answer, log) = invoke(None).await;
    assert_eq!(answer["result"], "in_progress");
    let success = the_one_success(&log);
    assert!(success.output_variables().is_none());
    let mut token = success.continuation_token().unwrap().to_owned();
    let state = WaitState::from_token(&token).unwrap();
    assert_eq!((state.digest.as_str(), state.checks), (d.as_str(), 1));

    // The token is carried on, and a count of checks bounds nothing.
    for checks in 2..=12 {
        let (answer, log) = invoke(Some(token)).await;
        assert_eq!(answer["result"], "in_progress");
        token = the_one_success(&log)
            .continuation_token()
            .unwrap()
            .to_owned();
        assert_eq!(WaitState::from_token(&token).unwrap().checks, checks);
    }

    // A token whose first check is older than SCAN_WAIT_MAX_SECONDS: a
    // failure that says what to check.
    let old = WaitState {
        v: 1,
        digest: d.clone(),
        checks: 2,
        since: 1,
    }
    .to_token();
    let (answer, log) = invoke(Some(old)).await;
    assert_eq!(answer["result"], "failed");
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(
        message.contains("gave up waiting")
            && message.contains("IN_PROGRESS")
            && message.contains("after 3 check(s)")
            && message.contains("limit: SCAN_WAIT_MAX_SECONDS=600"),
        "{message}"
    );
    assert!(puts.lock().unwrap().is_empty());
}

/// With time left in the invocation, the tagger checks again after each
/// pause (SCAN_POLL_SECONDS) and promotes as soon as the scan completes,
/// within the one invocation.
#[tokio::test]
async fn a_pending_scan_is_checked_again_within_the_invocation() {
    let d = fake_digest('a');
    let puts: Log<Put> = Arc::default();
    let scans = mock!(aws_sdk_ecr::Client::describe_image_scan_findings)
        .sequence()
        .output(|| scan_output(&ScanStatus::InProgress, "", &[]))
        .times(3)
        .output(|| scan_output(&ScanStatus::Complete, "done", &[]))
        .build();
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        get_tag("production", not_found()),
        get_tag("production-previous", not_found()),
        scans.clone(),
        put_ok(&puts),
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::AtLeast(Severity::Critical),
    );
    let started = std::time::Instant::now();
    let answer = run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();
    assert_eq!(answer["result"], "succeeded");
    assert_eq!(
        scans.num_calls(),
        4,
        "three pending checks, then the complete one"
    );
    assert!(
        started.elapsed() >= 3 * POLL,
        "a pause before each check again"
    );
    let success = the_one_success(&log);
    assert_eq!(success.continuation_token(), None);
    assert_eq!(var(&success, "PROMOTED_DIGEST"), Some(d.as_str()));
    assert_eq!(puts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn unsupported_images_are_promoted_with_a_warning() {
    for (status, description) in [
        (
            ScanStatus::UnsupportedImage,
            "The operating system is not supported",
        ),
        (
            ScanStatus::Failed,
            "UnsupportedImageError: The operating system and/or package manager are not supported.",
        ),
    ] {
        let d = fake_digest('a');
        let puts: Log<Put> = Arc::default();
        let rules = [
            get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
            get_tag("production", not_found()),
            get_tag("production-previous", not_found()),
            scan(status, description, &[]),
            put_ok(&puts),
        ];
        let (cp, log) = pipeline();
        let deps = deps(
            ecr_client(&rules.iter().collect::<Vec<_>>()),
            cp,
            ScanGate::AtLeast(Severity::Low),
        );
        run(&deps, job_event("job-1", &params(REPO, &d), None))
            .await
            .unwrap();
        let success = the_one_success(&log);
        let summary = success.execution_details().unwrap().summary().unwrap();
        assert!(
            summary.contains("WARNING: the image scanner does not support"),
            "{summary}"
        );
        assert_eq!(puts.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_failed_scan_fails_the_job() {
    let d = fake_digest('a');
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        scan(ScanStatus::Failed, "Internal scanner error", &[]),
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::AtLeast(Severity::Critical),
    );
    run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(
        message.contains("no usable result") && message.contains("Internal scanner error"),
        "{message}"
    );
}

#[tokio::test]
async fn a_multi_platform_image_is_gated_on_each_platform_but_not_its_attestation() {
    let index_digest = fake_digest('f');
    let (amd, arm, att) = (fake_digest('1'), fake_digest('2'), fake_digest('3'));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": OCI, "digest": amd, "size": 10, "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI, "digest": arm, "size": 10, "platform": {"architecture": "arm64", "os": "linux"}},
            {"mediaType": OCI, "digest": att, "size": 10, "platform": {"architecture": "unknown", "os": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
        ]
    })
    .to_string();
    let scanned: Log<String> = Arc::default();
    let scan_rule = {
        let scanned = scanned.clone();
        let arm = arm.clone();
        mock!(aws_sdk_ecr::Client::describe_image_scan_findings).then_compute_output(move |r| {
            let digest = r
                .image_id()
                .and_then(|i| i.image_digest())
                .unwrap_or_default()
                .to_owned();
            let critical = if digest == arm { 1 } else { 0 };
            scanned.lock().unwrap().push(digest);
            DescribeImageScanFindingsOutput::builder()
                .image_scan_status(
                    ImageScanStatus::builder()
                        .status(ScanStatus::Complete)
                        .build(),
                )
                .image_scan_findings(
                    ImageScanFindings::builder()
                        .finding_severity_counts(FindingSeverity::Critical, critical)
                        .build(),
                )
                .build()
        })
    };
    let rules = [
        get_digest(
            &index_digest,
            found(
                &index_digest,
                &index,
                "application/vnd.oci.image.index.v1+json",
            ),
        ),
        scan_rule,
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::AtLeast(Severity::Critical),
    );
    run(
        &deps,
        job_event("job-1", &params(REPO, &index_digest), None),
    )
    .await
    .unwrap();
    assert_eq!(*scanned.lock().unwrap(), vec![amd, arm]);
    let (_, message) = the_one_failure(&log);
    assert!(
        message.contains("1 finding(s) of severity CRITICAL"),
        "{message}"
    );
}

#[tokio::test]
async fn without_a_digest_the_newest_tagged_image_is_promoted_and_the_result_says_so() {
    let (old, newest, cache, untagged) = (
        fake_digest('a'),
        fake_digest('b'),
        fake_digest('c'),
        fake_digest('d'),
    );
    let detail = |digest: &str, tags: &[&str], secs: i64| {
        let mut b = ImageDetail::builder()
            .image_digest(digest)
            .image_pushed_at(DateTime::from_secs(secs));
        for tag in tags {
            b = b.image_tags(*tag);
        }
        b.build()
    };
    let listing = DescribeImagesOutput::builder()
        .image_details(detail(&old, &["1111111"], 1_700_000_000))
        .image_details(detail(&newest, &["2222222"], 1_700_000_100))
        .image_details(detail(&cache, &["buildcache"], 1_700_000_200))
        .image_details(detail(&untagged, &[], 1_700_000_300))
        .build();
    let puts: Log<Put> = Arc::default();
    let rules = [
        mock!(aws_sdk_ecr::Client::describe_images).then_output(move || listing.clone()),
        get_digest(&newest, found(&newest, MANIFEST_A, DOCKER)),
        get_tag("production", not_found()),
        get_tag("production-previous", not_found()),
        put_ok(&puts),
    ];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );
    let no_digest = json!({"repository": REPO, "tag": "production"}).to_string();
    run(&deps, job_event("job-1", &no_digest, None))
        .await
        .unwrap();
    let success = the_one_success(&log);
    assert_eq!(var(&success, "PROMOTED_DIGEST"), Some(newest.as_str()));
    let summary = success.execution_details().unwrap().summary().unwrap();
    assert!(
        summary.contains("no digest in UserParameters: promoting the most recently pushed image"),
        "{summary}"
    );
}

#[tokio::test]
async fn an_empty_repository_without_a_digest_fails_the_job() {
    let rules = [mock!(aws_sdk_ecr::Client::describe_images)
        .then_output(|| DescribeImagesOutput::builder().build())];
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );
    run(
        &deps,
        job_event("job-1", &json!({"repository": REPO}).to_string(), None),
    )
    .await
    .unwrap();
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(message.contains("holds no tagged image"), "{message}");
}

/// The deadline guard: ECR is a listener that never answers.
#[tokio::test]
async fn the_deadline_guard_answers_before_the_lambda_deadline() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ecr = aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::Config::builder()
            .with_test_defaults_v2()
            .endpoint_url(format!("http://{}", silent.local_addr().unwrap()))
            .build(),
    );
    let (cp, log) = pipeline();
    let deps = deps(ecr, cp, ScanGate::Off);
    let started = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    handle_event(
        &deps,
        job_event("job-1", &params(REPO, &fake_digest('a')), None),
        deadline,
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let (kind, message) = the_one_failure(&log);
    assert_eq!(kind, "JobFailed");
    assert!(message.contains("ran out of time"), "{message}");
}

#[tokio::test]
async fn a_panic_in_the_work_becomes_a_failure_result() {
    let outcome =
        tagger::handler::guarded(async { panic!("index out of bounds") }, relaxed_deadline()).await;
    match outcome {
        tagger::domain::outcome::JobOutcome::Failed { kind, message } => {
            assert_eq!(kind.as_str(), "JobFailed");
            assert!(message.contains("index out of bounds"), "{message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn throttled_result_calls_are_retried_and_sent_once() {
    let d = fake_digest('a');
    let attempts = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .sequence()
        .http_status(
            400,
            Some(json!({"__type": "ThrottlingException", "message": "Rate exceeded"}).to_string()),
        )
        .times(2)
        .output(|| PutJobFailureResultOutput::builder().build())
        .build();
    let cp = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::Sequential,
        [&attempts],
        tagger::aws::codepipeline::with_result_retries
    );
    let rules = [get_digest(&d, not_found())];
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );
    let answer = run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap();
    assert_eq!(answer["result"], "failed");
    assert_eq!(
        attempts.num_calls(),
        3,
        "two throttled attempts, then the one that landed"
    );
    assert!(attempts.is_exhausted());
}

#[tokio::test]
async fn a_result_call_that_cannot_be_made_fails_the_invocation() {
    let d = fake_digest('a');
    let denied =
        mock!(aws_sdk_codepipeline::Client::put_job_failure_result).then_http_response(|| {
            aws_error(
                400,
                "AccessDeniedException",
                "not authorized to perform: codepipeline:PutJobFailureResult",
            )
        });
    let cp = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&denied],
        tagger::aws::codepipeline::with_result_retries
    );
    let rules = [get_digest(&d, not_found())];
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );
    let error = run(&deps, job_event("job-1", &params(REPO, &d), None))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("codepipeline:PutJobFailureResult"),
        "{error}"
    );
    assert_eq!(denied.num_calls(), 1, "access denied is not retried");
}

#[tokio::test]
async fn events_without_a_job_id_cannot_be_answered() {
    for event in [
        json!({"CodePipeline.job": {"accountId": "123456789012", "data": {}}}),
        json!({"CodePipeline.job": {"id": "", "data": {}}}),
        json!({"CodePipeline.job": "x"}),
    ] {
        let (cp, log) = pipeline();
        let deps = deps(ecr_client(&[]), cp, ScanGate::Off);
        let error = run(&deps, event).await.unwrap_err();
        assert!(matches!(error, tagger::Error::NoJobId), "{error}");
        assert!(log.lock().unwrap().is_empty());
    }
    let (cp, log) = pipeline();
    let deps = deps(ecr_client(&[]), cp, ScanGate::Off);
    let error = run(&deps, json!({"hello": "world"})).await.unwrap_err();
    assert!(matches!(error, tagger::Error::UnknownEvent), "{error}");
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn the_sample_job_event_deserializes_and_its_parameters_parse() {
    use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;
    let text = include_str!("../../../events/tagger-job.json");
    let event: CodePipelineJobEvent = serde_json::from_str(text).unwrap();
    let job = &event.code_pipeline_job;
    assert!(job.id.as_deref().is_some_and(|id| !id.is_empty()));
    assert_eq!(job.account_id.as_deref(), Some("000000000000"));
    assert!(job.data.input_artifacts.is_empty() && job.data.out_put_artifacts.is_empty());
    assert_eq!(job.data.continuation_token, None);
    let credentials = &job.data.artifact_credentials;
    assert!(credentials
        .secret_access_key
        .as_deref()
        .is_some_and(|s| s.contains("fake")));
    let config = &job.data.action_configuration.configuration;
    assert!(config
        .function_name
        .as_deref()
        .is_some_and(|f| f.starts_with("tagger-")));
    let params =
        tagger::domain::params::parse_user_parameters(config.user_parameters.as_deref()).unwrap();
    assert_eq!(params.tag, "production");
    assert!(params.repository.starts_with("images-"));
    assert!(params.digest.is_some());
}

/// UserParameters as the installer writes them, resolved for a push.
const EXECUTION: &str = "8e5c2a4e-1b7d-4c55-9c1e-0f2b9d6f1a33";

fn push_params(digest: &str, commit: &str, sequence: u64) -> String {
    json!({"repository": REPO, "digest": digest, "tag": "production",
           "commit": commit, "sequence": sequence.to_string(), "execution": EXECUTION})
    .to_string()
}

fn condition_failed() -> Response {
    aws_error(
        400,
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "The conditional request failed",
    )
}

/// The `production` item with a hold set by a rollback to `to`.
fn held_record(digest: &str, to: &str) -> GetItemOutput {
    GetItemOutput::builder()
        .item("digest", AttributeValue::S(digest.into()))
        .item(
            "hold",
            AttributeValue::M(HashMap::from([
                (
                    "since".to_owned(),
                    AttributeValue::S("2026-12-02T01:00:00Z".into()),
                ),
                ("to".to_owned(), AttributeValue::S(to.into())),
            ])),
        )
        .build()
}

#[tokio::test]
async fn a_build_under_a_hold_succeeds_without_promotion_and_says_how_to_release() {
    let (built, held) = (fake_digest('c'), fake_digest('a'));
    let commit = "4444444444444444444444444444444444444444";
    let puts: Log<Put> = Arc::default();
    let ecr_rules = [
        get_digest(&built, found(&built, MANIFEST_B, OCI)),
        get_tag("production", found(&held, MANIFEST_A, DOCKER)),
        put_ok(&puts),
    ];
    let refused = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.condition_expression()
                .is_some_and(|c| c.contains("attribute_not_exists(#hold)"))
        })
        .then_http_response(condition_failed);
    let held_item = held.clone();
    let record = mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(move || held_record(&held_item, &held_item));
    let (cp, log) = pipeline();
    let deps = deps(
        ecr_client(&ecr_rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    )
    .with_order_guard(deliveries(&[&refused, &record]), "deliveries-test".into());

    let answer = run(
        &deps,
        job_event("job-1", &push_params(&built, commit, 12), None),
    )
    .await
    .unwrap();
    assert_eq!(answer["result"], "succeeded");
    assert!(puts.lock().unwrap().is_empty(), "no tag moved");
    let success = the_one_success(&log);
    let summary = success.execution_details().unwrap().summary().unwrap();
    assert!(
        summary.contains(&format!(
            "built, not promoted: {REPO}@{built} (commit {commit})"
        )) && summary.contains("held since 2026-12-02T01:00:00Z")
            && summary.contains("scripts/production.sh --stack <stack> release"),
        "{summary}"
    );
    assert_eq!(var(&success, "PROMOTED_DIGEST"), Some(held.as_str()));
}

fn deliveries(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules)
}

#[tokio::test]
async fn a_job_answered_before_counts_as_answered() {
    let d = fake_digest('a');
    let puts: Log<Put> = Arc::default();
    let rules = [
        get_digest(&d, found(&d, MANIFEST_A, DOCKER)),
        get_tag("production", found(&d, MANIFEST_A, DOCKER)),
        get_tag("production-previous", not_found()),
        put_ok(&puts),
    ];
    let answered =
        mock!(aws_sdk_codepipeline::Client::put_job_success_result).then_http_response(|| {
            aws_error(
                400,
                "InvalidJobStateException",
                "The job was in a state that was not valid for this action",
            )
        });
    let cp = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&answered]);
    let deps = deps(
        ecr_client(&rules.iter().collect::<Vec<_>>()),
        cp,
        ScanGate::Off,
    );
    let answer = run(&deps, job_event("job-1", &params(REPO, &d), None)).await;
    // No error: Lambda must not retry an invocation whose job is answered.
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(answered.num_calls(), 1);
}
