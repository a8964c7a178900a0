//! The function's configuration, read once from the environment.

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// NOTIFICATION_TOPIC: the SNS topic's ARN.
    pub topic: String,
}

impl Config {
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        match lookup("NOTIFICATION_TOPIC").map(|v| v.trim().to_owned()) {
            Some(topic) if topic.starts_with("arn:") => Ok(Self { topic }),
            Some(topic) if !topic.is_empty() => Err(Error::InvalidEnvironment {
                name: "NOTIFICATION_TOPIC",
                reason: format!("{topic:?} is not a topic ARN"),
            }),
            _ => Err(Error::InvalidEnvironment {
                name: "NOTIFICATION_TOPIC",
                reason: "it is not set".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_topic_is_required_and_must_be_an_arn() {
        let arn = "arn:aws:sns:ap-southeast-1:123456789012:notifications-dev";
        assert_eq!(
            Config::from_lookup(|_| Some(format!(" {arn} "))).unwrap(),
            Config { topic: arn.into() }
        );
        for value in [None, Some(String::new()), Some("notifications-dev".into())] {
            let error = Config::from_lookup(|_| value.clone()).unwrap_err();
            assert!(error.to_string().contains("NOTIFICATION_TOPIC"), "{error}");
        }
    }
}
