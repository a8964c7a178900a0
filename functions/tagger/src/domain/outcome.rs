//! The job result the tagger reports to CodePipeline, and its messages.

use super::params::Digest;
use super::plan::TagPlan;

/// CodePipeline's failure types that the tagger uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The run failed (image missing, scan refused, time out, ...).
    JobFailed,
    /// The action or the function is configured wrongly.
    ConfigurationError,
    /// The function's role lacks a permission.
    PermissionError,
}

impl FailureKind {
    /// CodePipeline's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::JobFailed => "JobFailed",
            FailureKind::ConfigurationError => "ConfigurationError",
            FailureKind::PermissionError => "PermissionError",
        }
    }
}

/// The output variable with the digest that holds the tag afterwards.
pub const PROMOTED_DIGEST: &str = "PROMOTED_DIGEST";
/// The output variable with the digest that holds the rollback tag afterwards.
pub const PREVIOUS_DIGEST: &str = "PREVIOUS_DIGEST";
/// The value of PREVIOUS_DIGEST when no image holds the rollback tag.
pub const NO_PREVIOUS: &str = "none";

/// CodePipeline's limit for a failure message.
pub const MAX_MESSAGE: usize = 5000;
/// CodePipeline's limit for an execution summary.
pub const MAX_SUMMARY: usize = 2048;

/// The one result of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// PutJobSuccessResult with the output variables.
    Succeeded {
        summary: String,
        promoted: Digest,
        previous: Option<Digest>,
    },
    /// PutJobSuccessResult with a continuation token: CodePipeline invokes
    /// the function again with that token.
    InProgress { summary: String, token: String },
    /// PutJobFailureResult.
    Failed { kind: FailureKind, message: String },
}

impl JobOutcome {
    /// A failure from an error: its failure type and its message.
    pub fn failed(error: &crate::error::Error) -> Self {
        JobOutcome::Failed {
            kind: error.failure_kind(),
            message: error.to_string(),
        }
    }

    /// The output variables of a success (none while in progress: CodePipeline
    /// accepts them only with the final result).
    pub fn output_variables(&self) -> Vec<(&'static str, String)> {
        match self {
            JobOutcome::Succeeded {
                promoted, previous, ..
            } => vec![
                (PROMOTED_DIGEST, promoted.to_string()),
                (
                    PREVIOUS_DIGEST,
                    previous
                        .as_ref()
                        .map_or_else(|| NO_PREVIOUS.to_owned(), Digest::to_string),
                ),
            ],
            _ => Vec::new(),
        }
    }

    /// A one-word name for logs.
    pub fn label(&self) -> &'static str {
        match self {
            JobOutcome::Succeeded { .. } => "succeeded",
            JobOutcome::InProgress { .. } => "in_progress",
            JobOutcome::Failed { .. } => "failed",
        }
    }
}

/// Notes that go into a success summary besides the tag moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// Set when no digest was given and the newest image was used.
    pub fallback: Option<String>,
    /// The scan part: counts, gate off, or a warning.
    pub scan: Option<String>,
    /// Which commit (and push) was promoted.
    pub commit: Option<String>,
}

/// The summary of a promotion, e.g. "production -> sha256:b…; production-previous -> sha256:a…".
pub fn success_summary(
    repository: &str,
    tag: &str,
    previous_tag: &str,
    plan: &TagPlan,
    notes: &Notes,
) -> String {
    let mut parts = Vec::new();
    if let Some(fallback) = &notes.fallback {
        parts.push(fallback.clone());
    }
    if plan.unchanged {
        parts.push(format!(
            "{repository}:{tag} was already {}; unchanged",
            plan.promoted
        ));
    } else {
        parts.push(format!("{repository}:{tag} -> {}", plan.promoted));
    }
    match &plan.previous {
        Some(previous) => parts.push(format!("{previous_tag} -> {previous}")),
        None => parts.push(format!("no {previous_tag} (first promotion)")),
    }
    if let Some(commit) = &notes.commit {
        parts.push(commit.clone());
    }
    if let Some(scan) = &notes.scan {
        parts.push(scan.clone());
    }
    truncate(&parts.join("; "), MAX_SUMMARY)
}

/// Cuts text to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    const MARK: &str = " …";
    let mut end = max.saturating_sub(MARK.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::plan::plan;

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    #[test]
    fn output_variables_name_both_digests_and_none_when_there_is_no_previous() {
        let first = JobOutcome::Succeeded {
            summary: String::new(),
            promoted: d('a'),
            previous: None,
        };
        assert_eq!(
            first.output_variables(),
            vec![
                ("PROMOTED_DIGEST", d('a').to_string()),
                ("PREVIOUS_DIGEST", "none".to_owned())
            ]
        );
        let waiting = JobOutcome::InProgress {
            summary: String::new(),
            token: "t".into(),
        };
        assert!(waiting.output_variables().is_empty());
    }

    #[test]
    fn summaries_say_what_moved_and_why() {
        let p = plan(
            &d('b'),
            "production",
            "production-previous",
            Some(&d('a')),
            None,
        );
        let notes = Notes {
            fallback: Some("no digest given: used the newest image".into()),
            scan: Some("scan: CRITICAL 0".into()),
            commit: Some("commit 6113728f27ae82c7b1a177c8d03f9e96e0adf246 (push 3)".into()),
        };
        let s = success_summary("images-x", "production", "production-previous", &p, &notes);
        assert_eq!(
            s,
            format!(
                "no digest given: used the newest image; images-x:production -> {}; production-previous -> {}; commit 6113728f27ae82c7b1a177c8d03f9e96e0adf246 (push 3); scan: CRITICAL 0",
                d('b'),
                d('a')
            )
        );
        let same = plan(
            &d('a'),
            "production",
            "production-previous",
            Some(&d('a')),
            None,
        );
        let s = success_summary(
            "images-x",
            "production",
            "production-previous",
            &same,
            &Notes::default(),
        );
        assert!(
            s.contains("was already") && s.contains("no production-previous"),
            "{s}"
        );
    }

    #[test]
    fn truncation_respects_limits_and_characters() {
        assert_eq!(truncate("short", 10), "short");
        let long = "é".repeat(3000);
        let cut = truncate(&long, MAX_MESSAGE);
        assert!(cut.len() <= MAX_MESSAGE);
        assert!(cut.ends_with(" …"));
    }
}
