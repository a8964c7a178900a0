//! The function's configuration, read once from the environment.

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// PIPELINE_NAME: the pipeline to start.
    pub pipeline: String,
    /// SOURCE_ACTION_NAME: the pipeline's GitHub source action.
    pub source_action: String,
    /// DELIVERIES_TABLE: the DynamoDB table of deliveries and the push head.
    pub table: String,
    /// NOTIFICATION_TOPIC (optional): where pushes that were not started
    /// are announced.
    pub topic: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let required = |name: &'static str| match lookup(name).map(|v| v.trim().to_owned()) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(Error::InvalidEnvironment {
                name,
                reason: "it is not set".to_owned(),
            }),
        };
        Ok(Self {
            pipeline: required("PIPELINE_NAME")?,
            source_action: required("SOURCE_ACTION_NAME")?,
            table: required("DELIVERIES_TABLE")?,
            topic: lookup("NOTIFICATION_TOPIC")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_variable_is_required_and_named() {
        let all = [
            ("PIPELINE_NAME", "pipeline-prod"),
            ("SOURCE_ACTION_NAME", "GitHub"),
            ("DELIVERIES_TABLE", "deliveries-prod"),
        ];
        let config = Config::from_lookup(|n| {
            all.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        assert_eq!(config.pipeline, "pipeline-prod");
        assert_eq!(config.source_action, "GitHub");
        assert_eq!(config.table, "deliveries-prod");
        assert_eq!(config.topic, None, "the topic is optional");
        for (missing, _) in all {
            let error = Config::from_lookup(|n| {
                all.iter()
                    .find(|(k, _)| *k == n && *k != missing)
                    .map(|(_, v)| (*v).to_owned())
            })
            .unwrap_err();
            assert!(error.to_string().contains(missing), "{error}");
        }
    }
}
