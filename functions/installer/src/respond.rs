//! Delivering the response to CloudFormation's ResponseURL.
//!
//! On AWS the ResponseURL is a presigned S3 URL: the body is PUT with an
//! empty Content-Type (the signature covers it). MiniStack hands out a URL of
//! its own gateway and reads the same PUT, so one path serves both. The URL
//! is a credential: it is never logged, and errors are stripped of it.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use tokio::time::Instant;

use crate::error::Error;

/// Bounded retries of the response PUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RespondPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub attempt_timeout: Duration,
}

impl Default for RespondPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(500),
            attempt_timeout: Duration::from_secs(4),
        }
    }
}

impl RespondPolicy {
    /// The longest all attempts can take: the time to keep for answering.
    pub fn reserve(&self) -> Duration {
        let mut total = self.attempt_timeout * self.attempts;
        let mut delay = self.first_delay;
        for _ in 1..self.attempts {
            total += delay;
            delay *= 2;
        }
        total
    }
}

/// PUTs `body` to `url`. Transport errors and 5xx answers are retried up to
/// the policy's attempts (and not past `deadline`); a 4xx answer is final.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    body: String,
    policy: &RespondPolicy,
    deadline: Instant,
) -> Result<(), Error> {
    let mut delay = policy.first_delay;
    let mut attempt: u32 = 1;
    loop {
        let result = http
            .put(url)
            .header(CONTENT_TYPE, "")
            .body(body.clone())
            .timeout(policy.attempt_timeout)
            .send()
            .await;
        let error = match result {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) if response.status().is_client_error() => {
                return Err(Error::RespondStatus(response.status().as_u16()));
            }
            Ok(response) => Error::RespondStatus(response.status().as_u16()),
            Err(error) => Error::Respond(error.without_url()),
        };
        if attempt >= policy.attempts || Instant::now() + delay >= deadline {
            return Err(error);
        }
        tracing::warn!(attempt, error = %error, "could not deliver the response; retrying");
        tokio::time::sleep(delay).await;
        delay *= 2;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_reserve_is_bounded() {
        let reserve = RespondPolicy::default().reserve();
        assert_eq!(reserve, Duration::from_millis(16_000 + 500 + 1_000 + 2_000));
    }
}
