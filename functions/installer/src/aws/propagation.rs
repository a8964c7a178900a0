//! IAM propagation: a role created moments ago by the same stack is not yet
//! usable by CodeBuild or CodePipeline, which then refuse it as if it did not
//! trust them. Exactly those errors are retried, with bounded exponential
//! backoff; nothing else is (throttling and transient faults are the SDK's).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

/// Bounded exponential backoff for IAM propagation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts after this much time has passed since the first call.
    pub budget: Duration,
}

impl Default for Backoff {
    /// 1, 2, 4, 8, 16, 20, 20, ... seconds, for about two minutes at most.
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
            budget: Duration::from_secs(120),
        }
    }
}

/// CodeBuild: `InvalidInputException: CodeBuild is not authorized to perform:
/// sts:AssumeRole on arn:aws:iam::...:role/...`.
pub fn is_codebuild_propagation(error: &Error) -> bool {
    error.has_code(&["InvalidInputException"])
        && error
            .aws_message()
            .is_some_and(|m| m.contains("not authorized to perform: sts:AssumeRole"))
}

/// CodePipeline: `InvalidStructureException: CodePipeline is not authorized
/// to perform AssumeRole on role arn:aws:iam::...:role/...`.
pub fn is_codepipeline_propagation(error: &Error) -> bool {
    error.has_code(&["InvalidStructureException"])
        && error
            .aws_message()
            .is_some_and(|m| m.contains("not authorized") && m.contains("AssumeRole"))
}

/// IAM: GetRole answers `NoSuchEntity` for a role the stack has just created
/// while the change propagates: "Changes that you make ... take time to become
/// visible" (IAM's eventual consistency,
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
/// A role that really is missing still fails, after the backoff's budget.
pub fn is_role_propagation(error: &Error) -> bool {
    matches!(error, Error::RoleNotFound { .. })
}

/// Runs `call`, retrying while `is_propagation` says the error is IAM
/// propagation, within the backoff's budget and before `deadline`. The last
/// error is returned when either runs out.
pub async fn retry_during_propagation<T, F, Fut>(
    backoff: &Backoff,
    deadline: Instant,
    is_propagation: fn(&Error) -> bool,
    operation: &'static str,
    mut call: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut delay = backoff.first_delay;
    let mut attempt: u32 = 1;
    loop {
        match call().await {
            Err(error) if is_propagation(&error) => {
                let resume = Instant::now() + delay;
                if resume > started + backoff.budget || resume >= deadline {
                    tracing::warn!(
                        operation,
                        attempt,
                        "the role is still not usable; giving up"
                    );
                    return Err(error);
                }
                tracing::info!(
                    operation,
                    attempt,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "the role is not usable yet (IAM propagation); retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max_delay);
                attempt += 1;
            }
            other => return other,
        }
    }
}
