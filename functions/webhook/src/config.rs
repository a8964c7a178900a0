//! Settings read once from the environment at cold start.

use std::collections::BTreeSet;

use crate::error::Error;

/// `EVENT_BUS_NAME`: the bus events are put on (name or ARN).
pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
/// `WEBHOOK_SECRET_ARN`: the Secrets Manager secret holding the webhook secret.
pub const WEBHOOK_SECRET_ARN: &str = "WEBHOOK_SECRET_ARN";
/// `ALLOWED_EVENTS`: comma-separated GitHub event names to forward.
pub const ALLOWED_EVENTS: &str = "ALLOWED_EVENTS";

/// The function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub event_bus_name: String,
    pub secret_arn: String,
    pub allowed_events: AllowedEvents,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a table in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let required = |variable: &'static str| {
            lookup(variable)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .ok_or(Error::Config {
                    variable,
                    reason: "must be set",
                })
        };
        let allowed_events = match lookup(ALLOWED_EVENTS) {
            Some(list) => AllowedEvents::parse(&list)?,
            None => AllowedEvents::default(),
        };
        Ok(Self {
            event_bus_name: required(EVENT_BUS_NAME)?,
            secret_arn: required(WEBHOOK_SECRET_ARN)?,
            allowed_events,
        })
    }
}

/// The GitHub event names that are forwarded to the bus. `ping` is always
/// answered, never forwarded, whether listed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEvents(BTreeSet<String>);

impl Default for AllowedEvents {
    /// Only `push`.
    fn default() -> Self {
        Self(BTreeSet::from(["push".to_owned()]))
    }
}

impl AllowedEvents {
    /// Parses a comma-separated list such as `push, release`. Names are
    /// GitHub's: lowercase letters, digits and underscores. A list that
    /// names nothing is refused rather than silently forwarding nothing.
    pub fn parse(list: &str) -> Result<Self, Error> {
        let mut names = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let valid = name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(Error::Config {
                    variable: ALLOWED_EVENTS,
                    reason: "event names are lowercase letters, digits and underscores",
                });
            }
            names.insert(name.to_owned());
        }
        if names.is_empty() {
            return Err(Error::Config {
                variable: ALLOWED_EVENTS,
                reason: "names no event (leave it unset for `push`)",
            });
        }
        Ok(Self(names))
    }

    /// Whether `event` is forwarded.
    pub fn contains(&self, event: &str) -> bool {
        self.0.contains(event)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn defaults_to_push_only() {
        let config = Config::from_lookup(lookup(&[
            (EVENT_BUS_NAME, "github-events-dev"),
            (
                WEBHOOK_SECRET_ARN,
                "arn:aws:secretsmanager:ap-southeast-1:1:secret:x",
            ),
        ]))
        .unwrap();
        assert_eq!(config.event_bus_name, "github-events-dev");
        assert!(config.allowed_events.contains("push"));
        assert!(!config.allowed_events.contains("release"));
    }

    #[test]
    fn allowed_events_list() {
        let allowed = AllowedEvents::parse(" push , release,,").unwrap();
        assert!(allowed.contains("push") && allowed.contains("release"));
        assert!(!allowed.contains("issues"));
        for bad in ["", " , ", "Push", "push;rm", "pu sh"] {
            assert!(AllowedEvents::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn missing_variables_are_named() {
        let error = Config::from_lookup(lookup(&[(EVENT_BUS_NAME, "bus")])).unwrap_err();
        assert!(error.to_string().contains(WEBHOOK_SECRET_ARN), "{error}");
        let error = Config::from_lookup(lookup(&[
            (WEBHOOK_SECRET_ARN, "arn"),
            (EVENT_BUS_NAME, " "),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains(EVENT_BUS_NAME), "{error}");
    }
}
