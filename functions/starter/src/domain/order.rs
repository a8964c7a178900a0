//! In push order: whether a push may start, given the newest push already
//! started for the stack.
//!
//! Pushes are ordered by `repository.pushed_at`, the time GitHub's servers
//! recorded the push. It is set by GitHub, not by whoever pushes (unlike the
//! commit timestamps, which any client writes as it likes), and it arrives
//! inside the signed payload, so it cannot be forged on the way. Its unit is a
//! second: two pushes in the same second are ordered by their commits
//! instead, when the later one's `before` is the earlier one's `after` (it
//! was pushed on top of it). Two pushes of the same second that are not so
//! linked cannot be ordered, and the later to arrive is refused: starting it
//! might move `production` backwards, while refusing it only waits for the
//! next push.

use super::push::Push;

/// The newest push started so far (one record per stack, whatever the
/// branch: a branch change keeps comparing GitHub's push times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub pushed_at: i64,
    pub commit: String,
    pub delivery_id: String,
    /// Counts the starts; the Deploy stage promotes only a higher one.
    pub sequence: u64,
}

/// Why a push arrived too late to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("push {commit} (pushed at {pushed_at}) is {relation} push {head_commit} (pushed at {head_pushed_at}), which was already started: not started, so production cannot move back")]
pub struct Late {
    pub commit: String,
    pub pushed_at: i64,
    pub relation: &'static str,
    pub head_commit: String,
    pub head_pushed_at: i64,
}

/// `Ok` when `push` may start after `head`. The deliveries table applies the
/// same rule as one conditional write (`aws::deliveries::ADVANCE_CONDITION`),
/// so that two starters cannot both pass it; this function explains a refusal.
pub fn may_start(head: Option<&Head>, push: &Push) -> Result<(), Late> {
    let Some(head) = head else { return Ok(()) };
    let successor = push.pushed_at == head.pushed_at && push.before == head.commit;
    if head.delivery_id == push.delivery_id || push.pushed_at > head.pushed_at || successor {
        return Ok(());
    }
    Err(Late {
        commit: push.commit.clone(),
        pushed_at: push.pushed_at,
        relation: if push.pushed_at < head.pushed_at {
            "older than"
        } else {
            "of the same second as, and not pushed on top of,"
        },
        head_commit: head.commit.clone(),
        head_pushed_at: head.pushed_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    fn push(delivery: &str, before: &str, commit: &str, pushed_at: i64) -> Push {
        Push {
            delivery_id: delivery.into(),
            repository: "octo-org/app".into(),
            branch: "main".into(),
            before: before.into(),
            commit: commit.into(),
            pushed_at,
        }
    }

    fn head(delivery: &str, commit: &str, pushed_at: i64) -> Head {
        Head {
            pushed_at,
            commit: commit.into(),
            delivery_id: delivery.into(),
            sequence: 7,
        }
    }

    #[test]
    fn the_decision_table() {
        let h = head("d1", B, 100);
        let cases = [
            ("first push ever", None, push("d2", A, C, 50), true),
            ("newer", Some(&h), push("d2", B, C, 101), true),
            ("older", Some(&h), push("d0", A, A, 99), false),
            (
                "same second, on top of the head",
                Some(&h),
                push("d2", B, C, 100),
                true,
            ),
            (
                "same second, not on top",
                Some(&h),
                push("d2", A, C, 100),
                false,
            ),
            (
                "the head's own delivery again",
                Some(&h),
                push("d1", A, B, 100),
                true,
            ),
            (
                "the head's delivery retried after its start failed",
                Some(&h),
                push("d1", A, B, 90),
                true,
            ),
        ];
        for (name, head, push, expected) in cases {
            assert_eq!(may_start(head, &push).is_ok(), expected, "{name}");
        }
    }

    #[test]
    fn a_refusal_says_which_push_and_why() {
        let late = may_start(Some(&head("d1", B, 100)), &push("d0", A, A, 99)).unwrap_err();
        let text = late.to_string();
        assert!(
            text.contains(&format!("push {A} (pushed at 99) is older than push {B}")),
            "{text}"
        );
        assert!(text.contains("not started"), "{text}");
        let tie = may_start(Some(&head("d1", B, 100)), &push("d2", A, C, 100)).unwrap_err();
        assert!(tie.to_string().contains("same second"), "{tie}");
    }
}
