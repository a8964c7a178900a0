//! The function's configuration, read once from the environment.

use crate::domain::scan::{ScanGate, WaitLimits};
use crate::error::Error;

/// Default for SCAN_WAIT_MAX_SECONDS. CodePipeline fails a Lambda invoke
/// action after 24 hours, and after 20 minutes without a reply
/// (<https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html>);
/// each invocation replies, so only the 24 hours bound the wait.
pub const DEFAULT_MAX_SECONDS: u64 = 1800;
/// Default for SCAN_POLL_SECONDS: an ECR basic scan takes tens of seconds.
pub const DEFAULT_POLL_SECONDS: u64 = 15;

/// Settings from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// SCAN_GATE.
    pub scan_gate: ScanGate,
    /// SCAN_WAIT_MAX_SECONDS and SCAN_POLL_SECONDS.
    pub wait_limits: WaitLimits,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a table in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let scan_gate = ScanGate::parse(lookup("SCAN_GATE").as_deref())?;
        let max_seconds = number(&lookup, "SCAN_WAIT_MAX_SECONDS", DEFAULT_MAX_SECONDS)?;
        let poll = number(&lookup, "SCAN_POLL_SECONDS", DEFAULT_POLL_SECONDS)?;
        Ok(Self {
            scan_gate,
            wait_limits: WaitLimits {
                max_seconds,
                poll: std::time::Duration::from_secs(poll),
            },
        })
    }
}

fn number<T: std::str::FromStr + PartialOrd + From<u8>>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, Error> {
    match lookup(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => match text.parse::<T>() {
            Ok(value) if value >= T::from(1) => Ok(value),
            _ => Err(Error::InvalidEnvironment {
                name,
                reason: format!("{text:?} is not a whole number of at least 1"),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::scan::Severity;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, Error> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = from(&[]).unwrap();
        assert_eq!(config.scan_gate, ScanGate::AtLeast(Severity::Critical));
        assert_eq!(config.wait_limits.max_seconds, DEFAULT_MAX_SECONDS);
        assert_eq!(config.wait_limits.poll.as_secs(), DEFAULT_POLL_SECONDS);
    }

    #[test]
    fn settings_are_read() {
        let config = from(&[
            ("SCAN_GATE", "HIGH"),
            ("SCAN_WAIT_MAX_SECONDS", "90"),
            ("SCAN_POLL_SECONDS", "5"),
        ])
        .unwrap();
        assert_eq!(config.scan_gate, ScanGate::AtLeast(Severity::High));
        assert_eq!(config.wait_limits.max_seconds, 90);
        assert_eq!(config.wait_limits.poll.as_secs(), 5);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("SCAN_GATE", "NONE"),
            ("SCAN_POLL_SECONDS", "0"),
            ("SCAN_POLL_SECONDS", "many"),
            ("SCAN_WAIT_MAX_SECONDS", "-1"),
        ] {
            let error = from(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{name}={value}: {error}");
        }
    }
}
