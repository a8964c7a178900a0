//! The sample events of `events/`, invoked with `cargo lambda invoke` against the
//! local cloud as the README shows: the world they expect (suffix `local`), a
//! listener for the installer's answer to CloudFormation, and a check of what each
//! invoke did.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::checks::{job_result, ok, tags_of};
use crate::world::World;

const CREATE: &str = include_str!("../../../events/installer-create.json");
const UPDATE: &str = include_str!("../../../events/installer-update.json");
const DELETE: &str = include_str!("../../../events/installer-delete.json");
const TAGGER_JOB: &str = include_str!("../../../events/tagger-job.json");
const STARTER_PUSH: &str = include_str!("../../../events/starter-push.json");
/// The deliveries table of `events/local.env`.
const DELIVERIES_TABLE: &str = "deliveries-local";
const MANIFEST: &str = include_str!("../../../events/image-manifest.json");
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// How long the listener waits for the installer's answer.
const RESPONSE_WAIT: Duration = Duration::from_secs(300);

fn parse(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).with_context(|| format!("{what} is not JSON"))
}

fn property<'a>(event: &'a Value, name: &str) -> Result<&'a str> {
    event["ResourceProperties"][name]
        .as_str()
        .with_context(|| format!("events/installer-create.json has no ResourceProperties.{name}"))
}

/// The tagger fixture's job id and its parsed UserParameters.
fn tagger_job() -> Result<(String, Value)> {
    let event = parse(TAGGER_JOB, "events/tagger-job.json")?;
    let job = &event["CodePipeline.job"];
    let id = job["id"]
        .as_str()
        .context("the tagger fixture has no job id")?;
    let parameters = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
        .as_str()
        .context("the tagger fixture has no UserParameters")?;
    Ok((
        id.to_owned(),
        parse(parameters, "the tagger fixture's UserParameters")?,
    ))
}

/// Creates what the fixtures refer to: the installer's two service roles, artifact bucket
/// and bus (the webhook's bus too), and the tagger's repository holding the image
/// of `events/image-manifest.json`, whose digest the tagger fixture names.
pub async fn prepare(w: &World) -> Result<()> {
    let create = parse(CREATE, "events/installer-create.json")?;
    for (property_name, service) in [
        ("CodeBuildRoleArn", "codebuild.amazonaws.com"),
        ("PipelineRoleArn", "codepipeline.amazonaws.com"),
    ] {
        let arn = property(&create, property_name)?;
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let trust = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]});
        if w.iam.get_role().role_name(name).send().await.is_err() {
            w.iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust.to_string())
                .send()
                .await
                .with_context(|| format!("creating the role {name}"))?;
        }
    }
    w.ensure_bucket(property(&create, "ArtifactBucket")?)
        .await?;
    let bus = property(&create, "EventBusName")?;
    if w.events
        .describe_event_bus()
        .name(bus)
        .send()
        .await
        .is_err()
    {
        w.events
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .with_context(|| format!("creating the bus {bus}"))?;
    }

    let (_, parameters) = tagger_job()?;
    let repository = parameters["repository"]
        .as_str()
        .context("the tagger fixture names no repository")?;
    let wanted = parameters["digest"]
        .as_str()
        .context("the tagger fixture names no digest")?;
    if w.ecr
        .describe_repositories()
        .repository_names(repository)
        .send()
        .await
        .is_err()
    {
        w.ecr
            .create_repository()
            .repository_name(repository)
            .send()
            .await
            .with_context(|| format!("creating the repository {repository}"))?;
    }
    let put = w
        .ecr
        .put_image()
        .repository_name(repository)
        .image_manifest(MANIFEST)
        .image_manifest_media_type(MANIFEST_MEDIA_TYPE)
        .image_tag("built-by-the-fixture")
        .send()
        .await
        .context("putting events/image-manifest.json into the repository")?;
    let digest = put
        .image()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .unwrap_or_default();
    ensure!(
        digest == wanted,
        "events/image-manifest.json has digest {digest}, but events/tagger-job.json names {wanted}: update the fixture"
    );
    if w.dynamodb
        .describe_table()
        .table_name(DELIVERIES_TABLE)
        .send()
        .await
        .is_err()
    {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        w.dynamodb
            .create_table()
            .table_name(DELIVERIES_TABLE)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("creating the table {DELIVERIES_TABLE}"))?;
    }
    ok(&format!(
        "fixtures' world: two roles, bucket, bus {bus}, {repository}@{digest}, table {DELIVERIES_TABLE}"
    ));
    Ok(())
}

/// Serves the fixtures' ResponseURL on 127.0.0.1 for one answer, writes its body to
/// `out`, and creates `out.ready` once listening. Gives up after [`RESPONSE_WAIT`].
pub fn receive_response(out: &Path) -> Result<()> {
    let create = parse(CREATE, "events/installer-create.json")?;
    let url = create["ResponseURL"]
        .as_str()
        .context("the installer fixture has no ResponseURL")?;
    let address = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .filter(|host| host.starts_with("127.0.0.1:"))
        .with_context(|| {
            format!("the fixtures' ResponseURL {url} is not http://127.0.0.1:PORT/…")
        })?;
    let listener = TcpListener::bind(address).with_context(|| format!("listening on {address}"))?;
    listener.set_nonblocking(true)?;
    std::fs::write(out.with_extension("ready"), address)?;
    let deadline = Instant::now() + RESPONSE_WAIT;
    let (mut stream, _) = loop {
        match listener.accept() {
            Ok(accepted) => break accepted,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    bail!("no answer reached {url} within {RESPONSE_WAIT:?}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e).context("accepting the installer's answer"),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = Vec::new();
    let mut buffer = [0_u8; 8192];
    let body_start = loop {
        let read = stream.read(&mut buffer)?;
        ensure!(read > 0, "the answer ended before its headers did");
        request.extend_from_slice(&buffer[..read]);
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..body_start]).into_owned();
    ensure!(head.starts_with("PUT "), "expected a PUT, got: {head}");
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .context("the answer has no Content-Length")?;
    while request.len() < body_start + length {
        let read = stream.read(&mut buffer)?;
        ensure!(read > 0, "the answer ended before its body did");
        request.extend_from_slice(&buffer[..read]);
    }
    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")?;
    std::fs::write(out, &request[body_start..body_start + length])?;
    Ok(())
}

/// The webhook's answer to `events/webhook-push.json`: the push was forwarded.
pub fn check_webhook(output: &Path) -> Result<()> {
    let answer = parse(&read(output)?, "the webhook's answer")?;
    ensure!(
        answer["statusCode"] == 200,
        "the webhook answered {answer}, not 200"
    );
    let body = parse(
        answer["body"].as_str().unwrap_or_default(),
        "the webhook's answer body",
    )?;
    ensure!(
        body["message"] == "forwarded",
        "the webhook did not forward the push: {body}"
    );
    ok("cargo lambda invoke webhook: 200, the push was put on the bus");
    Ok(())
}

/// The tagger's answer to `events/tagger-job.json`: the job succeeded, its result
/// was sent to CodePipeline, and `production` names the fixture's image.
pub async fn check_tagger(w: &World, output: &Path) -> Result<()> {
    let (job_id, parameters) = tagger_job()?;
    let answer = parse(&read(output)?, "the tagger's answer")?;
    ensure!(
        answer["jobId"] == job_id.as_str(),
        "the tagger answered {answer}, not for job {job_id}"
    );
    let result = job_result(&job_id)?;
    ensure!(
        result["action"] == "PutJobSuccessResult",
        "job {job_id}: {result}"
    );
    let repository = parameters["repository"].as_str().unwrap_or_default();
    let digest = parameters["digest"].as_str().unwrap_or_default();
    let tags = tags_of(w, repository, digest).await?;
    ensure!(
        tags.iter().any(|t| t == "production"),
        "production is not on {digest}: {tags:?}"
    );
    ok("cargo lambda invoke tagger: job succeeded, production on the fixture's image");
    Ok(())
}

/// The starter's answer to `events/starter-push.json`: it started the fixture's
/// pipeline on exactly the fixture's commit (or, run again on the same local
/// cloud, knew the delivery), and the start request was recorded.
pub fn check_starter(output: &Path) -> Result<()> {
    let push = parse(STARTER_PUSH, "events/starter-push.json")?;
    let commit = push["detail"]["after"].as_str().unwrap_or_default();
    let delivery = push["detail"]["delivery_id"].as_str().unwrap_or_default();
    let answer = parse(&read(output)?, "the starter's answer")?;
    ensure!(
        answer["result"] == "started" && answer["commit"] == commit
            || answer["result"] == "duplicate",
        "the starter answered {answer}"
    );
    let starts = crate::checks::start_requests()?;
    let started = starts.iter().any(|r| {
        r["name"] == "pipeline-local"
            && r["sourceRevisions"][0]["revisionValue"] == commit
            && crate::checks::variable(r, "DELIVERY_ID") == Some(delivery)
    });
    ensure!(
        started,
        "no StartPipelineExecution of pipeline-local on {commit} was recorded"
    );
    ok(&format!(
        "cargo lambda invoke starter: pipeline-local started on exactly {commit}"
    ));
    Ok(())
}

/// The installer's answer to one of the `events/installer-*.json` requests, and
/// what it left in the local cloud.
pub async fn check_installer(w: &World, request: &str, response: &Path) -> Result<()> {
    let event = parse(
        match request {
            "create" => CREATE,
            "update" => UPDATE,
            "delete" => DELETE,
            other => bail!("unknown request {other}: create, update or delete"),
        },
        "the installer fixture",
    )?;
    let answer = parse(&read(response)?, "the installer's answer")?;
    ensure!(
        answer["Status"] == "SUCCESS" && answer["RequestId"] == event["RequestId"],
        "the installer answered the {request} request with {answer}"
    );
    let properties = &event["ResourceProperties"];
    let project = properties["ProjectName"].as_str().unwrap_or_default();
    let pipeline = properties["PipelineName"].as_str().unwrap_or_default();
    let rule = properties["RuleName"].as_str().unwrap_or_default();
    let bus = properties["EventBusName"].as_str().unwrap_or_default();
    let projects = w
        .codebuild
        .batch_get_projects()
        .names(project)
        .send()
        .await?;
    let found = [
        !projects.projects().is_empty(),
        w.codepipeline
            .get_pipeline()
            .name(pipeline)
            .send()
            .await
            .is_ok(),
        w.events
            .describe_rule()
            .name(rule)
            .event_bus_name(bus)
            .send()
            .await
            .is_ok(),
    ];
    let expected = request != "delete";
    ensure!(
        found.iter().all(|f| *f == expected),
        "after {request}: project {project}, pipeline {pipeline}, rule {rule} exist: {found:?}"
    );
    ok(&format!(
        "cargo lambda invoke installer ({request}): SUCCESS answered, project, pipeline and rule {}",
        if expected { "in place" } else { "removed" }
    ));
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}
