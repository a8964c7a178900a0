//! Publishes the tagger's notices on the stack's notification topic.
//! Best effort: the job's result is already sent, and a notice that cannot
//! be published is logged, never retried into a second job result.

use aws_sdk_sns::Client;

use crate::domain::notice::Notice;

/// The topic and its client.
#[derive(Debug, Clone)]
pub struct Notifier {
    pub client: Client,
    pub topic: String,
    /// NOTIFY_ON_PROMOTION: announce each promotion too.
    pub on_promotion: bool,
}

/// Publishes `notice`; logs instead of failing.
pub async fn publish(notifier: &Notifier, notice: &Notice) {
    let sent = notifier
        .client
        .publish()
        .topic_arn(&notifier.topic)
        .subject(&notice.subject)
        .message(&notice.message)
        .send()
        .await;
    match sent {
        Ok(_) => tracing::info!(subject = %notice.subject, "announced"),
        Err(error) => tracing::warn!(
            subject = %notice.subject,
            error = %aws_sdk_sns::error::DisplayErrorContext(&error),
            "could not publish the notice"
        ),
    }
}
