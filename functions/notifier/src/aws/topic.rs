//! Publishes a notice on the notification topic.

use aws_sdk_sns::Client;

use crate::domain::message::Notice;
use crate::error::Error;

/// Publishes `notice` on `topic`; returns the message id.
pub async fn publish(client: &Client, topic: &str, notice: &Notice) -> Result<String, Error> {
    let sent = client
        .publish()
        .topic_arn(topic)
        .subject(&notice.subject)
        .message(&notice.message)
        .send()
        .await
        .map_err(|e| Error::aws("Publish", e))?;
    Ok(sent.message_id().unwrap_or_default().to_owned())
}
