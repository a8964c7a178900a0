//! What the tagger announces on the notification topic: a promotion refused
//! by the scan gate, a build held after a rollback, and (when asked for)
//! each promotion. Everything else is said by the pipeline's own failure
//! rule or not at all.

use super::outcome::JobOutcome;
use super::params::Parameters;
use super::production::NOT_PROMOTED_PREFIX;
use super::scan::REFUSAL_PREFIX;

/// SNS's limit for a subject (ASCII, no line breaks).
const MAX_SUBJECT: usize = 100;

/// One message for the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub message: String,
}

fn subject(what: &str, repository: &str) -> String {
    let text: String = format!("{what}: {repository}")
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    text.chars().take(MAX_SUBJECT).collect()
}

/// The notice for a job's outcome, if it is one to announce. `params` are
/// the job's UserParameters (when they parse), for the repository and commit.
pub fn notice(
    params: Option<&Parameters>,
    outcome: &JobOutcome,
    on_promotion: bool,
) -> Option<Notice> {
    let repository = params.map_or("the repository", |p| p.repository.as_str());
    let commit = params
        .and_then(|p| p.push.as_ref())
        .map(|p| format!(" (commit {}, push {})", p.commit, p.sequence))
        .unwrap_or_default();
    match outcome {
        JobOutcome::Failed { message, .. } if message.starts_with(REFUSAL_PREFIX) => Some(Notice {
            subject: subject("Promotion refused", repository),
            message: format!("{repository}{commit}: {message}"),
        }),
        JobOutcome::Succeeded { summary, .. } if summary.starts_with(NOT_PROMOTED_PREFIX) => {
            summary.contains("held since").then(|| Notice {
                subject: subject("Promotion held", repository),
                message: format!("{repository}: {summary}"),
            })
        }
        JobOutcome::Succeeded { summary, .. } if on_promotion => Some(Notice {
            subject: subject("Promoted", repository),
            message: format!("{repository}: {summary}"),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::outcome::FailureKind;
    use crate::domain::params::{parse_user_parameters, Digest};

    const D: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const COMMIT: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

    fn params() -> Parameters {
        parse_user_parameters(Some(&format!(
            r#"{{"repository":"images-dev","digest":"{D}","commit":"{COMMIT}","sequence":"12"}}"#
        )))
        .unwrap()
    }

    fn succeeded(summary: &str) -> JobOutcome {
        JobOutcome::Succeeded {
            summary: summary.to_owned(),
            promoted: Digest::parse(D).unwrap(),
            previous: None,
        }
    }

    #[test]
    fn a_refusal_is_announced_with_the_counts_and_the_commit() {
        let outcome = JobOutcome::Failed {
            kind: FailureKind::JobFailed,
            message: format!("{REFUSAL_PREFIX}: {D} has 2 finding(s) of severity CRITICAL or worse (CRITICAL 2, HIGH 5, MEDIUM 0, LOW 0)"),
        };
        let n = notice(Some(&params()), &outcome, false).unwrap();
        assert_eq!(n.subject, "Promotion refused: images-dev");
        assert_eq!(
            n.message,
            format!("images-dev (commit {COMMIT}, push 12): {REFUSAL_PREFIX}: {D} has 2 finding(s) of severity CRITICAL or worse (CRITICAL 2, HIGH 5, MEDIUM 0, LOW 0)")
        );
    }

    #[test]
    fn a_held_build_is_announced_and_an_older_push_is_not() {
        let held = succeeded(&format!("{NOT_PROMOTED_PREFIX}: images-dev@{D} stays out of production, which is held since 2026-12-02T01:00:00Z after a rollback to {D}"));
        let n = notice(Some(&params()), &held, false).unwrap();
        assert_eq!(n.subject, "Promotion held: images-dev");
        assert!(
            n.message.starts_with("images-dev: built, not promoted"),
            "{}",
            n.message
        );
        let older = succeeded(&format!(
            "{NOT_PROMOTED_PREFIX}: images-dev@{D} is commit {COMMIT} (push 3), older than …"
        ));
        assert_eq!(notice(Some(&params()), &older, true), None);
    }

    #[test]
    fn promotions_are_announced_only_when_asked_for() {
        let promoted = succeeded(&format!(
            "images-dev:production -> {D}; no production-previous (first promotion)"
        ));
        assert_eq!(notice(Some(&params()), &promoted, false), None);
        let n = notice(Some(&params()), &promoted, true).unwrap();
        assert_eq!(n.subject, "Promoted: images-dev");
        assert!(n.message.contains("production ->"), "{}", n.message);
        // Other failures are the pipeline rule's to announce.
        let failed = JobOutcome::Failed {
            kind: FailureKind::JobFailed,
            message: "no image sha256:… in the ECR repository".into(),
        };
        assert_eq!(notice(Some(&params()), &failed, true), None);
    }

    #[test]
    fn subjects_fit_sns() {
        let long = "r".repeat(256);
        let s = subject("Promotion refused", &long);
        assert_eq!(s.len(), MAX_SUBJECT);
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    }
}
