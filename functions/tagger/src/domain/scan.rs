//! The image scan gate: the threshold, the verdict on a scan result, and the
//! bounded wait for a scan that has not finished (carried in CodePipeline's
//! continuation token).

use serde::{Deserialize, Serialize};

use super::params::Digest;
use crate::error::Error;

/// A finding severity that can block a promotion, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The name ECR and SCAN_GATE use.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// The SCAN_GATE setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanGate {
    /// No scan is consulted.
    Off,
    /// Refuse when any finding of this severity or worse exists.
    AtLeast(Severity),
}

impl ScanGate {
    /// Parses SCAN_GATE (case-insensitive); absent or empty means CRITICAL.
    pub fn parse(value: Option<&str>) -> Result<Self, Error> {
        let value = value.map(str::trim).unwrap_or_default();
        match value.to_ascii_uppercase().as_str() {
            "" | "CRITICAL" => Ok(ScanGate::AtLeast(Severity::Critical)),
            "HIGH" => Ok(ScanGate::AtLeast(Severity::High)),
            "MEDIUM" => Ok(ScanGate::AtLeast(Severity::Medium)),
            "LOW" => Ok(ScanGate::AtLeast(Severity::Low)),
            "OFF" => Ok(ScanGate::Off),
            _ => Err(Error::InvalidEnvironment {
                name: "SCAN_GATE",
                reason: format!("{value:?} is not one of CRITICAL, HIGH, MEDIUM, LOW, OFF"),
            }),
        }
    }
}

/// Finding counts by severity, as ECR's findingSeverityCounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeverityCounts {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub informational: u32,
    pub undefined: u32,
}

impl SeverityCounts {
    /// Findings of `severity` or worse.
    pub fn at_least(&self, severity: Severity) -> u32 {
        let mut total = self.critical;
        if severity <= Severity::High {
            total += self.high;
        }
        if severity <= Severity::Medium {
            total += self.medium;
        }
        if severity <= Severity::Low {
            total += self.low;
        }
        total
    }

    /// Adds another image's counts (the platforms of a multi-platform image).
    pub fn add(&mut self, other: &SeverityCounts) {
        self.critical += other.critical;
        self.high += other.high;
        self.medium += other.medium;
        self.low += other.low;
        self.informational += other.informational;
        self.undefined += other.undefined;
    }

    /// "CRITICAL 1, HIGH 2, MEDIUM 0, LOW 3, INFORMATIONAL 0, UNDEFINED 0".
    pub fn describe(&self) -> String {
        format!(
            "CRITICAL {}, HIGH {}, MEDIUM {}, LOW {}, INFORMATIONAL {}, UNDEFINED {}",
            self.critical, self.high, self.medium, self.low, self.informational, self.undefined
        )
    }
}

/// What ECR says about the scan of one image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanState {
    /// Finished (COMPLETE, or ACTIVE for continuous scanning) with these counts.
    Complete(SeverityCounts),
    /// Not finished yet (PENDING, IN_PROGRESS), with ECR's status.
    Pending(String),
    /// No scan exists (yet): ScanNotFoundException.
    NotFound,
    /// The scanner does not support the image (UNSUPPORTED_IMAGE, or a
    /// basic scan FAILED with "UnsupportedImageError").
    Unsupported(String),
    /// Any other end state (FAILED, FINDINGS_UNAVAILABLE, LIMIT_EXCEEDED, ...).
    Unusable(String),
}

/// Maps ECR's scan status and description to a [`ScanState`].
pub fn classify(status: &str, description: Option<&str>, counts: SeverityCounts) -> ScanState {
    let description = description.unwrap_or_default();
    let with_description = |status: &str| {
        if description.is_empty() {
            status.to_owned()
        } else {
            format!("{status}: {description}")
        }
    };
    match status {
        "COMPLETE" | "ACTIVE" => ScanState::Complete(counts),
        "PENDING" | "IN_PROGRESS" => ScanState::Pending(status.to_owned()),
        "UNSUPPORTED_IMAGE" => ScanState::Unsupported(with_description(status)),
        "FAILED" if description.contains("UnsupportedImageError") => {
            ScanState::Unsupported(with_description(status))
        }
        _ => ScanState::Unusable(with_description(status)),
    }
}

/// The gate's answer for the image being promoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Promote; the counts (if scanned) go into the summary.
    Pass(Option<SeverityCounts>),
    /// Promote, with a warning in the job result.
    PassWithWarning(String),
    /// Do not promote: findings at or above the threshold.
    Refuse(SeverityCounts),
    /// Not decided yet: wait for the scan.
    Wait(String),
    /// Do not promote: the scan gave no usable result.
    Unusable(String),
}

/// The verdict for an image made of one or more scanned manifests (one for a
/// single-platform image, one per platform for a manifest list / index).
///
/// Any manifest still pending makes the image wait; then refusal by the
/// summed counts; then an unusable scan; unsupported manifests warn.
pub fn verdict(gate: ScanGate, states: &[(Digest, ScanState)]) -> Verdict {
    let ScanGate::AtLeast(threshold) = gate else {
        return Verdict::Pass(None);
    };
    let mut counts = SeverityCounts::default();
    let mut waiting = Vec::new();
    let mut unusable = Vec::new();
    let mut unsupported = Vec::new();
    for (digest, state) in states {
        match state {
            ScanState::Complete(c) => counts.add(c),
            ScanState::Pending(status) => waiting.push(format!("{digest} {status}")),
            ScanState::NotFound => waiting.push(format!("{digest} not scanned yet")),
            ScanState::Unsupported(why) => unsupported.push(format!("{digest} ({why})")),
            ScanState::Unusable(why) => unusable.push(format!("{digest} ({why})")),
        }
    }
    if !waiting.is_empty() {
        return Verdict::Wait(waiting.join("; "));
    }
    if counts.at_least(threshold) > 0 {
        return Verdict::Refuse(counts);
    }
    if !unusable.is_empty() {
        return Verdict::Unusable(unusable.join("; "));
    }
    if !unsupported.is_empty() {
        return Verdict::PassWithWarning(format!(
            "the image scanner does not support {}: promoted without a scan verdict",
            unsupported.join("; ")
        ));
    }
    Verdict::Pass(Some(counts))
}

/// How a refusal message begins (the notification picks it out by this).
pub const REFUSAL_PREFIX: &str = "promotion refused by the scan gate";

/// The refusal message: the counts, the threshold, and what to do.
pub fn refusal_message(digest: &Digest, threshold: Severity, counts: &SeverityCounts) -> String {
    format!(
        "{REFUSAL_PREFIX}: {digest} has {} finding(s) of severity {} or worse ({}); fix the vulnerabilities and push again, or change the function's SCAN_GATE (CRITICAL, HIGH, MEDIUM, LOW, OFF)",
        counts.at_least(threshold),
        threshold.as_str(),
        counts.describe()
    )
}

/// How long to wait for a scan, and how often to look.
///
/// The bound is time only: how soon CodePipeline invokes the action again
/// after a continuation token is not documented, so a count of invocations
/// would bound nothing. Within one invocation the tagger looks every `poll`
/// while the invocation has time left, then hands back a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitLimits {
    /// The most seconds since the first check (SCAN_WAIT_MAX_SECONDS).
    pub max_seconds: u64,
    /// The pause between two checks within one invocation (SCAN_POLL_SECONDS).
    pub poll: std::time::Duration,
}

/// What the tagger carries from one invocation to the next while it waits:
/// the serialised form is CodePipeline's continuation token (at most 2048
/// characters; this is about 130).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitState {
    /// Format version.
    pub v: u32,
    /// The digest being promoted, resolved on the first invocation (so a
    /// fallback to the newest image stays on the same image).
    pub digest: String,
    /// How many checks have been made so far.
    pub checks: u32,
    /// When the first check was made (seconds since the Unix epoch).
    pub since: u64,
}

impl WaitState {
    /// The continuation token text.
    pub fn to_token(&self) -> String {
        // A struct of a string and numbers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a continuation token written by [`WaitState::to_token`].
    pub fn from_token(token: &str) -> Result<Self, Error> {
        serde_json::from_str(token).map_err(Error::MalformedContinuationToken)
    }
}

/// After a check that said "wait": the state to carry on with, or the
/// message to fail with when the time bound is reached.
pub fn next_wait(
    previous: Option<&WaitState>,
    digest: &Digest,
    now: u64,
    limits: WaitLimits,
    why: &str,
) -> Result<WaitState, String> {
    let (checks, since) = match previous {
        Some(state) => (state.checks.saturating_add(1), state.since),
        None => (1, now),
    };
    let waited = now.saturating_sub(since);
    if waited >= limits.max_seconds {
        return Err(format!(
            "gave up waiting for the image scan of {digest} after {checks} check(s) over {waited} s (limit: SCAN_WAIT_MAX_SECONDS={}, the stack's ScanWaitSeconds); last status: {why}. Check that scan on push is enabled on the repository, or set SCAN_GATE=OFF to promote without a scan",
            limits.max_seconds
        ));
    }
    Ok(WaitState {
        v: 1,
        digest: digest.as_str().to_owned(),
        checks,
        since,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    fn counts(critical: u32, high: u32, medium: u32, low: u32) -> SeverityCounts {
        SeverityCounts {
            critical,
            high,
            medium,
            low,
            informational: 4,
            undefined: 1,
        }
    }

    #[test]
    fn scan_gate_parses_every_setting_and_defaults_to_critical() {
        assert_eq!(
            ScanGate::parse(None).unwrap(),
            ScanGate::AtLeast(Severity::Critical)
        );
        assert_eq!(
            ScanGate::parse(Some("")).unwrap(),
            ScanGate::AtLeast(Severity::Critical)
        );
        assert_eq!(
            ScanGate::parse(Some("high")).unwrap(),
            ScanGate::AtLeast(Severity::High)
        );
        assert_eq!(
            ScanGate::parse(Some(" MEDIUM ")).unwrap(),
            ScanGate::AtLeast(Severity::Medium)
        );
        assert_eq!(
            ScanGate::parse(Some("LOW")).unwrap(),
            ScanGate::AtLeast(Severity::Low)
        );
        assert_eq!(ScanGate::parse(Some("off")).unwrap(), ScanGate::Off);
        let error = ScanGate::parse(Some("SEVERE")).unwrap_err().to_string();
        assert!(
            error.contains("SCAN_GATE") && error.contains("SEVERE"),
            "{error}"
        );
    }

    /// Each threshold against each severity: refuse exactly when a finding is
    /// at the threshold or worse.
    #[test]
    fn thresholds_mean_that_severity_or_worse() {
        let table = [
            (Severity::Critical, counts(0, 9, 9, 9), false),
            (Severity::Critical, counts(1, 0, 0, 0), true),
            (Severity::High, counts(0, 0, 9, 9), false),
            (Severity::High, counts(0, 1, 0, 0), true),
            (Severity::High, counts(1, 0, 0, 0), true),
            (Severity::Medium, counts(0, 0, 0, 9), false),
            (Severity::Medium, counts(0, 0, 1, 0), true),
            (Severity::Low, counts(0, 0, 0, 0), false),
            (Severity::Low, counts(0, 0, 0, 1), true),
        ];
        for (threshold, c, refused) in table {
            let v = verdict(
                ScanGate::AtLeast(threshold),
                &[(d('a'), ScanState::Complete(c))],
            );
            assert_eq!(
                matches!(v, Verdict::Refuse(_)),
                refused,
                "{threshold:?} {c:?}: {v:?}"
            );
            if !refused {
                assert_eq!(v, Verdict::Pass(Some(c)));
            }
        }
    }

    #[test]
    fn informational_and_undefined_never_block() {
        let c = SeverityCounts {
            informational: 50,
            undefined: 50,
            ..SeverityCounts::default()
        };
        let v = verdict(
            ScanGate::AtLeast(Severity::Low),
            &[(d('a'), ScanState::Complete(c))],
        );
        assert_eq!(v, Verdict::Pass(Some(c)));
    }

    #[test]
    fn gate_off_passes_without_looking() {
        let v = verdict(
            ScanGate::Off,
            &[(d('a'), ScanState::Complete(counts(9, 9, 9, 9)))],
        );
        assert_eq!(v, Verdict::Pass(None));
    }

    #[test]
    fn ecr_statuses_are_classified() {
        let c = counts(1, 0, 0, 0);
        assert_eq!(classify("COMPLETE", None, c), ScanState::Complete(c));
        assert_eq!(classify("ACTIVE", None, c), ScanState::Complete(c));
        assert_eq!(
            classify("IN_PROGRESS", None, c),
            ScanState::Pending("IN_PROGRESS".into())
        );
        assert_eq!(
            classify("PENDING", None, c),
            ScanState::Pending("PENDING".into())
        );
        assert!(matches!(
            classify("UNSUPPORTED_IMAGE", None, c),
            ScanState::Unsupported(_)
        ));
        assert!(matches!(
            classify(
                "FAILED",
                Some("UnsupportedImageError: The operating system and/or package manager are not supported."),
                c
            ),
            ScanState::Unsupported(_)
        ));
        assert_eq!(
            classify("FAILED", Some("Internal error"), c),
            ScanState::Unusable("FAILED: Internal error".into())
        );
        assert_eq!(
            classify("FINDINGS_UNAVAILABLE", None, c),
            ScanState::Unusable("FINDINGS_UNAVAILABLE".into())
        );
    }

    #[test]
    fn multi_platform_images_combine_their_manifests() {
        let pending = verdict(
            ScanGate::AtLeast(Severity::Critical),
            &[
                (d('a'), ScanState::Complete(counts(1, 0, 0, 0))),
                (d('b'), ScanState::Pending("IN_PROGRESS".into())),
            ],
        );
        assert!(matches!(pending, Verdict::Wait(ref w) if w.contains("IN_PROGRESS")));

        let refused = verdict(
            ScanGate::AtLeast(Severity::High),
            &[
                (d('a'), ScanState::Complete(counts(0, 1, 0, 0))),
                (d('b'), ScanState::Complete(counts(0, 2, 0, 0))),
                (d('c'), ScanState::Unsupported("UNSUPPORTED_IMAGE".into())),
            ],
        );
        assert!(matches!(refused, Verdict::Refuse(c) if c.high == 3));

        let warned = verdict(
            ScanGate::AtLeast(Severity::Critical),
            &[
                (d('a'), ScanState::Complete(counts(0, 1, 0, 0))),
                (d('c'), ScanState::Unsupported("UNSUPPORTED_IMAGE".into())),
            ],
        );
        assert!(
            matches!(warned, Verdict::PassWithWarning(ref w) if w.contains("does not support"))
        );

        let unusable = verdict(
            ScanGate::AtLeast(Severity::Critical),
            &[
                (d('a'), ScanState::Complete(counts(0, 0, 0, 0))),
                (d('c'), ScanState::Unusable("FAILED".into())),
            ],
        );
        assert!(matches!(unusable, Verdict::Unusable(_)));
    }

    #[test]
    fn a_missing_scan_is_waited_for() {
        let v = verdict(
            ScanGate::AtLeast(Severity::Critical),
            &[(d('a'), ScanState::NotFound)],
        );
        assert!(matches!(v, Verdict::Wait(ref w) if w.contains("not scanned yet")));
    }

    #[test]
    fn the_refusal_lists_the_counts_and_the_way_out() {
        let m = refusal_message(&d('a'), Severity::High, &counts(1, 2, 3, 4));
        assert!(m.contains("3 finding(s) of severity HIGH or worse"), "{m}");
        assert!(m.contains("CRITICAL 1, HIGH 2, MEDIUM 3, LOW 4"), "{m}");
        assert!(m.contains("SCAN_GATE"), "{m}");
    }

    #[test]
    fn waiting_is_bounded_by_time_only() {
        let limits = WaitLimits {
            max_seconds: 600,
            poll: std::time::Duration::from_secs(15),
        };
        let first = next_wait(None, &d('a'), 1_000, limits, "IN_PROGRESS").unwrap();
        assert_eq!(
            first,
            WaitState {
                v: 1,
                digest: d('a').to_string(),
                checks: 1,
                since: 1_000
            }
        );
        // Many checks within the time are no reason to stop.
        let mut state = first.clone();
        for _ in 0..500 {
            state = next_wait(Some(&state), &d('a'), 1_599, limits, "IN_PROGRESS").unwrap();
        }
        assert_eq!((state.checks, state.since), (501, 1_000));
        // At the limit the wait ends, whatever the count.
        let late = next_wait(Some(&first), &d('a'), 1_600, limits, "PENDING").unwrap_err();
        assert!(
            late.contains("after 2 check(s) over 600 s")
                && late.contains("SCAN_WAIT_MAX_SECONDS=600")
                && late.contains("PENDING"),
            "{late}"
        );
    }

    #[test]
    fn the_continuation_token_round_trips_and_rejects_foreign_tokens() {
        let state = WaitState {
            v: 1,
            digest: d('a').to_string(),
            checks: 4,
            since: 1_700_000_000,
        };
        let token = state.to_token();
        assert!(token.len() < 2048);
        assert_eq!(WaitState::from_token(&token).unwrap(), state);
        assert!(WaitState::from_token("A continuation token if continuing job").is_err());
        assert!(WaitState::from_token(r#"{"v":1}"#).is_err());
    }
}
