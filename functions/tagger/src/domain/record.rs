//! The production record: the one source of truth for what a tag (by
//! default `production`) holds. ECR's tags converge to it.
//!
//! - **Promotion** moves the record to a push's image with one conditional
//!   write: the push's sequence must be strictly greater than the record's,
//!   no hold may be set, and the record must still say what was read
//!   ([`Condition`]). A by-hand execution (no push) skips the sequence rule
//!   and keeps the record's sequence.
//! - **Rollback** moves the record to a named image with one conditional
//!   write on the digest it read (and the operator's `expect`), sets the
//!   hold, and keeps the sequence: a job of the rolled-back push, retried
//!   after the release, is not newer and stays out. A rollback to the image
//!   the record already names writes nothing and sets no hold.
//! - **Convergence**: whoever wrote the record moves the ECR tags to it
//!   ([`converge`]), then reads the record again and repeats while they
//!   differ; every invocation of the tagger, of any kind, first does the
//!   same. So a promotion that ran alongside a rollback cannot leave its
//!   digest on the tag, and a crash between the record and the tags is
//!   repaired by the next invocation. The record alone decides a rollback:
//!   no state of ECR can refuse it.

use super::params::PushOrder;
use super::production::Hold;

/// The record of one tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Record {
    /// The image the tag holds.
    pub digest: Option<String>,
    /// The image it held before the last promotion (`<tag>-previous`).
    pub previous: Option<String>,
    /// The highest push sequence ever promoted (a rollback keeps it).
    pub sequence: Option<u64>,
    /// The commit of that push.
    pub commit: Option<String>,
    pub hold: Option<Hold>,
}

/// A write's condition on the stored record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    /// The record still names this digest (`None`: no digest at all).
    pub digest_was: Option<String>,
    /// For a promotion: no hold, and (for a push) a sequence strictly
    /// greater than the stored one.
    pub promotion: Option<Promotion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Promotion {
    /// The push's sequence; `None` for an execution started by hand.
    pub sequence: Option<u64>,
}

impl Condition {
    /// What the table's condition expression decides, as a function.
    pub fn holds(&self, stored: &Record) -> bool {
        if stored.digest != self.digest_was {
            return false;
        }
        match &self.promotion {
            None => true,
            Some(promotion) => {
                stored.hold.is_none()
                    && match (promotion.sequence, stored.sequence) {
                        (Some(ours), Some(theirs)) => theirs < ours,
                        _ => true,
                    }
            }
        }
    }
}

/// A conditional write: the record to store if `condition` holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Write {
    pub next: Record,
    pub condition: Condition,
}

/// Why a promotion leaves the record as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NotPromoted {
    /// A rollback holds the tag.
    Held(Hold),
    /// The record already holds this push's image (the same job again).
    Already,
    /// A newer push, or this same push before a rollback moved the tag
    /// away from it, was promoted.
    NotNewer { commit: String, sequence: u64 },
}

/// What a promotion of `digest` (of `push`, when a push started it) does
/// with the record it read.
pub fn plan_promotion(
    record: &Record,
    digest: &str,
    push: Option<&PushOrder>,
) -> Result<Write, NotPromoted> {
    if let Some(hold) = &record.hold {
        return Err(NotPromoted::Held(hold.clone()));
    }
    let same_image = record.digest.as_deref() == Some(digest);
    if let (Some(push), Some(stored)) = (push, record.sequence) {
        if stored >= push.sequence {
            return Err(if stored == push.sequence && same_image {
                NotPromoted::Already
            } else {
                NotPromoted::NotNewer {
                    commit: record.commit.clone().unwrap_or_default(),
                    sequence: stored,
                }
            });
        }
    }
    if same_image && push.is_none() {
        return Err(NotPromoted::Already);
    }
    let next = Record {
        digest: Some(digest.to_owned()),
        previous: if same_image {
            record.previous.clone()
        } else {
            record.digest.clone().or_else(|| record.previous.clone())
        },
        sequence: push.map(|p| p.sequence).or(record.sequence),
        commit: push
            .map(|p| p.commit.clone())
            .or_else(|| record.commit.clone()),
        hold: None,
    };
    Ok(Write {
        next,
        condition: Condition {
            digest_was: record.digest.clone(),
            promotion: Some(Promotion {
                sequence: push.map(|p| p.sequence),
            }),
        },
    })
}

/// The operator's rollback cannot go ahead.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Moved {
    pub expected: String,
    pub found: Option<String>,
}

/// What a rollback to `target` does with the record it read: `Ok(None)`
/// when the record already names `target` (nothing written, no hold set),
/// otherwise the write. `expect`, the operator's own expectation of what
/// the tag holds, must match the record unless it already names `target`.
pub fn plan_rollback(
    record: &Record,
    target: &str,
    expect: Option<&str>,
    hold: Hold,
) -> Result<Option<Write>, Moved> {
    if record.digest.as_deref() == Some(target) {
        return Ok(None);
    }
    if let Some(expected) = expect {
        if record.digest.as_deref() != Some(expected) {
            return Err(Moved {
                expected: expected.to_owned(),
                found: record.digest.clone(),
            });
        }
    }
    let next = Record {
        digest: Some(target.to_owned()),
        hold: Some(Hold {
            to: target.to_owned(),
            from: record.digest.clone(),
            ..hold
        }),
        ..record.clone()
    };
    Ok(Some(Write {
        next,
        condition: Condition {
            digest_was: record.digest.clone(),
            promotion: None,
        },
    }))
}

/// Which of the two tags a move is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagRole {
    /// `<tag>-previous`.
    Previous,
    /// The tag itself.
    Current,
}

/// The ECR tag moves that make the tags agree with `record`, given the
/// digests they hold now: `<tag>-previous` first, then the tag. A record
/// without a digest (nothing promoted through it yet) moves nothing.
pub fn converge(
    record: &Record,
    holder: Option<&str>,
    previous_holder: Option<&str>,
) -> Vec<(TagRole, String)> {
    let mut moves = Vec::new();
    if record.digest.is_none() {
        return moves;
    }
    if let Some(previous) = &record.previous {
        if previous_holder != Some(previous.as_str()) {
            moves.push((TagRole::Previous, previous.clone()));
        }
    }
    if let Some(digest) = &record.digest {
        if holder != Some(digest.as_str()) {
            moves.push((TagRole::Current, digest.clone()));
        }
    }
    moves
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn push(sequence: u64) -> PushOrder {
        PushOrder {
            commit: format!("c{sequence}"),
            sequence,
        }
    }

    fn hold() -> Hold {
        Hold {
            since: "t".into(),
            to: String::new(),
            from: None,
        }
    }

    fn promoted(record: &Record, digest: &str, sequence: u64) -> Record {
        let write = plan_promotion(record, digest, Some(&push(sequence))).unwrap();
        assert!(write.condition.holds(record));
        write.next
    }

    #[test]
    fn promotion_moves_forward_only_and_keeps_the_previous_image() {
        let r1 = promoted(&Record::default(), "d1", 1);
        assert_eq!(r1.previous, None);
        let r2 = promoted(&r1, "d2", 2);
        assert_eq!(
            (r2.digest.as_deref(), r2.previous.as_deref()),
            (Some("d2"), Some("d1"))
        );
        assert_eq!(
            plan_promotion(&r2, "d1", Some(&push(1))),
            Err(NotPromoted::NotNewer {
                commit: "c2".into(),
                sequence: 2
            })
        );
        assert_eq!(
            plan_promotion(&r2, "d2", Some(&push(2))),
            Err(NotPromoted::Already)
        );
        // The same image built again by a newer push: sequence advances,
        // the previous image stays.
        let r3 = promoted(&r2, "d2", 3);
        assert_eq!((r3.previous.as_deref(), r3.sequence), (Some("d1"), Some(3)));
    }

    #[test]
    fn an_equal_sequence_never_promotes_again_after_a_rollback() {
        let r2 = promoted(&promoted(&Record::default(), "d1", 1), "d2", 2);
        let rolled = plan_rollback(&r2, "d1", None, hold())
            .unwrap()
            .unwrap()
            .next;
        let released = Record {
            hold: None,
            ..rolled
        };
        assert!(matches!(
            plan_promotion(&released, "d2", Some(&push(2))),
            Err(NotPromoted::NotNewer { sequence: 2, .. })
        ));
        assert!(plan_promotion(&released, "d3", Some(&push(3))).is_ok());
    }

    #[test]
    fn a_rollback_holds_and_a_noop_rollback_writes_nothing() {
        let r2 = promoted(&promoted(&Record::default(), "d1", 1), "d2", 2);
        assert_eq!(plan_rollback(&r2, "d2", None, hold()), Ok(None));
        let write = plan_rollback(&r2, "d1", None, hold()).unwrap().unwrap();
        let h = write.next.hold.clone().unwrap();
        assert_eq!((h.to.as_str(), h.from.as_deref()), ("d1", Some("d2")));
        assert_eq!(
            write.next.sequence,
            Some(2),
            "a rollback keeps the sequence"
        );
        assert!(matches!(
            plan_promotion(&write.next, "d3", Some(&push(3))),
            Err(NotPromoted::Held(_))
        ));
        assert_eq!(
            plan_rollback(&r2, "d1", Some("d9"), hold()),
            Err(Moved {
                expected: "d9".into(),
                found: Some("d2".into())
            })
        );
    }

    #[test]
    fn conditions_compare_the_digest_read_the_hold_and_the_sequence() {
        let r2 = promoted(&promoted(&Record::default(), "d1", 1), "d2", 2);
        let write = plan_promotion(&r2, "d3", Some(&push(3))).unwrap();
        assert!(write.condition.holds(&r2));
        // Someone else wrote in between.
        let r2b = Record {
            digest: Some("d9".into()),
            ..r2.clone()
        };
        assert!(!write.condition.holds(&r2b));
        let held = Record {
            hold: Some(hold()),
            ..r2.clone()
        };
        assert!(!write.condition.holds(&held));
        let newer = Record {
            sequence: Some(3),
            ..r2.clone()
        };
        assert!(!write.condition.holds(&newer));
    }

    #[test]
    fn convergence_moves_only_what_differs() {
        let record = Record {
            digest: Some("d2".into()),
            previous: Some("d1".into()),
            ..Record::default()
        };
        assert_eq!(converge(&record, Some("d2"), Some("d1")), vec![]);
        assert_eq!(
            converge(&record, Some("d1"), None),
            vec![
                (TagRole::Previous, "d1".into()),
                (TagRole::Current, "d2".into())
            ]
        );
        assert_eq!(converge(&Record::default(), Some("d1"), None), vec![]);
    }
}
