//! The steps of the acceptance run (`scripts/aws-acceptance.sh`): one push to the
//! test repository must become exactly one pipeline execution of exactly that
//! commit, whose Build stage's image is then what `production` names.
//!
//! The same steps run on a real account (`make aws-acceptance`) and, in `make test`,
//! against the local cloud with a stand-in for GitHub. What differs is only what
//! the local cloud cannot do: it runs no stage, so there `play-stages` plays the
//! three actions as CodePipeline would (the image put in ECR as the build would push
//! it, the deployed pipeline's Deploy action invoking the real tagger) and writes
//! their history in the shape of `ListActionExecutions`, which moto lacks. The
//! checks read that history either way.
//!
//! Every step keeps what the next needs in the run's state directory: `hook.json`,
//! `push.json`, `execution.json`, `actions.json` (local cloud), `report.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::checks::{ok, tags_of};
use crate::github::GitHub;
use crate::world::{Stack, World};

/// The output variable the buildspec exports with the pushed image's digest.
const IMAGE_DIGEST: &str = "IMAGE_DIGEST";
/// The output variable the GitHub (CodeConnections) source action exports with the
/// commit it fetched
/// (<https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html>).
const SOURCE_COMMIT: &str = "CommitId";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn read_state(dir: &Path, name: &str) -> Result<Value> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (written by an earlier step)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn write_state(dir: &Path, name: &str, value: &Value) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn field<'a>(value: &'a Value, name: &str, file: &str) -> Result<&'a str> {
    value[name]
        .as_str()
        .with_context(|| format!("{file} has no {name}"))
}

/// The address GitHub delivers to: the stack's function URL, or in the local cloud
/// the address MiniStack serves it at.
fn hook_url(w: &World, stack: &Stack) -> Result<String> {
    let url = stack.output("WebhookUrl")?;
    if w.endpoint.is_empty() {
        Ok(url.to_owned())
    } else {
        crate::checks::function_url(w, url)
    }
}

/// `hook`: adds the stack's webhook to the test repository.
pub async fn hook(w: &World, stack: &Stack, repo: &str, state: &Path) -> Result<()> {
    let github = GitHub::from_env(w.http.clone(), repo)?;
    let secret = w.webhook_secret(stack).await?;
    let url = hook_url(w, stack)?;
    // Written first: a run stopped during the call still removes what it made.
    write_state(state, "hook.json", &json!({ "id": null, "url": url }))?;
    let id = github.create_hook(&url, &secret).await?;
    write_state(state, "hook.json", &json!({ "id": id, "url": url }))?;
    ok(&format!(
        "github: webhook {id} on {repo} delivers pushes to {url}"
    ));
    Ok(())
}

/// `unhook`: removes the webhook `hook` added, and any other delivering to the
/// stack's address (a run stopped before it learnt the id), and checks they are gone.
pub async fn unhook(w: &World, repo: &str, state: &Path) -> Result<()> {
    if !state.join("hook.json").exists() {
        ok("github: no webhook was added");
        return Ok(());
    }
    let added = read_state(state, "hook.json")?;
    let url = field(&added, "url", "hook.json")?;
    let github = GitHub::from_env(w.http.clone(), repo)?;
    let mut ids = github.hooks_to(url).await?;
    ids.extend(added["id"].as_u64().filter(|id| !ids.contains(id)));
    for id in &ids {
        github.delete_hook(*id).await?;
        ensure!(
            !github.hook_exists(*id).await?,
            "github: webhook {id} is still on {repo} after its deletion"
        );
    }
    let left = github.hooks_to(url).await?;
    ensure!(
        left.is_empty(),
        "github: webhooks {left:?} on {repo} still deliver to {url}"
    );
    std::fs::remove_file(state.join("hook.json"))?;
    ok(&format!(
        "github: webhooks {ids:?} to {url} removed from {repo}"
    ));
    Ok(())
}

/// `push`: an empty commit on the branch; GitHub delivers it to the webhook.
pub async fn push(w: &World, repo: &str, branch: &str, state: &Path) -> Result<()> {
    let github = GitHub::from_env(w.http.clone(), repo)?;
    let pushed_at = now();
    let message = format!("acceptance run at {pushed_at:.0} (empty commit)");
    let commit = github.push_empty_commit(branch, &message).await?;
    write_state(
        state,
        "push.json",
        &json!({ "commit": commit, "pushedAt": pushed_at, "branch": branch }),
    )?;
    ok(&format!(
        "github: pushed empty commit {commit} to {repo}@{branch}"
    ));
    Ok(())
}

/// A pipeline execution's status, as the run reads it.
#[derive(Debug, PartialEq)]
pub enum Progress {
    /// Not started yet, or still running: look again.
    Waiting(String),
    Succeeded(String),
    /// The execution ended otherwise; the reason names it.
    Ended(String),
}

/// What the executions of the pipeline say about the pushed commit: `found` are
/// (execution id, status, status summary) of the executions whose COMMIT_ID is
/// the commit. More than one is a failure: each push starts one execution.
pub fn progress(commit: &str, found: &[(String, String, String)]) -> Result<Progress> {
    match found {
        [] => Ok(Progress::Waiting(format!(
            "no execution of commit {commit} yet"
        ))),
        [(id, status, summary)] => Ok(match status.as_str() {
            "Succeeded" => Progress::Succeeded(id.clone()),
            "InProgress" | "Stopping" => {
                Progress::Waiting(format!("execution {id} of commit {commit} is {status}"))
            }
            _ => Progress::Ended(format!(
                "execution {id} of commit {commit} ended {status}{}",
                if summary.is_empty() {
                    String::new()
                } else {
                    format!(": {summary}")
                }
            )),
        }),
        many => bail!(
            "commit {commit} started {} executions ({}); one push must start one",
            many.len(),
            many.iter()
                .map(|(id, ..)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The executions of `pipeline` whose COMMIT_ID variable is `commit`.
async fn executions_of(
    w: &World,
    pipeline: &str,
    commit: &str,
) -> Result<Vec<(String, String, String)>> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = w
            .codepipeline
            .list_pipeline_executions()
            .pipeline_name(pipeline)
            .set_next_token(token)
            .send()
            .await
            .with_context(|| format!("listing the executions of {pipeline}"))?;
        for summary in page.pipeline_execution_summaries() {
            let Some(id) = summary.pipeline_execution_id() else {
                continue;
            };
            let execution = w
                .codepipeline
                .get_pipeline_execution()
                .pipeline_name(pipeline)
                .pipeline_execution_id(id)
                .send()
                .await
                .with_context(|| format!("reading execution {id}"))?;
            let Some(execution) = execution.pipeline_execution() else {
                continue;
            };
            let of_commit = execution
                .variables()
                .iter()
                .any(|v| v.name() == Some("COMMIT_ID") && v.resolved_value() == Some(commit));
            if of_commit {
                found.push((
                    id.to_owned(),
                    execution
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    execution.status_summary().unwrap_or_default().to_owned(),
                ));
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// `wait`: until the commit's one execution has succeeded, or `timeout` passed.
pub async fn wait(
    w: &World,
    stack: &Stack,
    state: &Path,
    timeout: Duration,
    every: Duration,
) -> Result<()> {
    let pushed = read_state(state, "push.json")?;
    let commit = field(&pushed, "commit", "push.json")?;
    let pipeline = stack.output("PipelineName")?;
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let found = executions_of(w, pipeline, commit).await?;
        match progress(commit, &found)? {
            Progress::Succeeded(id) => {
                write_state(
                    state,
                    "execution.json",
                    &json!({ "id": id, "pipeline": pipeline }),
                )?;
                ok(&format!(
                    "pipeline: commit {commit} started execution {id} once, and it succeeded"
                ));
                return Ok(());
            }
            Progress::Ended(reason) => bail!("{reason}"),
            Progress::Waiting(what) => {
                if what != last {
                    println!("..   {what} ({} s)", started.elapsed().as_secs());
                    last = what;
                }
            }
        }
        if started.elapsed() >= timeout {
            bail!(
                "after {} s: {last}; the timeout is ACCEPTANCE_TIMEOUT_MINUTES",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(every).await;
    }
}

/// One action's execution, from `ListActionExecutions` or the local cloud's play.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub stage: String,
    pub action: String,
    pub status: String,
    /// Seconds since the epoch.
    pub started: f64,
    pub ended: f64,
    pub output_variables: BTreeMap<String, String>,
    pub summary: String,
}

/// The records of a `ListActionExecutions` answer in its JSON shape (`actionExecutionDetails`).
pub fn records_from_json(history: &Value) -> Result<Vec<ActionRecord>> {
    let details = history["actionExecutionDetails"]
        .as_array()
        .context("the history has no actionExecutionDetails")?;
    details
        .iter()
        .map(|d| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            Ok(ActionRecord {
                stage: text(&d["stageName"]),
                action: text(&d["actionName"]),
                status: text(&d["status"]),
                started: d["startTime"]
                    .as_f64()
                    .with_context(|| format!("an action without startTime: {d}"))?,
                ended: d["lastUpdateTime"]
                    .as_f64()
                    .with_context(|| format!("an action without lastUpdateTime: {d}"))?,
                output_variables: d["output"]["outputVariables"]
                    .as_object()
                    .map(|vars| vars.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                    .unwrap_or_default(),
                summary: text(&d["output"]["executionResult"]["externalExecutionSummary"]),
            })
        })
        .collect()
}

fn epoch(time: Option<&aws_sdk_codepipeline::primitives::DateTime>) -> f64 {
    time.map_or(0.0, |t| t.as_secs_f64())
}

/// The records of one execution from `ListActionExecutions`, every page
/// (<https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ListActionExecutions.html>).
pub async fn records_from_aws(
    client: &aws_sdk_codepipeline::Client,
    pipeline: &str,
    execution: &str,
) -> Result<Vec<ActionRecord>> {
    let mut records = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_action_executions()
            .pipeline_name(pipeline)
            .filter(
                aws_sdk_codepipeline::types::ActionExecutionFilter::builder()
                    .pipeline_execution_id(execution)
                    .build(),
            )
            .set_next_token(token)
            .send()
            .await
            .with_context(|| format!("listing the action executions of {execution}"))?;
        for d in page.action_execution_details() {
            let output = d.output();
            records.push(ActionRecord {
                stage: d.stage_name().unwrap_or_default().to_owned(),
                action: d.action_name().unwrap_or_default().to_owned(),
                status: d
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                started: epoch(d.start_time()),
                ended: epoch(d.last_update_time()),
                output_variables: output
                    .and_then(|o| o.output_variables())
                    .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                summary: output
                    .and_then(|o| o.execution_result())
                    .and_then(|r| r.external_execution_summary())
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(records);
        }
    }
}

/// What the run measured, once every check has passed.
#[derive(Debug, PartialEq)]
pub struct Report {
    pub digest: String,
    /// From the push to the end of the Deploy stage, in seconds.
    pub push_to_production: f64,
    /// Each stage in the order it ran: name, seconds from its first action's start
    /// to its last action's end.
    pub stages: Vec<(String, f64)>,
}

fn is_digest(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The checks of one execution's history: every action succeeded; the Source
/// fetched the pushed commit; the Build exported a digest and `production` is that
/// digest; the Deploy's job result names the commit. `production` is the digest the
/// tag names now, if any.
pub fn verdict(
    records: &[ActionRecord],
    commit: &str,
    production: Option<&str>,
    pushed_at: f64,
) -> Result<Report> {
    ensure!(
        !records.is_empty(),
        "the execution has no action executions"
    );
    let failed: Vec<String> = records
        .iter()
        .filter(|r| r.status != "Succeeded")
        .map(|r| format!("{}/{} {}", r.stage, r.action, r.status))
        .collect();
    ensure!(
        failed.is_empty(),
        "actions that did not succeed: {}",
        failed.join(", ")
    );
    let in_stage = |stage: &str| -> Result<&ActionRecord> {
        let mut of_stage = records.iter().filter(|r| r.stage == stage);
        let first = of_stage
            .next()
            .with_context(|| format!("the execution ran no {stage} action"))?;
        ensure!(
            of_stage.next().is_none(),
            "the execution ran more than one {stage} action"
        );
        Ok(first)
    };
    let source = in_stage(installer::domain::pipeline::SOURCE_STAGE)?;
    let fetched = source.output_variables.get(SOURCE_COMMIT);
    ensure!(
        fetched.map(String::as_str) == Some(commit),
        "the Source action fetched {fetched:?}, not the pushed commit {commit}"
    );
    let build = in_stage(installer::domain::pipeline::BUILD_STAGE)?;
    let digest = build.output_variables.get(IMAGE_DIGEST).with_context(|| {
        format!(
            "the Build action exported no {IMAGE_DIGEST} (it exported {:?})",
            build.output_variables
        )
    })?;
    ensure!(
        is_digest(digest),
        "the Build action exported {IMAGE_DIGEST}={digest:?}, not an image digest"
    );
    ensure!(
        production == Some(digest.as_str()),
        "production is {}, not {digest} that the Build stage exported",
        production.unwrap_or("on no image")
    );
    let deploy = in_stage(installer::domain::pipeline::DEPLOY_STAGE)?;
    ensure!(
        deploy.summary.contains(commit),
        "the Deploy job's result does not name commit {commit}: {:?}",
        deploy.summary
    );

    let mut stages: Vec<(String, f64, f64)> = Vec::new();
    for r in records {
        match stages.iter_mut().find(|(name, ..)| *name == r.stage) {
            Some((_, start, end)) => {
                *start = start.min(r.started);
                *end = end.max(r.ended);
            }
            None => stages.push((r.stage.clone(), r.started, r.ended)),
        }
    }
    stages.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(Report {
        digest: digest.clone(),
        push_to_production: deploy.ended - pushed_at,
        stages: stages
            .into_iter()
            .map(|(name, start, end)| (name, (end - start).max(0.0)))
            .collect(),
    })
}

fn minutes(seconds: f64) -> String {
    let whole = seconds.max(0.0).round() as u64;
    format!("{} min {:02} s", whole / 60, whole % 60)
}

/// The report as Markdown.
pub fn render(report: &Report, commit: &str, repository: &str) -> String {
    let mut out = format!(
        "# Acceptance run\n\nCommit `{commit}` became `{repository}@{}`, tagged `production`, \
         {} after the push.\n\n| stage | duration |\n|---|---|\n",
        report.digest,
        minutes(report.push_to_production)
    );
    for (stage, seconds) in &report.stages {
        out.push_str(&format!("| {stage} | {} |\n", minutes(*seconds)));
    }
    out
}

/// `check`: reads the execution's history (`history`, or `ListActionExecutions`),
/// judges it and writes `report.md`.
pub async fn check(w: &World, stack: &Stack, state: &Path, history: Option<PathBuf>) -> Result<()> {
    let pushed = read_state(state, "push.json")?;
    let commit = field(&pushed, "commit", "push.json")?;
    let pushed_at = pushed["pushedAt"]
        .as_f64()
        .context("push.json has no pushedAt")?;
    let execution = read_state(state, "execution.json")?;
    let id = field(&execution, "id", "execution.json")?;
    let pipeline = stack.output("PipelineName")?;
    let records = match history {
        Some(file) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            records_from_json(&serde_json::from_str(&text)?)?
        }
        None => records_from_aws(&w.codepipeline, pipeline, id).await?,
    };
    let repository = format!("images-{}", stack.suffix()?);
    let production = crate::checks::digest_of_tag(w, &repository, "production").await?;
    let report = verdict(&records, commit, production.as_deref(), pushed_at)?;
    let tags = tags_of(w, &repository, &report.digest).await?;
    ensure!(
        tags.iter().any(|t| t == commit),
        "the production image is not tagged with its commit {commit}: {tags:?}"
    );
    let text = render(&report, commit, &repository);
    std::fs::write(state.join("report.md"), &text)?;
    ok(&format!(
        "production is {} that the Build stage of commit {commit} exported; its job result names the commit",
        report.digest
    ));
    println!("{text}");
    Ok(())
}

/// The value of `#{namespace.NAME}` placeholders in the Deploy action's
/// configuration, as CodePipeline resolves them.
fn resolve(template: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("#{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .with_context(|| format!("an unclosed variable in {template}"))?;
        let name = &rest[start + 2..start + end];
        out.push_str(
            values
                .get(name)
                .with_context(|| format!("the variable #{{{name}}} has no value here"))?,
        );
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `play-stages` (local cloud only): plays the three actions of the commit's
/// execution as CodePipeline runs them, and writes their history to `actions.json`.
pub async fn play_stages(w: &World, stack: &Stack, state: &Path) -> Result<()> {
    ensure!(
        !w.endpoint.is_empty(),
        "play-stages is for the local cloud only: on AWS the pipeline runs its stages"
    );
    let pushed = read_state(state, "push.json")?;
    let commit = field(&pushed, "commit", "push.json")?.to_owned();
    let execution = read_state(state, "execution.json")?;
    let id = field(&execution, "id", "execution.json")?.to_owned();
    let pipeline = stack.output("PipelineName")?;
    let s = stack.suffix()?;

    // Source: the revision the starter asked this execution for.
    let source_started = now();
    let asked = crate::checks::start_requests()?
        .into_iter()
        .filter(|r| crate::checks::variable(r, "COMMIT_ID") == Some(commit.as_str()))
        .filter_map(|r| {
            r["sourceRevisions"][0]["revisionValue"]
                .as_str()
                .map(str::to_owned)
        })
        .next()
        .with_context(|| format!("no StartPipelineExecution asked for commit {commit}"))?;
    let source = json!({ SOURCE_COMMIT: asked });

    // Build: the image pushed with its commit tag, as the buildspec pushes it.
    let build_started = now();
    let repository = format!("images-{s}");
    let digest = crate::checks::push_image_tagged(w, &repository, &commit).await?;
    let build = json!({ IMAGE_DIGEST: digest, "IMAGE_TAG": commit });

    // Deploy: the deployed pipeline's Deploy action, its variables resolved.
    let deploy_started = now();
    let definition = w
        .codepipeline
        .get_pipeline()
        .name(pipeline)
        .send()
        .await
        .context("reading the deployed pipeline")?;
    let parameters = definition
        .pipeline()
        .map(|p| p.stages())
        .unwrap_or_default()
        .iter()
        .find(|st| st.name() == installer::domain::pipeline::DEPLOY_STAGE)
        .and_then(|st| st.actions().first())
        .and_then(|a| a.configuration())
        .and_then(|c| c.get("UserParameters"))
        .context("the deployed pipeline has no Deploy action with UserParameters")?
        .clone();
    let variables = w
        .codepipeline
        .get_pipeline_execution()
        .pipeline_name(pipeline)
        .pipeline_execution_id(&id)
        .send()
        .await?;
    let mut values: BTreeMap<String, String> = variables
        .pipeline_execution()
        .map(|e| e.variables())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            Some((
                format!("variables.{}", v.name()?),
                v.resolved_value()?.to_owned(),
            ))
        })
        .collect();
    values.insert(
        format!(
            "{}.{IMAGE_DIGEST}",
            installer::domain::pipeline::BUILD_NAMESPACE
        ),
        digest.clone(),
    );
    values.insert("codepipeline.PipelineExecutionId".into(), id.clone());
    let job = crate::checks::invoke_tagger(w, s, &resolve(&parameters, &values)?).await?;
    let result = crate::checks::job_result(&job)?;
    let deploy_status = if result["action"] == "PutJobSuccessResult" {
        "Succeeded"
    } else {
        "Failed"
    };
    let summary = result["executionDetails"]["summary"]
        .as_str()
        .or_else(|| result["failureDetails"]["message"].as_str())
        .unwrap_or_default();
    let ended = now();

    let action = |stage: &str, name: &str, status: &str, start: f64, end: f64, output: Value| {
        json!({
            "pipelineExecutionId": id, "stageName": stage, "actionName": name,
            "status": status, "startTime": start, "lastUpdateTime": end, "output": output
        })
    };
    let history = json!({ "actionExecutionDetails": [
        action("Deploy", "PromoteImage", deploy_status, deploy_started, ended,
            json!({ "outputVariables": {}, "executionResult": { "externalExecutionSummary": summary } })),
        action("Build", "Image", "Succeeded", build_started, deploy_started,
            json!({ "outputVariables": build })),
        action("Source", "GitHub", "Succeeded", source_started, build_started,
            json!({ "outputVariables": source })),
    ]});
    write_state(state, "actions.json", &history)?;
    ok(&format!(
        "local cloud: played Source ({asked}), Build ({repository}@{digest}) and Deploy (the tagger: {deploy_status})"
    ));
    Ok(())
}

/// `bucket create|delete`: the bucket `sam deploy` uploads the code to, for this
/// run only. Delete removes every object version first; a missing bucket is done.
pub async fn bucket(w: &World, verb: &str, name: &str) -> Result<()> {
    match verb {
        "create" => w.ensure_bucket(name).await,
        "delete" => {
            match w.s3.head_bucket().bucket(name).send().await {
                Ok(_) => {}
                Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {
                    ok(&format!("deployment bucket {name} is gone"));
                    return Ok(());
                }
                Err(error) => {
                    return Err(anyhow::Error::new(error)
                        .context(format!("looking for the deployment bucket {name}")))
                }
            }
            loop {
                let listed =
                    w.s3.list_object_versions()
                        .bucket(name)
                        .send()
                        .await
                        .with_context(|| format!("listing {name}"))?;
                let keys: Vec<(String, Option<String>)> = listed
                    .versions()
                    .iter()
                    .filter_map(|v| Some((v.key()?.to_owned(), v.version_id().map(str::to_owned))))
                    .chain(listed.delete_markers().iter().filter_map(|m| {
                        Some((m.key()?.to_owned(), m.version_id().map(str::to_owned)))
                    }))
                    .collect();
                if keys.is_empty() {
                    break;
                }
                for (key, version) in keys {
                    w.s3.delete_object()
                        .bucket(name)
                        .key(&key)
                        .set_version_id(version)
                        .send()
                        .await
                        .with_context(|| format!("deleting {name}/{key}"))?;
                }
            }
            w.s3.delete_bucket()
                .bucket(name)
                .send()
                .await
                .with_context(|| format!("deleting the bucket {name}"))?;
            ok(&format!("deployment bucket {name} deleted"));
            Ok(())
        }
        other => bail!("bucket: {other:?} is not create or delete"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const COMMIT: &str = "9fceb02d0ae598e95dc970b74767f19372d61af8";
    const DIGEST: &str = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";

    fn record(
        stage: &str,
        started: f64,
        ended: f64,
        vars: &[(&str, &str)],
        summary: &str,
    ) -> ActionRecord {
        ActionRecord {
            stage: stage.into(),
            action: format!("{stage}Action"),
            status: "Succeeded".into(),
            started,
            ended,
            output_variables: vars
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            summary: summary.into(),
        }
    }

    fn history() -> Vec<ActionRecord> {
        vec![
            record(
                "Deploy",
                400.0,
                430.0,
                &[],
                &format!("images-acc:production -> {DIGEST}; commit {COMMIT} (push 1)"),
            ),
            record("Source", 100.0, 130.0, &[("CommitId", COMMIT)], ""),
            record("Build", 130.0, 400.0, &[("IMAGE_DIGEST", DIGEST)], ""),
        ]
    }

    #[test]
    fn a_passing_execution_reports_each_stage_in_order_and_the_time_from_the_push() {
        let report = verdict(&history(), COMMIT, Some(DIGEST), 90.0).expect("passes");
        assert_eq!(report.digest, DIGEST);
        assert!((report.push_to_production - 340.0).abs() < 1e-9);
        assert_eq!(
            report.stages,
            vec![
                ("Source".into(), 30.0),
                ("Build".into(), 270.0),
                ("Deploy".into(), 30.0)
            ]
        );
        let text = render(&report, COMMIT, "images-acc");
        assert!(text.contains("5 min 40 s after the push"), "{text}");
        assert!(text.contains("| Build | 4 min 30 s |"), "{text}");
    }

    #[test]
    fn production_on_another_digest_fails_naming_both() {
        let other = format!("sha256:{}", "a".repeat(64));
        let error = verdict(&history(), COMMIT, Some(&other), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains(&other) && error.contains(DIGEST), "{error}");
        let error = verdict(&history(), COMMIT, None, 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("production is on no image"), "{error}");
    }

    #[test]
    fn a_job_result_without_the_commit_fails() {
        let mut records = history();
        records[0].summary = format!("images-acc:production -> {DIGEST}; started by hand");
        let error = verdict(&records, COMMIT, Some(DIGEST), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not name commit"), "{error}");
    }

    #[test]
    fn a_source_of_another_commit_fails() {
        let mut records = history();
        records[1]
            .output_variables
            .insert("CommitId".into(), "0".repeat(40));
        let error = verdict(&records, COMMIT, Some(DIGEST), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not the pushed commit"), "{error}");
    }

    #[test]
    fn a_failed_action_or_a_missing_digest_fails() {
        let mut records = history();
        records[2].status = "Failed".into();
        let error = verdict(&records, COMMIT, Some(DIGEST), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("Build/BuildAction Failed"), "{error}");
        let mut records = history();
        records[2].output_variables.clear();
        let error = verdict(&records, COMMIT, Some(DIGEST), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("exported no IMAGE_DIGEST"), "{error}");
        let mut records = history();
        records[2]
            .output_variables
            .insert("IMAGE_DIGEST".into(), "latest".into());
        let error = verdict(&records, COMMIT, Some("latest"), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not an image digest"), "{error}");
        let error = verdict(&[], COMMIT, Some(DIGEST), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no action executions"), "{error}");
    }

    #[test]
    fn a_stage_run_twice_fails() {
        let mut records = history();
        records.push(record(
            "Build",
            131.0,
            132.0,
            &[("IMAGE_DIGEST", DIGEST)],
            "",
        ));
        let error = verdict(&records, COMMIT, Some(DIGEST), 90.0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("more than one Build action"), "{error}");
    }

    #[test]
    fn progress_waits_succeeds_ends_and_refuses_a_second_start() {
        let one = |status: &str| vec![("e-1".to_owned(), status.to_owned(), "why".to_owned())];
        assert!(matches!(progress(COMMIT, &[]), Ok(Progress::Waiting(_))));
        assert!(matches!(
            progress(COMMIT, &one("InProgress")),
            Ok(Progress::Waiting(_))
        ));
        assert_eq!(
            progress(COMMIT, &one("Succeeded")).ok(),
            Some(Progress::Succeeded("e-1".into()))
        );
        assert_eq!(
            progress(COMMIT, &one("Failed")).ok(),
            Some(Progress::Ended(format!(
                "execution e-1 of commit {COMMIT} ended Failed: why"
            )))
        );
        assert!(matches!(
            progress(COMMIT, &one("Superseded")),
            Ok(Progress::Ended(_))
        ));
        let mut two = one("Succeeded");
        two.push(("e-2".into(), "InProgress".into(), String::new()));
        let error = progress(COMMIT, &two).unwrap_err().to_string();
        assert!(error.contains("started 2 executions (e-1, e-2)"), "{error}");
    }

    #[test]
    fn placeholders_resolve_and_an_unknown_one_is_named() {
        let values: BTreeMap<String, String> =
            [("variables.COMMIT_ID".to_owned(), COMMIT.to_owned())].into();
        assert_eq!(
            resolve(r##"{"commit":"#{variables.COMMIT_ID}"}"##, &values)
                .ok()
                .as_deref(),
            Some(format!(r#"{{"commit":"{COMMIT}"}}"#).as_str())
        );
        let error = resolve("#{BuildVariables.IMAGE_DIGEST}", &values)
            .unwrap_err()
            .to_string();
        assert!(error.contains("#{BuildVariables.IMAGE_DIGEST}"), "{error}");
    }

    #[test]
    fn the_json_history_reads_as_the_api_writes_it() {
        let history = json!({ "actionExecutionDetails": [{
            "stageName": "Build", "actionName": "Image", "status": "Succeeded",
            "startTime": 1.5, "lastUpdateTime": 9.0,
            "output": { "outputVariables": { "IMAGE_DIGEST": DIGEST },
                        "executionResult": { "externalExecutionSummary": "built" } }
        }]});
        let records = records_from_json(&history).expect("reads");
        assert_eq!(
            records[0]
                .output_variables
                .get("IMAGE_DIGEST")
                .map(String::as_str),
            Some(DIGEST)
        );
        assert_eq!(records[0].summary, "built");
        assert!(records_from_json(&json!({})).is_err());
    }

    /// ListActionExecutions read across its pages, only for the one execution,
    /// every field the checks use mapped (aws-smithy-mocks: moto lacks the call).
    #[tokio::test]
    async fn action_executions_are_read_page_by_page_for_the_execution() {
        use aws_sdk_codepipeline::operation::list_action_executions::ListActionExecutionsOutput;
        use aws_sdk_codepipeline::primitives::DateTime;
        use aws_sdk_codepipeline::types::{
            ActionExecutionDetail, ActionExecutionOutput, ActionExecutionResult,
            ActionExecutionStatus,
        };
        use aws_smithy_mocks::{mock, mock_client, RuleMode};

        let detail = |stage: &str, start: i64| {
            ActionExecutionDetail::builder()
                .stage_name(stage)
                .action_name("A")
                .status(ActionExecutionStatus::Succeeded)
                .start_time(DateTime::from_secs(start))
                .last_update_time(DateTime::from_secs(start + 5))
                .output(
                    ActionExecutionOutput::builder()
                        .output_variables("IMAGE_DIGEST", DIGEST)
                        .execution_result(
                            ActionExecutionResult::builder()
                                .external_execution_summary(format!("{stage} done"))
                                .build(),
                        )
                        .build(),
                )
                .build()
        };
        let for_execution = |token: Option<&'static str>| {
            move |input: &aws_sdk_codepipeline::operation::list_action_executions::ListActionExecutionsInput| {
                input.pipeline_name() == Some("pipeline-acc")
                    && input.filter().and_then(|f| f.pipeline_execution_id()) == Some("e-1")
                    && input.next_token() == token
            }
        };
        let first = mock!(aws_sdk_codepipeline::Client::list_action_executions)
            .match_requests(for_execution(None))
            .then_output(move || {
                ListActionExecutionsOutput::builder()
                    .action_execution_details(detail("Source", 100))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_codepipeline::Client::list_action_executions)
            .match_requests(for_execution(Some("page-2")))
            .then_output(move || {
                ListActionExecutionsOutput::builder()
                    .action_execution_details(detail("Build", 200))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_codepipeline,
            RuleMode::Sequential,
            &[&first, &second]
        );
        let records = records_from_aws(&client, "pipeline-acc", "e-1")
            .await
            .expect("reads");
        assert_eq!(records.len(), 2, "{records:?}");
        assert_eq!(records[1].stage, "Build");
        assert_eq!(records[1].status, "Succeeded");
        assert!(
            (records[1].started - 200.0).abs() < 1e-9 && (records[1].ended - 205.0).abs() < 1e-9
        );
        assert_eq!(
            records[1]
                .output_variables
                .get("IMAGE_DIGEST")
                .map(String::as_str),
            Some(DIGEST)
        );
        assert_eq!(records[1].summary, "Build done");
        assert_eq!(first.num_calls() + second.num_calls(), 2);
    }
}
