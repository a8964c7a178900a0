//! The function's configuration, read once from the environment.

use crate::domain::scan::{ScanGate, WaitLimits};
use crate::error::Error;

/// Default for SCAN_WAIT_MAX_CHECKS.
pub const DEFAULT_MAX_CHECKS: u32 = 60;
/// Default for SCAN_WAIT_MAX_SECONDS (CodePipeline gives a Lambda action an hour).
pub const DEFAULT_MAX_SECONDS: u64 = 1800;

/// Settings from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// SCAN_GATE.
    pub scan_gate: ScanGate,
    /// SCAN_WAIT_MAX_CHECKS and SCAN_WAIT_MAX_SECONDS.
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
        let max_checks = number(&lookup, "SCAN_WAIT_MAX_CHECKS", DEFAULT_MAX_CHECKS)?;
        let max_seconds = number(&lookup, "SCAN_WAIT_MAX_SECONDS", DEFAULT_MAX_SECONDS)?;
        Ok(Self {
            scan_gate,
            wait_limits: WaitLimits {
                max_checks,
                max_seconds,
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
        assert_eq!(config.wait_limits.max_checks, DEFAULT_MAX_CHECKS);
        assert_eq!(config.wait_limits.max_seconds, DEFAULT_MAX_SECONDS);
    }

    #[test]
    fn settings_are_read() {
        let config = from(&[
            ("SCAN_GATE", "HIGH"),
            ("SCAN_WAIT_MAX_CHECKS", "5"),
            ("SCAN_WAIT_MAX_SECONDS", "90"),
        ])
        .unwrap();
        assert_eq!(config.scan_gate, ScanGate::AtLeast(Severity::High));
        assert_eq!(config.wait_limits.max_checks, 5);
        assert_eq!(config.wait_limits.max_seconds, 90);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("SCAN_GATE", "NONE"),
            ("SCAN_WAIT_MAX_CHECKS", "0"),
            ("SCAN_WAIT_MAX_CHECKS", "many"),
            ("SCAN_WAIT_MAX_SECONDS", "-1"),
        ] {
            let error = from(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{name}={value}: {error}");
        }
    }
}
