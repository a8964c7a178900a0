//! SNS: the notification topic, for pushes that were not started.

use aws_sdk_sns::Client;

use crate::domain::notice::Notice;
use crate::error::Error;

/// Publishes `notice` on `topic`. An error fails the invocation: Lambda
/// retries it, and the head still says the notice is owed.
pub async fn publish(client: &Client, topic: &str, notice: &Notice) -> Result<(), Error> {
    client
        .publish()
        .topic_arn(topic)
        .subject(&notice.subject)
        .message(&notice.message)
        .send()
        .await
        .map_err(|e| Error::aws("Publish", e))?;
    Ok(())
}
