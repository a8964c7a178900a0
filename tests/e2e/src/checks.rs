//! The scenario's checks. Each prints one `ok` line or fails naming what it saw.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::world::{Stack, World};

pub(crate) fn ok(what: &str) {
    println!("ok   {what}");
}

const TAGS: [(&str, &str); 2] = [("Environment", "production"), ("Team", "devops")];

fn has_tags(tags: &HashMap<String, String>) -> bool {
    TAGS.iter()
        .all(|(k, v)| tags.get(*k).map(String::as_str) == Some(*v))
}

/// A value unique to this run, for delivery ids, job ids and image tags.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}{nanos:x}")
}

/// Step 2: what was deployed matches the original request.
pub async fn deployed_configuration(w: &World, stack: &Stack) -> Result<()> {
    let s = stack.suffix()?;

    for function in ["installer", "tagger", "webhook", "starter", "notifier"] {
        let name = format!("{function}-{s}");
        let got = w
            .lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .with_context(|| format!("function {name}"))?;
        let runtime = got
            .configuration()
            .and_then(|c| c.runtime())
            .map(|r| r.as_str());
        ensure!(
            runtime == Some("provided.al2023"),
            "{name}: runtime {runtime:?}"
        );
        ensure!(
            has_tags(got.tags().unwrap_or(&HashMap::new())),
            "{name}: tags {:?}",
            got.tags()
        );
    }
    ok("functions: provided.al2023, named with the suffix, tagged");

    for group in [
        format!("/aws/codebuild/build-{s}"),
        format!("/aws/lambda/installer-{s}"),
        format!("/aws/lambda/tagger-{s}"),
        format!("/aws/lambda/webhook-{s}"),
        format!("/aws/lambda/starter-{s}"),
        format!("/aws/lambda/notifier-{s}"),
    ] {
        let groups = w
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&group)
            .send()
            .await?;
        let found = groups
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(group.as_str()))
            .with_context(|| format!("log group {group} does not exist"))?;
        ensure!(
            found.retention_in_days() == Some(7),
            "{group}: retention {:?}",
            found.retention_in_days()
        );
    }
    ok("log groups: six, 7-day retention");

    let bucket = stack.output("ArtifactBucketName")?;
    ensure!(
        bucket.starts_with(&format!("artifacts-{s}-")),
        "bucket name {bucket}"
    );
    let versioning = w.s3.get_bucket_versioning().bucket(bucket).send().await?;
    ensure!(
        versioning.status().map(|v| v.as_str()) == Some("Enabled"),
        "{bucket}: versioning {:?}",
        versioning.status()
    );
    // MiniStack's CloudFormation applies a bucket's versioning but not its encryption,
    // lifecycle or tags: those are checked on the transformed template
    // (tests/e2e/tests/template.rs), which is what AWS receives.
    ok("artifact bucket: named with the suffix and account, versioned");

    let repository = format!("images-{s}");
    let repositories = w
        .ecr
        .describe_repositories()
        .repository_names(&repository)
        .send()
        .await?;
    let repo = repositories
        .repositories()
        .first()
        .context("repository missing")?;
    ensure!(
        repo.image_scanning_configuration()
            .map(|c| c.scan_on_push())
            == Some(true),
        "{repository}: scan on push is off"
    );
    ensure!(
        stack.output("RepositoryUri")? == repo.repository_uri().unwrap_or_default(),
        "RepositoryUri output differs from the repository"
    );
    let policy = w
        .ecr
        .get_lifecycle_policy()
        .repository_name(&repository)
        .send()
        .await?;
    let policy: Value = serde_json::from_str(policy.lifecycle_policy_text().unwrap_or("{}"))?;
    let keeps_ten = policy["rules"]
        .as_array()
        .is_some_and(|rules| rules.iter().any(|r| r["selection"]["countNumber"] == 10));
    ensure!(
        keeps_ten,
        "{repository}: lifecycle policy does not keep 10 images: {policy}"
    );
    ok("repository: scan on push, lifecycle policy keeps the last 10");

    for role in [
        "codebuild",
        "codepipeline",
        "starter",
        "installer",
        "tagger",
        "webhook",
        "notifier",
    ] {
        let name = format!("{role}-role-{s}");
        w.iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .with_context(|| format!("role {name}"))?;
    }
    ok("roles: one per principal");

    let project = format!("build-{s}");
    let projects = w
        .codebuild
        .batch_get_projects()
        .names(&project)
        .send()
        .await?;
    let p = projects
        .projects()
        .first()
        .with_context(|| format!("project {project} missing"))?;
    let env = p.environment().context("project without environment")?;
    ensure!(
        env.compute_type().as_str() == "BUILD_GENERAL1_SMALL",
        "compute {:?}",
        env.compute_type()
    );
    ensure!(
        env.privileged_mode() == Some(true),
        "{project}: not privileged (Docker needs it)"
    );
    let buildkit = env
        .environment_variables()
        .iter()
        .find(|v| v.name() == "BUILDKIT_IMAGE")
        .map(|v| v.value());
    let wanted = stack.parameter("BuildKitImage")?;
    ensure!(
        buildkit == Some(wanted),
        "{project}: BUILDKIT_IMAGE is {buildkit:?}, the stack parameter BuildKitImage {wanted}"
    );
    // AWS always returns a logs configuration; MiniStack's CodeBuild drops it (the
    // installer's tests check the log group on the CreateProject request itself).
    match p.logs_config() {
        None => println!("note {project}: the emulator returned no logs configuration"),
        Some(logs) => {
            let group = logs.cloud_watch_logs().and_then(|c| c.group_name());
            ensure!(
                group == Some(format!("/aws/codebuild/{project}").as_str()),
                "{project}: logs to {group:?}"
            );
        }
    }
    let tags: HashMap<String, String> = p
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect();
    ensure!(has_tags(&tags), "{project}: tags {tags:?}");
    ok("build project: SMALL, privileged, the stack's BuildKit image, tagged");

    let pipeline_name = stack.output("PipelineName")?;
    ensure!(
        pipeline_name == format!("pipeline-{s}"),
        "pipeline name {pipeline_name}"
    );
    let pipeline = w
        .codepipeline
        .get_pipeline()
        .name(pipeline_name)
        .send()
        .await?;
    let declaration = pipeline.pipeline().context("no pipeline declaration")?;
    let stages: Vec<&str> = declaration.stages().iter().map(|st| st.name()).collect();
    ensure!(stages == ["Source", "Build", "Deploy"], "stages {stages:?}");
    ok("pipeline: Source, Build, Deploy");

    let bus = format!("github-events-{s}");
    let rule = w
        .events
        .describe_rule()
        .name(format!("github-push-{s}"))
        .event_bus_name(&bus)
        .send()
        .await?;
    let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap_or("{}"))?;
    let branch = stack.parameter("GitHubBranch")?;
    ensure!(
        pattern["detail"]["ref"]
            .to_string()
            .contains(&format!("refs/heads/{branch}")),
        "rule pattern {pattern}"
    );
    let targets = w
        .events
        .list_targets_by_rule()
        .rule(format!("github-push-{s}"))
        .event_bus_name(&bus)
        .send()
        .await?;
    let target = targets
        .targets()
        .first()
        .context("the rule has no target")?;
    ensure!(
        target.arn().ends_with(&format!(":function:starter-{s}")),
        "target {}",
        target.arn()
    );
    ensure!(
        target
            .dead_letter_config()
            .and_then(|d| d.arn())
            .is_some_and(|a| a.ends_with(&format!(":push-dead-letters-{s}"))),
        "target dead-letter queue {:?}",
        target.dead_letter_config()
    );
    ok("push rule: matches the branch, targets the starter, dead letters to the queue");
    Ok(())
}

fn sign(secret: &str, body: &[u8]) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// A push payload as GitHub sends it (the fields the product reads, and some noise).
fn push_payload(owner: &str, repo: &str, branch: &str) -> Value {
    let after = hex::encode(Sha256::digest(unique("commit").as_bytes()));
    json!({
        "ref": format!("refs/heads/{branch}"),
        "before": "0".repeat(40),
        "after": &after[..40],
        "created": false,
        "deleted": false,
        "forced": false,
        "repository": {
            "id": 1296269,
            "name": repo,
            "full_name": format!("{owner}/{repo}"),
            "private": true,
            "owner": { "login": owner, "name": owner },
            "html_url": format!("https://github.com/{owner}/{repo}"),
            "default_branch": branch
        },
        "pusher": { "name": "octocat", "email": "octocat@users.noreply.github.com" },
        "head_commit": {
            "id": &after[..40],
            "message": "Update the greeting",
            "timestamp": "2026-11-25T10:00:00Z",
            "url": format!("https://github.com/{owner}/{repo}/commit/{}", &after[..40]),
            "author": { "name": "Octo Cat", "email": "octocat@users.noreply.github.com" }
        }
    })
}

/// Step 3: a signed push reaches the bus and matches the rule; a forged one does not.
pub async fn webhook_delivery(w: &World, stack: &Stack) -> Result<()> {
    let s = stack.suffix()?;
    let bus = format!("github-events-{s}");
    let rule = w
        .events
        .describe_rule()
        .name(format!("github-push-{s}"))
        .event_bus_name(&bus)
        .send()
        .await?;
    let pattern = rule
        .event_pattern()
        .context("the rule has no pattern")?
        .to_owned();

    let owner = stack.parameter("GitHubOwner")?;
    let repo = stack.parameter("GitHubRepo")?;
    let branch = stack.parameter("GitHubBranch")?;
    let payload = push_payload(owner, repo, branch);

    // The event the webhook emits, as EventBridge sees it, against the rule's pattern.
    let event = |detail: &Value| {
        json!({
            "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "push", "source": "github.com",
            "account": "000000000000", "time": "2026-11-25T10:00:00Z", "region": "ap-southeast-1",
            "resources": [], "detail": detail
        })
        .to_string()
    };
    let mut detail = payload.clone();
    detail["delivery_id"] = json!("d-1");
    let matches = w
        .events
        .test_event_pattern()
        .event_pattern(&pattern)
        .event(event(&detail))
        .send()
        .await?;
    ensure!(
        matches.result(),
        "TestEventPattern: the push does not match {pattern}"
    );
    detail["ref"] = json!("refs/heads/some-other-branch");
    let other = w
        .events
        .test_event_pattern()
        .event_pattern(&pattern)
        .event(event(&detail))
        .send()
        .await?;
    ensure!(
        !other.result(),
        "TestEventPattern: a push to another branch matches {pattern}"
    );
    ok("rule pattern: matches the push, not another branch (TestEventPattern)");

    // An observer: a second rule with the same pattern, delivering to a queue.
    let observer = format!("observer-{s}");
    let queue_url = w
        .sqs
        .create_queue()
        .queue_name(&observer)
        .send()
        .await?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let result =
        observe_deliveries(w, stack, &bus, &observer, &queue_url, &pattern, &payload).await;
    let _ = w
        .events
        .remove_targets()
        .rule(&observer)
        .event_bus_name(&bus)
        .ids("queue")
        .send()
        .await;
    let _ = w
        .events
        .delete_rule()
        .name(&observer)
        .event_bus_name(&bus)
        .send()
        .await;
    let _ = w.sqs.delete_queue().queue_url(&queue_url).send().await;
    result
}

async fn observe_deliveries(
    w: &World,
    stack: &Stack,
    bus: &str,
    observer: &str,
    queue_url: &str,
    pattern: &str,
    payload: &Value,
) -> Result<()> {
    let attributes = w
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?;
    let queue_arn = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .context("queue without ARN")?;
    w.events
        .put_rule()
        .name(observer)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await?;
    w.events
        .put_targets()
        .rule(observer)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()?,
        )
        .send()
        .await?;

    let secret = w.webhook_secret(stack).await?;
    let url = function_url(w, stack.output("WebhookUrl")?)?;
    let body = serde_json::to_vec(payload)?;

    let signed_delivery = unique("signed-");
    let status = deliver(w, &url, &body, &signed_delivery, &sign(&secret, &body)?).await?;
    ensure!(status == 200, "signed push: HTTP {status}, expected 200");
    let seen = wait_for_delivery(w, queue_url, &signed_delivery, Duration::from_secs(20)).await?;
    let seen =
        seen.with_context(|| format!("signed push {signed_delivery} never reached the bus"))?;
    ensure!(
        seen["detail"]["ref"] == payload["ref"],
        "forwarded event lost the ref: {seen}"
    );
    ensure!(
        seen["source"] == "github.com" && seen["detail-type"] == "push",
        "event shape {seen}"
    );
    ok("webhook: a signed push through the function URL reached the bus and matched the rule");

    let forged_delivery = unique("forged-");
    let forged_signature = sign("not-the-secret", &body)?;
    let status = deliver(w, &url, &body, &forged_delivery, &forged_signature).await?;
    ensure!(status == 401, "forged push: HTTP {status}, expected 401");
    let seen = wait_for_delivery(w, queue_url, &forged_delivery, Duration::from_secs(5)).await?;
    ensure!(seen.is_none(), "a forged push reached the bus: {seen:?}");
    ok("webhook: a forged push got 401 and reached nothing");
    Ok(())
}

/// The function URL as the local cloud serves it: MiniStack answers
/// `<endpoint>/_aws/lambda-url/<url id>/` for `https://<url id>.lambda-url.<region>...`.
pub(crate) fn function_url(w: &World, output: &str) -> Result<String> {
    let host = output
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .with_context(|| format!("WebhookUrl {output} is not a URL"))?;
    let Some((url_id, _)) = host.split_once(".lambda-url.") else {
        bail!("WebhookUrl {output} is not a function URL");
    };
    Ok(format!(
        "{}/_aws/lambda-url/{url_id}/",
        w.endpoint.trim_end_matches('/')
    ))
}

async fn deliver(
    w: &World,
    url: &str,
    body: &[u8],
    delivery: &str,
    signature: &str,
) -> Result<u16> {
    let response = w
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/e2e")
        .header("x-github-event", "push")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(body.to_vec())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    Ok(response.status().as_u16())
}

async fn wait_for_delivery(
    w: &World,
    queue_url: &str,
    delivery: &str,
    within: Duration,
) -> Result<Option<Value>> {
    let started = Instant::now();
    while started.elapsed() < within {
        let received = w
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await?;
        for message in received.messages() {
            let event: Value = serde_json::from_str(message.body().unwrap_or("{}"))?;
            if event["detail"]["delivery_id"] == delivery {
                return Ok(Some(event));
            }
        }
    }
    Ok(None)
}

/// An image manifest as a Docker push would leave it (distinct per call).
fn manifest() -> String {
    let config = hex::encode(Sha256::digest(unique("config").as_bytes()));
    let layer = hex::encode(Sha256::digest(unique("layer").as_bytes()));
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469, "digest": format!("sha256:{config}") },
        "layers": [ { "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3370706, "digest": format!("sha256:{layer}") } ]
    })
    .to_string()
}

async fn push_image(w: &World, repository: &str) -> Result<String> {
    push_image_tagged(w, repository, &unique("")[..12]).await
}

/// Puts a new image with this tag, as the build pushes `<commit>`; its digest.
pub(crate) async fn push_image_tagged(w: &World, repository: &str, tag: &str) -> Result<String> {
    let put = w
        .ecr
        .put_image()
        .repository_name(repository)
        .image_manifest(manifest())
        .image_manifest_media_type("application/vnd.docker.distribution.manifest.v2+json")
        .image_tag(tag)
        .send()
        .await
        .context("putting an image as the build would")?;
    put.image()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .map(str::to_owned)
        .context("PutImage returned no digest")
}

pub(crate) async fn tags_of(w: &World, repository: &str, digest: &str) -> Result<Vec<String>> {
    let described = w
        .ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(digest)
                .build(),
        )
        .send()
        .await?;
    Ok(described
        .image_details()
        .first()
        .map(|d| d.image_tags().to_vec())
        .unwrap_or_default())
}

/// Invokes the tagger with the job event the Deploy stage sends; returns the job id.
async fn run_deploy_stage(w: &World, s: &str, repository: &str, digest: &str) -> Result<String> {
    let user_parameters =
        json!({ "repository": repository, "digest": digest, "tag": "production" }).to_string();
    invoke_tagger(w, s, &user_parameters).await
}

/// Invokes the tagger with a job carrying these UserParameters; returns the job id.
pub(crate) async fn invoke_tagger(w: &World, s: &str, user_parameters: &str) -> Result<String> {
    let job_id = unique("job-");
    let event = json!({
        "CodePipeline.job": {
            "id": job_id,
            "accountId": "000000000000",
            "data": {
                "actionConfiguration": { "configuration": {
                    "FunctionName": format!("tagger-{s}"),
                    "UserParameters": user_parameters
                } },
                "inputArtifacts": [],
                "outputArtifacts": [],
                "artifactCredentials": {
                    "accessKeyId": "AKIAEXAMPLEONLY",
                    "secretAccessKey": "example-only",
                    "sessionToken": "example-only"
                }
            }
        }
    });
    let invoked = w
        .lambda
        .invoke()
        .function_name(format!("tagger-{s}"))
        .payload(aws_sdk_lambda::primitives::Blob::new(serde_json::to_vec(
            &event,
        )?))
        .send()
        .await?;
    if let Some(error) = invoked.function_error() {
        let payload = invoked
            .payload()
            .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned());
        bail!("the tagger failed ({error}): {payload:?}");
    }
    Ok(job_id)
}

pub(crate) fn job_result(job_id: &str) -> Result<Value> {
    let path = std::env::var("SANDBOX_JOB_RESULTS").context("SANDBOX_JOB_RESULTS is not set")?;
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    let results: Vec<Value> = recorded
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|r| r["jobId"] == job_id)
        .collect();
    ensure!(
        results.len() == 1,
        "job {job_id}: expected exactly one result, found {results:?}"
    );
    Ok(results.into_iter().next().unwrap_or_default())
}

/// Step 4: the Deploy stage promotes exactly the built image, twice.
pub async fn promotion(w: &World, stack: &Stack) -> Result<()> {
    let s = stack.suffix()?;
    let repository = format!("images-{s}");

    let first = push_image(w, &repository).await?;
    let job = run_deploy_stage(w, s, &repository, &first).await?;
    let result = job_result(&job)?;
    ensure!(
        result["action"] == "PutJobSuccessResult",
        "first promotion: {result}"
    );
    let tags = tags_of(w, &repository, &first).await?;
    ensure!(
        tags.iter().any(|t| t == "production"),
        "first image tags {tags:?}"
    );
    ok("tagger: first image promoted to production, job succeeded");

    let second = push_image(w, &repository).await?;
    let job = run_deploy_stage(w, s, &repository, &second).await?;
    let result = job_result(&job)?;
    ensure!(
        result["action"] == "PutJobSuccessResult",
        "second promotion: {result}"
    );
    let tags_second = tags_of(w, &repository, &second).await?;
    let tags_first = tags_of(w, &repository, &first).await?;
    ensure!(
        tags_second.iter().any(|t| t == "production"),
        "second image tags {tags_second:?}"
    );
    ensure!(
        tags_first.iter().any(|t| t == "production-previous")
            && !tags_first.iter().any(|t| t == "production"),
        "first image tags after the second promotion {tags_first:?}"
    );
    ok("tagger: production moved to the new image, production-previous on the old one");
    Ok(())
}

/// Step 5: after an update of GitHubBranch, the installer reconciled in place.
pub async fn reconciled_branch(w: &World, stack: &Stack, branch: &str) -> Result<()> {
    let s = stack.suffix()?;
    ensure!(
        stack.parameter("GitHubBranch")? == branch,
        "the stack was not updated to {branch}"
    );
    let rule = w
        .events
        .describe_rule()
        .name(format!("github-push-{s}"))
        .event_bus_name(format!("github-events-{s}"))
        .send()
        .await?;
    let pattern = rule.event_pattern().unwrap_or_default();
    ensure!(
        pattern.contains(&format!("refs/heads/{branch}")),
        "rule pattern after update: {pattern}"
    );
    let pipeline = w
        .codepipeline
        .get_pipeline()
        .name(format!("pipeline-{s}"))
        .send()
        .await?;
    let source_branch = pipeline
        .pipeline()
        .and_then(|p| p.stages().first())
        .and_then(|stage| stage.actions().first())
        .and_then(|a| a.configuration())
        .and_then(|c| c.get("BranchName"))
        .cloned();
    ensure!(
        source_branch.as_deref() == Some(branch),
        "pipeline source branch {source_branch:?}"
    );
    ok(&format!(
        "update: rule and pipeline reconciled onto {branch}"
    ));
    Ok(())
}

/// Step 6: after `sam delete`, nothing of the stack is left.
pub async fn nothing_left(w: &World, s: &str) -> Result<()> {
    let mut left = Vec::new();
    let buckets = w.s3.list_buckets().send().await?;
    left.extend(
        buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .filter(|n| n.starts_with(&format!("artifacts-{s}-")))
            .map(|n| format!("bucket {n}")),
    );
    if w.ecr
        .describe_repositories()
        .repository_names(format!("images-{s}"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("repository images-{s}"));
    }
    let projects = w
        .codebuild
        .batch_get_projects()
        .names(format!("build-{s}"))
        .send()
        .await?;
    if !projects.projects().is_empty() {
        left.push(format!("project build-{s}"));
    }
    if w.codepipeline
        .get_pipeline()
        .name(format!("pipeline-{s}"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("pipeline pipeline-{s}"));
    }
    if w.dynamodb
        .describe_table()
        .table_name(format!("deliveries-{s}"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("table deliveries-{s}"));
    }
    if w.sqs
        .get_queue_url()
        .queue_name(format!("push-dead-letters-{s}"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("queue push-dead-letters-{s}"));
    }
    if w.events
        .describe_event_bus()
        .name(format!("github-events-{s}"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("bus github-events-{s}"));
    }
    if w.events
        .describe_rule()
        .name(format!("github-push-{s}"))
        .event_bus_name(format!("github-events-{s}"))
        .send()
        .await
        .is_ok()
    {
        left.push(format!("rule github-push-{s}"));
    }
    for prefix in [
        "/aws/codebuild/build-",
        "/aws/lambda/installer-",
        "/aws/lambda/tagger-",
        "/aws/lambda/webhook-",
        "/aws/lambda/starter-",
        "/aws/lambda/notifier-",
    ] {
        let name = format!("{prefix}{s}");
        let groups = w
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await?;
        if groups
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(name.as_str()))
        {
            left.push(format!("log group {name}"));
        }
    }
    for role in [
        "codebuild",
        "codepipeline",
        "starter",
        "installer",
        "tagger",
        "webhook",
        "notifier",
    ] {
        let name = format!("{role}-role-{s}");
        if w.iam.get_role().role_name(&name).send().await.is_ok() {
            left.push(format!("role {name}"));
        }
    }
    for function in ["installer", "tagger", "webhook", "starter", "notifier"] {
        let name = format!("{function}-{s}");
        if w.lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .is_ok()
        {
            left.push(format!("function {name}"));
        }
    }
    if let Ok(secret) = w
        .secrets
        .describe_secret()
        .secret_id(format!("webhook-secret-{s}"))
        .send()
        .await
    {
        if secret.deleted_date().is_none() {
            left.push(format!("secret webhook-secret-{s}"));
        }
    }
    left.extend(crate::notify::nothing_left(w, s).await?);
    ensure!(
        left.is_empty(),
        "left behind after delete: {}",
        left.join(", ")
    );
    ok("delete: no bucket, repository, project, pipeline, rule, bus, log group, role, function, secret, topic or alarm left");
    Ok(())
}

/// Sends the tagger an operator's request; its answer, or its error message.
async fn operator_request(w: &World, s: &str, request: Value) -> Result<Result<Value, String>> {
    let invoked = w
        .lambda
        .invoke()
        .function_name(format!("tagger-{s}"))
        .payload(aws_sdk_lambda::primitives::Blob::new(serde_json::to_vec(
            &request,
        )?))
        .send()
        .await?;
    let payload: Value = invoked
        .payload()
        .map(|p| serde_json::from_slice(p.as_ref()))
        .transpose()?
        .unwrap_or_default();
    Ok(match invoked.function_error() {
        Some(_) => Err(payload["errorMessage"]
            .as_str()
            .map_or_else(|| payload.to_string(), str::to_owned)),
        None => Ok(payload),
    })
}

/// The summary of a job result.
fn summary_of(result: &Value) -> &str {
    result["executionDetails"]["summary"]
        .as_str()
        .unwrap_or_default()
}

/// Step 5: after the two promotions of [`promotion`], the operator's cycle:
/// status, rollback (a compare-and-swap that holds promotion), the same
/// rollback again, a build while held, a stale rollback refused, release,
/// and the next build promoted.
pub async fn rollback_cycle(w: &World, stack: &Stack) -> Result<()> {
    let s = stack.suffix()?;
    let repository = format!("images-{s}");
    // scripts/production.sh finds the tagger through this output.
    ensure!(
        stack.output("TaggerFunctionName")? == format!("tagger-{s}"),
        "the stack output TaggerFunctionName does not name tagger-{s}"
    );
    let production = digest_of_tag(w, &repository, "production").await?;
    let previous = digest_of_tag(w, &repository, "production-previous").await?;
    let (Some(production), Some(previous)) = (production, previous) else {
        bail!("rollback cycle: production and production-previous must both be set first");
    };

    let status = operator_request(w, s, json!({"status": {}}))
        .await?
        .map_err(anyhow::Error::msg)?;
    ensure!(
        status["production"]["digest"] == production.as_str()
            && status["previous"]["digest"] == previous.as_str()
            && status["hold"].is_null()
            && status["production"]["promotion"]["promotedAt"].is_string(),
        "status before the rollback: {status}"
    );
    ok("status: production and production-previous with their promotion records, no hold");

    let rolled = operator_request(w, s, json!({"rollback": {}}))
        .await?
        .map_err(anyhow::Error::msg)?;
    ensure!(
        rolled["promoted"] == previous.as_str()
            && rolled["replaced"] == production.as_str()
            && rolled["unchanged"] == false
            && rolled["hold"]["to"] == previous.as_str(),
        "rollback: {rolled}"
    );
    ensure!(
        digest_of_tag(w, &repository, "production")
            .await?
            .as_deref()
            == Some(previous.as_str()),
        "after the rollback production is not on {previous}"
    );
    let again = operator_request(w, s, json!({"rollback": {}}))
        .await?
        .map_err(anyhow::Error::msg)?;
    ensure!(
        again["promoted"] == previous.as_str() && again["unchanged"] == true,
        "the same rollback again: {again}"
    );
    ok("rollback: production back on the previous image, hold set; the same request again changed nothing");

    let built = push_image(w, &repository).await?;
    let execution = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let params = json!({
        "repository": repository, "digest": built, "tag": "production",
        "execution": execution
    })
    .to_string();
    let job = invoke_tagger(w, s, &params).await?;
    let result = job_result(&job)?;
    ensure!(
        result["action"] == "PutJobSuccessResult"
            && summary_of(&result).contains("built, not promoted")
            && summary_of(&result).contains("held since"),
        "a build under the hold: {result}"
    );
    ensure!(
        digest_of_tag(w, &repository, "production")
            .await?
            .as_deref()
            == Some(previous.as_str()),
        "a build under the hold moved production"
    );
    ok("hold: a passing build succeeded its job, \"built, not promoted\", production unchanged");

    let stale = operator_request(
        w,
        s,
        json!({"rollback": {"to": built, "expect": production}}),
    )
    .await?;
    match stale {
        Err(message) if message.contains("moved under the rollback") => {}
        other => bail!("a rollback expecting a replaced digest was not refused: {other:?}"),
    }
    ensure!(
        digest_of_tag(w, &repository, "production")
            .await?
            .as_deref()
            == Some(previous.as_str()),
        "a refused rollback moved production"
    );
    ok("rollback: a compare-and-swap against a digest production no longer holds is refused, nothing moved");

    let released = operator_request(w, s, json!({"release": {}}))
        .await?
        .map_err(anyhow::Error::msg)?;
    ensure!(released["released"] == true, "release: {released}");
    let job = invoke_tagger(w, s, &params).await?;
    let result = job_result(&job)?;
    ensure!(
        result["action"] == "PutJobSuccessResult" && !summary_of(&result).contains("not promoted"),
        "the build after the release: {result}"
    );
    let status = operator_request(w, s, json!({"status": {}}))
        .await?
        .map_err(anyhow::Error::msg)?;
    ensure!(
        status["production"]["digest"] == built.as_str()
            && status["previous"]["digest"] == previous.as_str()
            && status["production"]["promotion"]["execution"] == execution
            && status["hold"].is_null(),
        "status after the release: {status}"
    );
    ok("release: the hold ended and the next build was promoted; status names its execution");
    Ok(())
}

pub(crate) async fn digest_of_tag(
    w: &World,
    repository: &str,
    tag: &str,
) -> Result<Option<String>> {
    let got = w
        .ecr
        .batch_get_image()
        .repository_name(repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag(tag)
                .build(),
        )
        .send()
        .await?;
    Ok(got
        .images()
        .first()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .map(str::to_owned))
}

/// The documented cycle (docs/rollback.md), after its commands ran: the
/// rollback's report said where production went, production is there, and
/// the hold is released.
pub async fn rolled_back(w: &World, stack: &Stack, report_file: &str) -> Result<()> {
    let s = stack.suffix()?;
    let repository = format!("images-{s}");
    let text = std::fs::read_to_string(report_file)
        .with_context(|| format!("reading the rollback's report {report_file}"))?;
    let line = text
        .lines()
        .find(|l| l.starts_with("production: sha256:"))
        .with_context(|| format!("the rollback's report names no new production image: {text}"))?;
    let digest = line
        .trim_start_matches("production: ")
        .split(' ')
        .next()
        .unwrap_or_default();
    ensure!(
        digest_of_tag(w, &repository, "production")
            .await?
            .as_deref()
            == Some(digest),
        "after the documented rollback production is not on {digest}"
    );
    let status = operator_request(w, s, json!({"status": {}}))
        .await?
        .map_err(anyhow::Error::msg)?;
    ensure!(
        status["hold"].is_null(),
        "after the documented release a hold is still set: {status}"
    );
    ok("rollback (docs): production on the image the report named, the hold released");
    Ok(())
}

/// The StartPipelineExecution requests moto recorded (the sandbox's recorder).
pub(crate) fn start_requests() -> Result<Vec<Value>> {
    let path =
        std::env::var("SANDBOX_START_REQUESTS").context("SANDBOX_START_REQUESTS is not set")?;
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    Ok(recorded
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect())
}

pub(crate) fn variable<'a>(request: &'a Value, name: &str) -> Option<&'a str> {
    request["variables"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
        .and_then(|v| v["value"].as_str())
}

fn starts_of(delivery: &str) -> Result<Vec<Value>> {
    Ok(start_requests()?
        .into_iter()
        .filter(|r| variable(r, "DELIVERY_ID") == Some(delivery))
        .collect())
}

/// The name as GitHub may spell it, in another case than the stack's parameter.
fn other_case(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Step 3b: a signed push through the function URL becomes exactly one
/// StartPipelineExecution of exactly its commit (webhook → bus → rule →
/// starter → CodePipeline), however often it is delivered; deletions start
/// nothing; and the Deploy stage promotes that commit's image.
pub async fn exact_commit_start(w: &World, stack: &Stack) -> Result<()> {
    let s = stack.suffix()?;
    let owner = stack.parameter("GitHubOwner")?;
    let repo = stack.parameter("GitHubRepo")?;
    let branch = stack.parameter("GitHubBranch")?;
    let secret = w.webhook_secret(stack).await?;
    let url = function_url(w, stack.output("WebhookUrl")?)?;
    let pushed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let send = |payload: Value, delivery: String| {
        let (url, secret) = (url.clone(), secret.clone());
        async move {
            let body = serde_json::to_vec(&payload)?;
            let status = deliver(w, &url, &body, &delivery, &sign(&secret, &body)?).await?;
            ensure!(
                status == 200,
                "delivery {delivery}: HTTP {status}, expected 200"
            );
            anyhow::Ok(())
        }
    };

    // GitHub spells the repository as it was created; the stack's parameters
    // may differ in case.
    let mut payload = push_payload(owner, repo, branch);
    payload["repository"]["full_name"] =
        json!(format!("{}/{}", other_case(owner), other_case(repo)));
    payload["repository"]["pushed_at"] = json!(pushed_at);
    payload["before"] = json!(hex::encode(Sha256::digest(unique("before").as_bytes()))[..40]);
    let commit = payload["after"].as_str().unwrap_or_default().to_owned();
    let delivery = unique("e2e-push-");
    send(payload.clone(), delivery.clone()).await?;
    let started = Instant::now();
    let first = loop {
        if let Some(request) = starts_of(&delivery)?.into_iter().next() {
            break request;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(45),
            "push {commit} (delivery {delivery}) started no pipeline execution within 45 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    ensure!(
        first["name"] == format!("pipeline-{s}"),
        "started {} instead of pipeline-{s}",
        first["name"]
    );
    let revision = &first["sourceRevisions"][0];
    ensure!(
        revision["actionName"] == "GitHub"
            && revision["revisionType"] == "COMMIT_ID"
            && revision["revisionValue"] == commit.as_str(),
        "the start did not pin the pushed commit {commit}: {first}"
    );
    ensure!(
        variable(&first, "COMMIT_ID") == Some(commit.as_str()),
        "COMMIT_ID variable: {first}"
    );
    let sequence = variable(&first, "PUSH_SEQUENCE")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .with_context(|| format!("no PUSH_SEQUENCE in {first}"))?;
    ok(&format!(
        "push → start: the signed push (repository spelled {}) started pipeline-{s} on exactly {commit}",
        payload["repository"]["full_name"]
    ));

    // The same delivery twice more (a replay, GitHub's redelivery): no new start.
    send(payload.clone(), delivery.clone()).await?;
    send(payload.clone(), delivery.clone()).await?;
    // A branch deletion and a tag deletion: nothing starts.
    let zero = "0".repeat(40);
    let mut branch_deleted = payload.clone();
    branch_deleted["deleted"] = json!(true);
    branch_deleted["before"] = json!(commit);
    branch_deleted["after"] = json!(zero);
    branch_deleted["head_commit"] = Value::Null;
    let branch_delivery = unique("e2e-delete-branch-");
    send(branch_deleted, branch_delivery.clone()).await?;
    let mut tag_deleted = payload.clone();
    tag_deleted["ref"] = json!("refs/tags/v1.0.0");
    tag_deleted["deleted"] = json!(true);
    tag_deleted["after"] = json!(zero);
    tag_deleted["head_commit"] = Value::Null;
    let tag_delivery = unique("e2e-delete-tag-");
    send(tag_deleted, tag_delivery.clone()).await?;
    // The starter answers within a second here; wait well past that.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let starts = starts_of(&delivery)?;
    ensure!(
        starts.len() == 1,
        "delivery {delivery} sent three times started {} executions",
        starts.len()
    );
    ensure!(
        starts_of(&branch_delivery)?.is_empty() && starts_of(&tag_delivery)?.is_empty(),
        "a deletion started an execution"
    );
    ok("push → start: the same delivery three times started once; a branch and a tag deletion started nothing");

    // The Deploy stage of that execution, as CodePipeline resolves its
    // UserParameters: the image built from the commit becomes production.
    let repository = format!("images-{s}");
    let digest = push_image(w, &repository).await?;
    let user_parameters = json!({
        "repository": repository, "digest": digest, "tag": "production",
        "commit": commit, "sequence": sequence.to_string()
    })
    .to_string();
    let job = invoke_tagger(w, s, &user_parameters).await?;
    let result = job_result(&job)?;
    let summary = result["executionDetails"]["summary"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        result["action"] == "PutJobSuccessResult" && summary.contains(&format!("commit {commit}")),
        "promotion of {commit}: {result}"
    );
    let tags = tags_of(w, &repository, &digest).await?;
    ensure!(
        tags.iter().any(|t| t == "production"),
        "image tags {tags:?}"
    );
    ok(&format!(
        "push → start → promotion: production is the image of {commit} (push {sequence})"
    ));
    Ok(())
}

/// Puts a push into the stack's dead-letter queue, as Lambda leaves an event
/// it could not start after its retries (the local cloud runs no retries);
/// writes its delivery id to `out`.
pub async fn seed_dead_letter(w: &World, stack: &Stack, out: &str) -> Result<()> {
    let owner = stack.parameter("GitHubOwner")?;
    let repo = stack.parameter("GitHubRepo")?;
    let branch = stack.parameter("GitHubBranch")?;
    let delivery = unique("e2e-dead-letter-");
    let mut detail = push_payload(owner, repo, branch);
    detail["before"] = json!(hex::encode(Sha256::digest(unique("before").as_bytes()))[..40]);
    detail["repository"]["pushed_at"] = json!(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs());
    detail["delivery_id"] = json!(delivery);
    let event = json!({
        "version": "0", "id": unique("event-"), "detail-type": "push", "source": "github.com",
        "account": "000000000000", "time": "2026-12-01T10:00:00Z", "region": "ap-southeast-1",
        "resources": [], "detail": detail
    });
    w.sqs
        .send_message()
        .queue_url(stack.output("DeadLetterQueueUrl")?)
        .message_body(event.to_string())
        .send()
        .await?;
    std::fs::write(out, &delivery)?;
    ok(&format!("dead-letter queue: holds push {delivery}"));
    Ok(())
}

/// After the replay: the queue is empty and the push was started once.
pub async fn replayed(w: &World, stack: &Stack, delivery_file: &str) -> Result<()> {
    let delivery = std::fs::read_to_string(delivery_file)?;
    let attributes = w
        .sqs
        .get_queue_attributes()
        .queue_url(stack.output("DeadLetterQueueUrl")?)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .send()
        .await?;
    let count = |name| {
        attributes
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    };
    let left = count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
    ensure!(
        left == 0,
        "the dead-letter queue still holds {left} messages"
    );
    let starts = starts_of(delivery.trim())?;
    ensure!(
        starts.len() == 1,
        "the replayed push {delivery} started {} executions",
        starts.len()
    );
    ok("dead-letter queue: replayed, empty, the push started once");
    Ok(())
}
