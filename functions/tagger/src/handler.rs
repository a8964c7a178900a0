//! The entry point: dispatches the event, runs the promotion under the
//! deadline and panic guard, and sends exactly one job result.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use tokio::time::Instant;
use tracing::Instrument;

use crate::aws::codepipeline::{self, with_result_retries};
use crate::aws::ecr::{self, ImageRef, Manifest};
use crate::aws::notify::{self, Notifier};
use crate::aws::order::{self, OrderGuard};
use crate::config::Config;
use crate::converge::converge_tags;
use crate::domain::notice::notice;
use crate::domain::outcome::{success_summary, FailureKind, JobOutcome, Notes};
use crate::domain::params::{parse_request, parse_user_parameters, Digest, Request};
use crate::domain::plan::{plan, TagPlan};
use crate::domain::production::{held_summary, Promotion, NOT_PROMOTED_PREFIX};
use crate::domain::record::{plan_promotion, NotPromoted};
use crate::domain::scan::{next_wait, refusal_message, verdict, ScanGate, Verdict, WaitState};
use crate::error::Error;
use crate::operator::{self, now_text};

/// Time kept back from the Lambda deadline to send the job result (the
/// result call's own timeout, with its retries, fits in it). With a short
/// function timeout a quarter of the time is kept back instead.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(6);

/// What the handler works with: SDK clients built once, and the configuration
/// read once. A configuration error is kept, not fatal: every job is then
/// answered with a ConfigurationError that names the bad variable.
#[derive(Debug, Clone)]
pub struct Deps {
    /// ECR client.
    pub ecr: aws_sdk_ecr::Client,
    /// CodePipeline client (with [`with_result_retries`]).
    pub codepipeline: aws_sdk_codepipeline::Client,
    /// The configuration, or why it could not be read.
    pub config: Arc<Result<Config, Error>>,
    /// The production record (DELIVERIES_TABLE): push order, the hold and
    /// where each promoted image came from. Without it, production moves to
    /// whatever a job names (local invokes of a single job) and a rollback
    /// sets no hold.
    pub order_guard: Option<OrderGuard>,
    /// The repository an operator's request is about when it names none
    /// (REPOSITORY_NAME).
    pub repository: Option<String>,
    /// The notification topic (NOTIFICATION_TOPIC), when there is one.
    pub notifier: Option<Notifier>,
}

impl Deps {
    /// Wraps ready-made clients.
    pub fn new(
        ecr: aws_sdk_ecr::Client,
        codepipeline: aws_sdk_codepipeline::Client,
        config: Result<Config, Error>,
    ) -> Self {
        Self {
            ecr,
            codepipeline,
            config: Arc::new(config),
            order_guard: None,
            repository: None,
            notifier: None,
        }
    }

    /// Announces refused and held promotions (and, with `on_promotion`,
    /// each promotion) on the SNS topic `topic`.
    pub fn with_notifier(
        mut self,
        client: aws_sdk_sns::Client,
        topic: String,
        on_promotion: bool,
    ) -> Self {
        self.notifier = Some(Notifier {
            client,
            topic,
            on_promotion,
        });
        self
    }

    /// Operator requests that name no repository are about `repository`.
    pub fn with_repository(mut self, repository: String) -> Self {
        self.repository = Some(repository);
        self
    }

    /// Keeps `production` in push order with the deliveries table `table`.
    pub fn with_order_guard(mut self, client: aws_sdk_dynamodb::Client, table: String) -> Self {
        self.order_guard = Some(OrderGuard { client, table });
        self
    }

    /// Builds the clients from a loaded SDK configuration.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, config: Result<Config, Error>) -> Self {
        let codepipeline = aws_sdk_codepipeline::Client::from_conf(
            with_result_retries(aws_sdk_codepipeline::config::Builder::from(sdk)).build(),
        );
        Self::new(aws_sdk_ecr::Client::new(sdk), codepipeline, config)
    }
}

/// The Lambda handler: the work's deadline is the invocation's, less a
/// margin for the result call (see [`work_budget`]).
pub async fn function_handler(
    deps: &Deps,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let budget = work_budget(event.context.deadline, SystemTime::now());
    tracing::debug!(budget_ms = budget.as_millis(), "time for the work");
    let deadline = Instant::now() + budget;
    // Boxed: the nested SDK futures are deep enough to hit the compiler's
    // layout recursion limit when inlined into the runtime's future.
    Box::pin(handle_event(deps, event.payload, deadline))
        .await
        .map_err(Into::into)
}

/// The time the work may take: until the Lambda deadline (milliseconds
/// since the Unix epoch) less [`DEADLINE_MARGIN`], or less a quarter of the
/// remaining time when the function has a short timeout (Lambda's default is 3 s).
///
/// A deadline before 2001 cannot be an epoch time: `cargo lambda watch`
/// sends the function's timeout in milliseconds (600000) in that header, so
/// such a value is read as the time remaining. AWS (and MiniStack) send an
/// epoch time.
pub fn work_budget(deadline_ms: u64, now: SystemTime) -> Duration {
    const EPOCH_MS_2001: u64 = 978_307_200_000;
    let remaining = if deadline_ms < EPOCH_MS_2001 {
        Duration::from_millis(deadline_ms)
    } else {
        (UNIX_EPOCH + Duration::from_millis(deadline_ms))
            .duration_since(now)
            .unwrap_or_default()
    };
    remaining.saturating_sub(DEADLINE_MARGIN.min(remaining / 4))
}

/// Handles one event: a CodePipeline job (answered with exactly one job
/// result) or an operator's request: rollback, release or status (answered
/// with the state afterwards, and a `report` of lines to print).
///
/// A job event without a job id is answered with an error only: no job
/// result can name it, so CodePipeline times the action out; CodePipeline
/// itself never sends such an event.
pub async fn handle_event(deps: &Deps, payload: Value, deadline: Instant) -> Result<Value, Error> {
    if payload.get("CodePipeline.job").is_some() {
        let Some(job_id) = payload
            .pointer("/CodePipeline.job/id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
        else {
            tracing::error!("a CodePipeline job event without a job id cannot be answered");
            return Err(Error::NoJobId);
        };
        return handle_job(deps, job_id, payload, deadline).await;
    }
    if ["rollback", "release", "status"]
        .iter()
        .any(|name| payload.get(name).is_some())
    {
        return match parse_request(payload, deps.repository.as_deref())? {
            Request::Rollback(request) => operator::rollback(deps, &request).await,
            Request::Release(target) => operator::release(deps, &target).await,
            Request::Status(target) => operator::status(deps, &target).await,
        };
    }
    tracing::error!("unknown event: neither a CodePipeline job nor an operator's request");
    Err(Error::UnknownEvent)
}

async fn handle_job(
    deps: &Deps,
    job_id: String,
    payload: Value,
    deadline: Instant,
) -> Result<Value, Error> {
    let span = tracing::info_span!("job", job_id = %job_id);
    // For the notice: the repository and commit, when the parameters parse.
    let params = payload
        .pointer("/CodePipeline.job/data/actionConfiguration/configuration/UserParameters")
        .and_then(Value::as_str)
        .and_then(|text| parse_user_parameters(Some(text)).ok());
    let work = {
        let deps = deps.clone();
        async move { promote(&deps, payload, deadline).await }
    };
    let outcome = guarded(work.instrument(span.clone()), deadline)
        .instrument(span.clone())
        .await;
    span.in_scope(|| match &outcome {
        JobOutcome::Succeeded { summary, .. } => tracing::info!(%summary, "promoted"),
        JobOutcome::InProgress { summary, .. } => tracing::info!(%summary, "waiting"),
        JobOutcome::Failed { kind, message } => match kind {
            FailureKind::JobFailed => tracing::error!(kind = kind.as_str(), %message, "failed"),
            _ => tracing::warn!(kind = kind.as_str(), %message, "failed"),
        },
    });
    let sent = codepipeline::send_result(&deps.codepipeline, &job_id, &outcome)
        .instrument(span.clone())
        .await;
    if let Err(error) = sent {
        span.in_scope(|| tracing::error!(error = %error, "could not send the job result"));
        return Err(error);
    }
    if let Some(notifier) = &deps.notifier {
        if let Some(notice) = notice(params.as_ref(), &outcome, notifier.on_promotion) {
            // Within the margin kept back from the Lambda deadline: a slow
            // topic must not run the invocation out of time after its result.
            let publish = notify::publish(notifier, &notice).instrument(span.clone());
            if tokio::time::timeout_at(deadline + DEADLINE_MARGIN / 2, publish)
                .await
                .is_err()
            {
                span.in_scope(|| tracing::warn!("the notice was not published in time"));
            }
        }
    }
    Ok(json!({ "jobId": job_id, "result": outcome.label() }))
}

/// Runs `work` in its own task and always returns an outcome: the work's, or
/// a failure when it panics or when `deadline` comes first (the task is
/// then aborted).
pub async fn guarded<F>(work: F, deadline: Instant) -> JobOutcome
where
    F: Future<Output = JobOutcome> + Send + 'static,
{
    let mut task = tokio::spawn(work);
    match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join_error)) => {
            let what = if join_error.is_panic() {
                let payload = join_error.into_panic();
                payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_owned())
            } else {
                "the work was cancelled".to_owned()
            };
            JobOutcome::failed(&Error::Panicked(what))
        }
        Err(_elapsed) => {
            task.abort();
            JobOutcome::failed(&Error::DeadlineExceeded)
        }
    }
}

async fn promote(deps: &Deps, payload: Value, deadline: Instant) -> JobOutcome {
    let config = match deps.config.as_ref() {
        Ok(config) => *config,
        Err(error) => return JobOutcome::failed(error),
    };
    run_promotion(deps, config, payload, deadline)
        .await
        .unwrap_or_else(|error| JobOutcome::failed(&error))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

async fn run_promotion(
    deps: &Deps,
    config: Config,
    payload: Value,
    deadline: Instant,
) -> Result<JobOutcome, Error> {
    // The typed event holds artifactCredentials: it is never logged.
    let event: CodePipelineJobEvent =
        serde_json::from_value(payload).map_err(Error::MalformedEvent)?;
    let data = event.code_pipeline_job.data;
    let params = parse_user_parameters(
        data.action_configuration
            .configuration
            .user_parameters
            .as_deref(),
    )?;
    let waited = data
        .continuation_token
        .as_deref()
        .map(WaitState::from_token)
        .transpose()?;
    let repository = params.repository.as_str();

    let mut notes = Notes::default();
    let digest = match (&params.digest, &waited) {
        (Some(digest), _) => digest.clone(),
        (None, Some(state)) => {
            let digest = Digest::from_ecr(&state.digest);
            notes.fallback = Some(format!(
                "no digest in UserParameters: promoting the most recently pushed image, {digest}, chosen at the first check"
            ));
            digest
        }
        (None, None) => {
            let Some((digest, pushed)) = ecr::newest_image(&deps.ecr, repository).await? else {
                return Err(Error::NoImages {
                    repository: repository.to_owned(),
                });
            };
            let note = format!(
                "no digest in UserParameters: promoting the most recently pushed image, {digest} (pushed {pushed})"
            );
            tracing::warn!(%repository, %digest, "{note}");
            notes.fallback = Some(note);
            digest
        }
    };
    tracing::info!(%repository, %digest, tag = %params.tag, "promoting");

    let Some(target) = ecr::get_image(&deps.ecr, repository, ImageRef::Digest(&digest)).await?
    else {
        return Err(Error::ImageNotFound {
            repository: repository.to_owned(),
            reference: digest.to_string(),
        });
    };

    match scan_gate(deps, config, repository, &digest, &target, waited, deadline).await? {
        Gate::Passed(note) => notes.scan = note,
        Gate::Waiting(outcome) => return Ok(outcome),
    }

    let previous = params.previous_tag();
    let Some(guard) = &deps.order_guard else {
        notes.commit = Some(match &params.push {
            Some(push) => format!(
                "commit {} (push {}; push order not checked)",
                push.commit, push.sequence
            ),
            None => "started by hand: no push order to check".to_owned(),
        });
        let plan = plan_and_apply(deps, repository, &params.tag, &previous, target).await?;
        return Ok(JobOutcome::Succeeded {
            summary: success_summary(repository, &params.tag, &previous, &plan, &notes),
            promoted: plan.promoted,
            previous: plan.previous,
        });
    };
    let push = params.push.as_ref();
    // First make ECR agree with the record (a crash may have left them apart).
    let mut record = converge_tags(deps, guard, repository, &params.tag).await?;
    let mut decided = None;
    for _ in 0..5 {
        match plan_promotion(&record, digest.as_str(), push) {
            Err(why) => {
                decided = Some(Err(why));
                break;
            }
            Ok(write) => {
                if order::write_record(guard, &params.tag, &write).await? {
                    decided = Some(Ok(write.next));
                    break;
                }
                record = order::read_record(guard, &params.tag).await?;
            }
        }
    }
    let Some(decided) = decided else {
        return Err(Error::RecordContended {
            tag: params.tag.clone(),
        });
    };
    let commit = push.map(|p| p.commit.as_str());
    match decided {
        Ok(next) => {
            let promotion = Promotion {
                commit: commit.map(str::to_owned),
                sequence: push.map(|p| p.sequence),
                execution: params.execution.clone(),
                promoted_at: now_text(),
            };
            order::record_promotion(guard, digest.as_str(), &promotion).await?;
            converge_tags(deps, guard, repository, &params.tag).await?;
            notes.commit = Some(match push {
                Some(push) => format!("commit {} (push {})", push.commit, push.sequence),
                None => "started by hand: no push order to check".to_owned(),
            });
            tracing::info!(commit = ?commit, "promoted the commit's image");
            let plan = TagPlan {
                moves: Vec::new(),
                promoted: digest.clone(),
                previous: next.previous.as_deref().map(Digest::from_ecr),
                unchanged: record.digest.as_deref() == Some(digest.as_str()),
            };
            Ok(JobOutcome::Succeeded {
                summary: success_summary(repository, &params.tag, &previous, &plan, &notes),
                promoted: plan.promoted,
                previous: plan.previous,
            })
        }
        Err(NotPromoted::Already) => {
            notes.commit = push.map(|p| format!("commit {} (push {})", p.commit, p.sequence));
            let plan = TagPlan {
                moves: Vec::new(),
                promoted: digest.clone(),
                previous: record.previous.as_deref().map(Digest::from_ecr),
                unchanged: true,
            };
            Ok(JobOutcome::Succeeded {
                summary: success_summary(repository, &params.tag, &previous, &plan, &notes),
                promoted: plan.promoted,
                previous: plan.previous,
            })
        }
        Err(blocked) => {
            let summary = match &blocked {
                NotPromoted::Held(hold) => {
                    held_summary(repository, digest.as_str(), &params.tag, commit, hold)
                }
                NotPromoted::NotNewer { commit: newer, sequence } => format!(
                    "{NOT_PROMOTED_PREFIX}: {repository}@{digest} is commit {} (push {}), not newer than commit {newer} (push {sequence}) that {} was promoted to; production only moves forward",
                    commit.unwrap_or("none"),
                    push.map_or(0, |p| p.sequence),
                    params.tag
                ),
                NotPromoted::Already => format!("{repository}:{} already holds {digest}", params.tag),
            };
            tracing::warn!(commit = ?commit, blocked = ?blocked, "{summary}");
            // PROMOTED_DIGEST names what production holds, unchanged.
            Ok(JobOutcome::Succeeded {
                summary,
                promoted: record
                    .digest
                    .as_deref()
                    .map_or_else(|| digest.clone(), Digest::from_ecr),
                previous: None,
            })
        }
    }
}

/// What the scan gate decided: promote (with a note for the result), or
/// answer "in progress" with a continuation token.
enum Gate {
    Passed(Option<String>),
    Waiting(JobOutcome),
}

/// Time kept for the work after the scan passes (the tag moves and the
/// order record) when deciding whether one more check fits in this invocation.
const AFTER_SCAN_RESERVE: Duration = Duration::from_secs(10);

/// The scan gate. While the scan is pending it checks again every
/// `poll` within this invocation, as long as one more pause, a check and
/// the rest of the work fit before `deadline`; then it hands back a
/// continuation token. It fails once SCAN_WAIT_MAX_SECONDS have passed
/// since the first check, however many invocations that took.
async fn scan_gate(
    deps: &Deps,
    config: Config,
    repository: &str,
    digest: &Digest,
    target: &Manifest,
    mut waited: Option<WaitState>,
    deadline: Instant,
) -> Result<Gate, Error> {
    let threshold = match config.scan_gate {
        ScanGate::Off => return Ok(Gate::Passed(Some("scan gate OFF".to_owned()))),
        ScanGate::AtLeast(threshold) => threshold,
    };
    let mut scanned = target.platform_digests();
    if scanned.is_empty() {
        scanned.push(target.digest.clone());
    }
    let limits = config.wait_limits;
    loop {
        let mut states = Vec::with_capacity(scanned.len());
        for manifest in &scanned {
            let state = ecr::scan_state(&deps.ecr, repository, manifest).await?;
            states.push((manifest.clone(), state));
        }
        let why = match verdict(config.scan_gate, &states) {
            Verdict::Pass(counts) => {
                return Ok(Gate::Passed(counts.map(|c| {
                    format!(
                        "scan gate {}: passed ({})",
                        threshold.as_str(),
                        c.describe()
                    )
                })));
            }
            Verdict::PassWithWarning(warning) => {
                tracing::warn!(%digest, %warning, "promoting without a scan verdict");
                return Ok(Gate::Passed(Some(format!("WARNING: {warning}"))));
            }
            Verdict::Refuse(counts) => {
                return Err(Error::ScanRefused(refusal_message(
                    digest, threshold, &counts,
                )));
            }
            Verdict::Unusable(why) => {
                return Err(Error::ScanUnusable(format!(
                    "the image scan of {digest} gave no usable result: {why}; start a new scan (aws ecr start-image-scan) and retry the stage, or set SCAN_GATE=OFF to promote without a scan"
                )));
            }
            Verdict::Wait(why) => why,
        };
        let state = next_wait(waited.as_ref(), digest, unix_now(), limits, &why)
            .map_err(Error::ScanWaitExceeded)?;
        if Instant::now() + limits.poll + AFTER_SCAN_RESERVE >= deadline {
            let waited_s = unix_now().saturating_sub(state.since);
            return Ok(Gate::Waiting(JobOutcome::InProgress {
                summary: format!(
                    "waiting for the image scan of {digest} ({why}); {} check(s) over {waited_s} s of at most {} s",
                    state.checks, limits.max_seconds
                ),
                token: state.to_token(),
            }));
        }
        tracing::info!(%digest, checks = state.checks, %why, "scan pending: checking again");
        waited = Some(state);
        tokio::time::sleep(limits.poll).await;
    }
}

/// Looks up who holds `tag` and `previous` now, plans the moves onto
/// `target`, and performs them in order.
async fn plan_and_apply(
    deps: &Deps,
    repository: &str,
    tag: &str,
    previous: &str,
    target: Manifest,
) -> Result<TagPlan, Error> {
    let holder = ecr::get_image(&deps.ecr, repository, ImageRef::Tag(tag)).await?;
    let previous_holder = ecr::get_image(&deps.ecr, repository, ImageRef::Tag(previous)).await?;
    let plan = plan(
        &target.digest,
        tag,
        previous,
        holder.as_ref().map(|m| &m.digest),
        previous_holder.as_ref().map(|m| &m.digest),
    );
    for step in &plan.moves {
        let manifest = match &holder {
            Some(h) if h.digest == step.digest && step.digest != target.digest => h,
            _ => &target,
        };
        let put = ecr::put_tag(&deps.ecr, repository, manifest, &step.tag).await?;
        tracing::info!(%repository, tag = %step.tag, digest = %step.digest, outcome = ?put, "tag put");
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_budget_keeps_a_margin_for_the_result_call() {
        let now_ms: u64 = 1_800_000_000_000;
        let now = UNIX_EPOCH + Duration::from_millis(now_ms);
        let budget = |ms: u64| work_budget(now_ms + ms, now);
        assert_eq!(budget(60_000), Duration::from_secs(54));
        assert_eq!(budget(30_000), Duration::from_secs(24));
        // Lambda's default 3 s timeout still leaves time for the work.
        assert_eq!(budget(3_000), Duration::from_millis(2250));
        assert_eq!(budget(0), Duration::ZERO);
        // A deadline already past: no time at all.
        assert_eq!(work_budget(now_ms - 1_000, now), Duration::ZERO);
        // cargo lambda's timeout-as-deadline.
        assert_eq!(work_budget(600_000, now), Duration::from_secs(594));
    }
}
