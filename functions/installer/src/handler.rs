//! The one path that always answers CloudFormation.
//!
//! The event is accepted as untyped JSON; everything that can fail (the
//! typed request, the properties, every AWS call, a panic, the deadline)
//! happens inside a guard whose every outcome becomes a response: SUCCESS
//! with the physical id and Data, or FAILED with a short reason.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use futures::FutureExt;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tokio::time::Instant;

use crate::aws::propagation::Backoff;
use crate::aws::Clients;
use crate::domain::names::create_failed_id;
use crate::domain::properties::Properties;
use crate::domain::response::{response_body, Echo, Outcome};
use crate::error::Error;
use crate::lifecycle::{Installed, Ledger, Work};
use crate::respond::{self, RespondPolicy};

/// The build specification the CodeBuild project runs.
pub const BUILDSPEC: &str = include_str!("../buildspec.yml");

/// Timing of one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// IAM propagation retries.
    pub backoff: Backoff,
    /// Time kept, before the time kept for answering, to remove what a
    /// failed Create created.
    pub cleanup_reserve: Duration,
    /// Retries of the response PUT (their total is kept for answering).
    pub respond: RespondPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            cleanup_reserve: Duration::from_secs(40),
            respond: RespondPolicy::default(),
        }
    }
}

/// Lambda's longest timeout, assumed when the runtime gives no usable deadline.
pub const LONGEST_TIMEOUT: Duration = Duration::from_secs(900);

/// The time from `now` to the invocation's `deadline`. Lambda always gives a
/// deadline in the future; a local emulator may give none, which the runtime
/// reads as the epoch (`cargo lambda watch` does), so a deadline already
/// passed when the invocation starts means "unknown": assume
/// [`LONGEST_TIMEOUT`], the installer's own timeout in the template.
pub fn time_left(deadline: SystemTime, now: SystemTime) -> Duration {
    match deadline.duration_since(now) {
        Ok(left) if !left.is_zero() => left,
        _ => {
            tracing::warn!(
                assumed_s = LONGEST_TIMEOUT.as_secs(),
                "the runtime gave no deadline in the future (a local emulator?): assuming Lambda's longest timeout"
            );
            LONGEST_TIMEOUT
        }
    }
}

/// The custom resource handler, built once per cold start.
#[derive(Debug, Clone)]
pub struct Installer {
    clients: Clients,
    http: reqwest::Client,
    settings: Settings,
}

/// The request fields read before anything can fail, so that even a
/// malformed request is answered.
#[derive(Debug, Clone, Default)]
struct Envelope {
    request_type: Option<String>,
    response_url: Option<String>,
    physical_resource_id: Option<String>,
    echo: Echo,
}

impl Envelope {
    fn read(event: &Value) -> Self {
        let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            request_type: text("RequestType"),
            response_url: text("ResponseURL"),
            physical_resource_id: text("PhysicalResourceId"),
            echo: Echo {
                stack_id: text("StackId").unwrap_or_default(),
                request_id: text("RequestId").unwrap_or_default(),
                logical_resource_id: text("LogicalResourceId").unwrap_or_default(),
            },
        }
    }

    /// The physical id a FAILED answer carries: the marker for a Create (the
    /// following Delete then removes nothing), the current id otherwise.
    fn failure_physical_id(&self) -> String {
        match (&self.request_type, &self.physical_resource_id) {
            (Some(kind), _) if kind == "Create" => create_failed_id(&self.echo.request_id),
            (_, Some(id)) if !id.is_empty() => id.clone(),
            _ => create_failed_id(&self.echo.request_id),
        }
    }
}

impl Installer {
    pub fn new(clients: Clients, settings: Settings) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Respond(e.without_url()))?;
        Ok(Self {
            clients,
            http,
            settings,
        })
    }

    /// The Lambda entry point.
    pub async fn lambda(&self, event: LambdaEvent<Value>) -> Result<(), Error> {
        let (payload, context) = event.into_parts();
        let remaining = time_left(context.deadline(), SystemTime::now());
        // Boxed: the handler's future is deep, and the runtime nests it further.
        Box::pin(self.handle(
            payload,
            Instant::now() + remaining,
            &context.env_config.log_stream,
        ))
        .await
        .map(|_| ())
    }

    /// Handles one request and answers CloudFormation before `deadline`.
    /// Returns what was answered; an error only when no answer could be
    /// delivered.
    pub async fn handle(
        &self,
        event: Value,
        deadline: Instant,
        log_stream: &str,
    ) -> Result<Outcome, Error> {
        let envelope = Envelope::read(&event);
        tracing::info!(
            request_type = envelope.request_type.as_deref().unwrap_or("-"),
            stack_id = %envelope.echo.stack_id,
            request_id = %envelope.echo.request_id,
            logical_resource_id = %envelope.echo.logical_resource_id,
            physical_resource_id = envelope.physical_resource_id.as_deref().unwrap_or("-"),
            "custom resource request"
        );
        let Some(response_url) = envelope.response_url.clone() else {
            tracing::error!("the event has no ResponseURL: it cannot be answered");
            return Err(Error::NoResponseUrl);
        };

        let answer_by = deadline
            .checked_sub(self.settings.respond.reserve())
            .unwrap_or_else(Instant::now);
        let work_by = answer_by
            .checked_sub(self.settings.cleanup_reserve)
            .unwrap_or_else(Instant::now);
        let ledger = Ledger::default();
        let work = Work {
            clients: &self.clients,
            backoff: self.settings.backoff,
            deadline: work_by,
            stack_id: &envelope.echo.stack_id,
            buildspec: BUILDSPEC,
            ledger: &ledger,
        };

        let result = if work_by <= Instant::now() {
            // Too close to the deadline to start anything.
            Err(Error::Deadline)
        } else {
            guarded(run(&work, event), work_by).await
        };

        let outcome = match result {
            Ok(installed) => Outcome::Success {
                physical_id: installed.physical_id,
                data: installed.data,
            },
            Err(error) => {
                if error.is_client_error() {
                    tracing::warn!(error = %error, "request refused");
                } else {
                    tracing::error!(error = %error, "request failed");
                }
                if !ledger.is_empty() {
                    // Guarded too: a panic while cleaning up must not keep
                    // CloudFormation from its answer.
                    let clean_up = async {
                        work.clean_up().await;
                        Ok(())
                    };
                    match guarded(clean_up, answer_by).await {
                        Ok(()) => {}
                        Err(Error::Deadline) => {
                            tracing::error!("no time left to remove what this request created")
                        }
                        Err(error) => {
                            tracing::error!(error = %error, "removing what this request created failed")
                        }
                    }
                }
                Outcome::Failed {
                    physical_id: envelope.failure_physical_id(),
                    reason: if log_stream.is_empty() {
                        error.to_string()
                    } else {
                        format!("{error} (log stream {log_stream})")
                    },
                }
            }
        };

        let body = response_body(&envelope.echo, &outcome);
        respond::send(
            &self.http,
            &response_url,
            body,
            &self.settings.respond,
            deadline,
        )
        .await?;
        match &outcome {
            Outcome::Success { physical_id, .. } => {
                tracing::info!(status = "SUCCESS", physical_id = %physical_id, "answered CloudFormation")
            }
            Outcome::Failed { physical_id, .. } => {
                tracing::info!(status = "FAILED", physical_id = %physical_id, "answered CloudFormation")
            }
        }
        Ok(outcome)
    }
}

/// The work of one request: typed request, typed properties, lifecycle.
/// Runs `work` until `deadline`: a panic becomes [`Error::Panic`] and the
/// deadline [`Error::Deadline`], so the caller always has something to answer.
/// (This holds in the deployed binaries because the release profile unwinds;
/// `tests/panic-probe` checks it on a binary built as `sam build` builds it.)
pub async fn guarded<T>(
    work: impl std::future::Future<Output = Result<T, Error>>,
    deadline: Instant,
) -> Result<T, Error> {
    match tokio::time::timeout_at(deadline, AssertUnwindSafe(work).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(Error::Panic(panic_message(panic.as_ref()))),
        Err(_) => Err(Error::Deadline),
    }
}

async fn run(work: &Work<'_>, event: Value) -> Result<Installed, Error> {
    let request: CloudFormationCustomResourceRequest<Value, Value> =
        serde_json::from_value(event).map_err(Error::Request)?;
    match request {
        CloudFormationCustomResourceRequest::Create(request) => {
            let properties = Properties::parse(&request.resource_properties)?;
            work.create(&properties).await
        }
        CloudFormationCustomResourceRequest::Update(request) => {
            let properties = Properties::parse(&request.resource_properties)?;
            work.update(
                &properties,
                &request.old_resource_properties,
                &request.physical_resource_id,
            )
            .await
        }
        CloudFormationCustomResourceRequest::Delete(request) => {
            work.delete(&request.physical_resource_id, &request.resource_properties)
                .await?;
            Ok(Installed {
                physical_id: request.physical_resource_id,
                data: HashMap::new(),
            })
        }
        _ => Err(Error::UnsupportedRequestType),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_future_is_the_time_left() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let left = time_left(now + Duration::from_secs(42), now);
        assert_eq!(left, Duration::from_secs(42));
    }

    #[test]
    fn no_deadline_or_one_already_passed_means_the_longest_timeout() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        // What the runtime reads when an emulator sends no deadline.
        assert_eq!(time_left(SystemTime::UNIX_EPOCH, now), LONGEST_TIMEOUT);
        assert_eq!(time_left(now, now), LONGEST_TIMEOUT);
        assert_eq!(
            time_left(now - Duration::from_millis(1), now),
            LONGEST_TIMEOUT
        );
    }
}
