//! Putting one event on the bus with EventBridge PutEvents.
//!
//! Request-level failures (throttling, 5xx, timeouts) are retried by the
//! SDK's standard retry strategy. PutEvents can also succeed as a request
//! while failing the entry; those entry errors are retried here, a bounded
//! number of times, when AWS documents them as retryable.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use crate::error::Error;
use crate::event::OutgoingEvent;

/// How many times one entry is sent at most.
pub const MAX_ENTRY_ATTEMPTS: u32 = 3;
/// The pause before the second attempt; it doubles for each further one.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
/// The most time spent putting one event, all attempts included, so that
/// GitHub (which waits 10 seconds) gets an answer in time.
pub const PUBLISH_DEADLINE: Duration = Duration::from_secs(4);

/// Whether a `PutEventsResultEntry` error code is worth sending again.
///
/// The PutEventsResultEntry reference lists `InternalFailure` and
/// `ThrottlingException` as the retryable entry errors (and
/// `AccessDeniedException`, `InvalidAccountIdException`, `InvalidArgument`,
/// `MalformedDetail`, `RedactionFailure`, `NotAuthorizedForSourceException`,
/// `NotAuthorizedForDetailTypeException` as not retryable).
/// `InternalException` is EventBridge's name for the same internal fault at
/// request level; it is treated alike should it appear on an entry.
pub fn is_retryable_entry_error(code: &str) -> bool {
    matches!(
        code,
        "InternalFailure" | "InternalException" | "ThrottlingException"
    )
}

/// Puts events on one bus.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    client: Client,
    first_retry_delay: Duration,
    deadline: Duration,
}

impl EventPublisher {
    /// A publisher using `client` (configured with timeouts, see
    /// [`crate::events_client`]).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            first_retry_delay: FIRST_RETRY_DELAY,
            deadline: PUBLISH_DEADLINE,
        }
    }

    /// Puts `event` on its bus and returns the event id.
    pub async fn publish(&self, event: &OutgoingEvent) -> Result<String, Error> {
        tokio::time::timeout(self.deadline, self.publish_with_retries(event))
            .await
            .unwrap_or(Err(Error::PublishDeadline {
                millis: self.deadline.as_millis(),
            }))
    }

    async fn publish_with_retries(&self, event: &OutgoingEvent) -> Result<String, Error> {
        let entry = PutEventsRequestEntry::builder()
            .source(event.source)
            .detail_type(&event.detail_type)
            .detail(&event.detail)
            .event_bus_name(&event.event_bus_name)
            .build();
        let mut delay = self.first_retry_delay;
        let mut attempt = 1;
        loop {
            let output = self
                .client
                .put_events()
                .entries(entry.clone())
                .send()
                .await
                .map_err(|e| Error::PutEvents(Box::new(e)))?;
            let result = output.entries.unwrap_or_default().into_iter().next();
            let (code, message) = match result {
                Some(entry) => match (entry.event_id, entry.error_code) {
                    (Some(id), None) => return Ok(id),
                    (_, code) => (
                        code.unwrap_or_else(|| "Unknown".into()),
                        entry.error_message.unwrap_or_default(),
                    ),
                },
                None => ("NoResultEntry".into(), String::new()),
            };
            if !is_retryable_entry_error(&code) {
                return Err(Error::EntryRejected { code, message });
            }
            if attempt >= MAX_ENTRY_ATTEMPTS {
                return Err(Error::EntryRetriesExhausted { code, message });
            }
            tracing::warn!(attempt, error_code = %code, "PutEvents entry failed; retrying");
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
        }
    }
}
