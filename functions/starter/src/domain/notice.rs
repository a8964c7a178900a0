//! What the starter announces on the notification topic: every push that
//! passed the rule and was not started, with the reason. A repeat of a push
//! already handled is not announced again.

use super::order::Edge;
use super::push::{Push, Refusal};

/// SNS's limit for a subject (ASCII, no line breaks).
const MAX_SUBJECT: usize = 100;

/// One message for the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub message: String,
}

fn subject(what: &str, repository: &str) -> String {
    format!("{what}: {repository}")
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(MAX_SUBJECT)
        .collect()
}

/// A push not started because `by`, pushed after it, was started: as
/// CodePipeline's SUPERSEDED mode would, said out loud.
pub fn superseded(repository: &str, branch: &str, push: &Edge, by: &Edge) -> Notice {
    Notice {
        subject: subject("Push superseded", repository),
        message: format!(
            "{repository} {branch}: the push of commit {} (from {}) was not built: push of commit {} came after it and was started, and its build contains this one. Nothing is lost unless that push's history no longer holds commit {}; to build it anyway, push it again.",
            push.after, push.before, by.after, push.after
        ),
    }
}

/// The superseded notice for a push as the starter read it.
pub fn superseded_push(push: &Push, by: &Edge) -> Notice {
    superseded(&push.repository, &push.branch, &Edge::of(push), by)
}

/// An event the rule let through that is no push the pipeline can start.
pub fn refused(refusal: &Refusal) -> Notice {
    Notice {
        subject: subject("Push not started", "the push rule"),
        message: format!("An event matched the push rule but was not started: {refusal}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::push::PushId;

    #[test]
    fn a_superseded_notice_names_both_commits_and_what_to_do() {
        let edge = |before: &str, after: &str| Edge {
            id: PushId::from_text(after),
            before: before.into(),
            after: after.into(),
            pushed_at: None,
            forced: false,
        };
        let notice = superseded("octo/app", "main", &edge("z", "a"), &edge("a", "b"));
        assert_eq!(notice.subject, "Push superseded: octo/app");
        assert!(notice.message.contains("commit a (from z) was not built"));
        assert!(notice.message.contains("push of commit b came after it"));
        assert!(notice.message.contains("push it again"));
    }

    #[test]
    fn subjects_are_ascii_and_bounded() {
        let long = "é".repeat(10) + &"r".repeat(200);
        let s = subject("Push superseded", &long);
        assert!(s.len() <= MAX_SUBJECT && s.is_ascii(), "{s}");
    }

    #[test]
    fn a_refusal_says_why() {
        let notice = refused(&Refusal::Missing { field: "after" });
        assert!(
            notice.message.contains("the push has no after"),
            "{notice:?}"
        );
    }
}
