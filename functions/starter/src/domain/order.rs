//! Once, in push order, nothing dropped: what the starter does with a push,
//! given the deliveries table's `head` record.
//!
//! Only what GitHub signed decides. A push is its [`PushId`] (repository,
//! ref, `before`, `after`, `pushed_at`); the `X-GitHub-Delivery` header,
//! which GitHub does not sign, labels logs and nothing else. Pushes are
//! ordered by:
//!
//! 1. **the chain**: a push whose `before` is the current push's `after` was
//!    pushed on top of it, whatever its `pushed_at` says;
//! 2. **`repository.pushed_at`** (seconds, set by GitHub's servers, inside the
//!    signed body) when both pushes have one and they differ;
//! 3. **the chain backwards** within one second or without `pushed_at`: a
//!    push whose `after` is the `before` of a push already handled was
//!    pushed under it (superseded; not for a forced push, whose `after` may
//!    be any older commit), and a push that leaves from the `after` of a
//!    push handled before the current one is older than the current one;
//! 4. otherwise its predecessor has not arrived yet: it waits
//!    [`PATIENCE_SECONDS`] for it, then goes ahead.
//!
//! The head keeps the push started last (`current`, with its start lease or
//! execution) and the last [`REMEMBERED`] pushes handled, started or
//! superseded. It has no TTL: an old body replayed years later is still
//! judged against it. Every change to it is one conditional write on its
//! `version` ([`Head::version`] is compared by the table), so two starters
//! never both act on the same head.
//!
//! # Crash windows
//!
//! A start is a lease written into the head, then StartPipelineExecution,
//! then the execution id written into the head. A crash between the lease
//! and the start leaves a lease that ends ([`LEASE_SECONDS`], longer than
//! the function can run); whoever meets an ended lease first looks for the
//! push's execution in the pipeline ([`Decision::Settle`]): found, it is
//! recorded as started; not found, the push is started again (by its own
//! retry) or superseded by a newer push and announced. So no push is
//! started twice and none is lost.

use serde::{Deserialize, Serialize};

use super::push::{Push, PushId};

/// How long a start lease holds off other attempts: twice the function's
/// timeout (30 s in the template), so a live attempt is never overtaken.
pub const LEASE_SECONDS: i64 = 60;
/// How long a push whose predecessor has not arrived waits for it before
/// it goes ahead.
pub const PATIENCE_SECONDS: i64 = 15;
/// How many handled pushes the head remembers (besides the order that
/// `pushed_at` gives for ever).
pub const REMEMBERED: usize = 64;

const FUNCTION_TIMEOUT_SECONDS: i64 = 30;
const _: () = assert!(LEASE_SECONDS > FUNCTION_TIMEOUT_SECONDS);
const _: () = assert!(PATIENCE_SECONDS * 2 <= FUNCTION_TIMEOUT_SECONDS);

/// One push as the head remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edge {
    pub id: PushId,
    pub before: String,
    pub after: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

impl Edge {
    pub fn of(push: &Push) -> Self {
        Self {
            id: push.id.clone(),
            before: push.before.clone(),
            after: push.commit.clone(),
            pushed_at: push.pushed_at,
            forced: push.forced,
        }
    }
}

/// Where the current push's start is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StartState {
    /// An attempt holds the start until `lease_until` (epoch seconds); it
    /// took the lease at `since`.
    Starting {
        attempt: String,
        since: i64,
        lease_until: i64,
    },
    /// The pipeline execution that runs it.
    Started { execution: String },
    /// Its lease ended and the pipeline has no execution of it: never started.
    Interrupted,
}

/// The push started last.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Current {
    pub push: Edge,
    pub sequence: u64,
    pub start: StartState,
}

/// What became of a handled push.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// It was made current with this sequence.
    Started { sequence: u64 },
    /// It was not started: `by` was pushed on top of it (or after it).
    Superseded { by: Edge, announced: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Handled {
    pub push: Edge,
    pub fate: Fate,
}

/// The `head` record: the order's whole state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Head {
    /// Counts the record's writes; each write is conditional on it.
    #[serde(skip)]
    pub version: u64,
    /// The last sequence given to a start (`PUSH_SEQUENCE`).
    pub sequence: u64,
    pub current: Option<Current>,
    /// The last [`REMEMBERED`] pushes handled, oldest first.
    #[serde(default)]
    pub recent: Vec<Handled>,
    /// The latest `pushed_at` of a forced push handled (never forgotten):
    /// before it, the branch may have held a commit twice, so the chain
    /// cannot overrule an earlier `pushed_at` there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_at: Option<i64>,
}

/// What to do with a push.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Make it current with the next sequence, then start it.
    Start,
    /// It is current and this attempt holds its lease: start it.
    Proceed,
    /// It is current and was never started (its lease ended and the
    /// pipeline has no execution of it): take a new lease and start it.
    Resume,
    /// The current push's lease ended without an execution recorded: look
    /// for its execution in the pipeline ([`Head::settle`]), then decide again.
    Settle,
    /// Wait, then decide again: for its predecessor, or for the attempt
    /// that holds the current push's lease.
    Wait(Waiting),
    /// Already handled: nothing to do (or, for a superseded push whose
    /// notice was not sent, send it).
    Repeat(Fate),
    /// Not started: a push after it was started. Record and announce it.
    Superseded { by: Edge },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Waiting {
    /// Its `before` is no push the head knows.
    Predecessor { before: String },
    /// Another attempt is starting the current push until `lease_until`.
    Lease { lease_until: i64 },
}

/// Decides what `attempt` does with `push` at `now`. `patience_over` says
/// the push has waited [`PATIENCE_SECONDS`] for its predecessor.
pub fn decide(head: &Head, push: &Push, attempt: &str, now: i64, patience_over: bool) -> Decision {
    if let Some(current) = head.current.as_ref().filter(|c| c.push.id == push.id) {
        return match &current.start {
            StartState::Started { .. } => Repeat(Fate::Started {
                sequence: current.sequence,
            }),
            StartState::Interrupted => Decision::Resume,
            StartState::Starting {
                attempt: holder, ..
            } if holder == attempt => Decision::Proceed,
            StartState::Starting { lease_until, .. } if *lease_until >= now => {
                Decision::Wait(Waiting::Lease {
                    lease_until: *lease_until,
                })
            }
            StartState::Starting { .. } => Decision::Settle,
        };
    }
    if let Some(handled) = head.recent.iter().rev().find(|h| h.push.id == push.id) {
        return Repeat(handled.fate.clone());
    }
    let Some(current) = &head.current else {
        return Decision::Start;
    };
    match relation(head, current, push, patience_over) {
        Relation::Newer => match &current.start {
            StartState::Starting {
                attempt: holder,
                lease_until,
                ..
            } if holder != attempt && *lease_until >= now => Decision::Wait(Waiting::Lease {
                lease_until: *lease_until,
            }),
            StartState::Starting {
                attempt: holder, ..
            } if holder != attempt => Decision::Settle,
            _ => Decision::Start,
        },
        Relation::Older { by } => Decision::Superseded { by },
        Relation::Unknown => Decision::Wait(Waiting::Predecessor {
            before: push.before.clone(),
        }),
    }
}

use Decision::Repeat;

enum Relation {
    Newer,
    Older { by: Edge },
    Unknown,
}

/// Where `push` stands against the current push (the rules in the module doc).
fn relation(head: &Head, current: &Current, push: &Push, patience_over: bool) -> Relation {
    let on_top = push.before == current.push.after;
    if let (Some(pushed), Some(head_pushed)) = (push.pushed_at, current.push.pushed_at) {
        if pushed > head_pushed {
            return Relation::Newer;
        }
        // On top of the current push by the chain, though its clock says
        // earlier: trusted unless a forced push came after its time (the
        // branch may then have held the current push's commit twice).
        let rewound_since = head.forced_at.is_some_and(|forced| forced > pushed);
        if pushed < head_pushed && (!on_top || rewound_since) {
            return Relation::Older {
                by: current.push.clone(),
            };
        }
    }
    if on_top {
        return Relation::Newer;
    }
    if !push.forced {
        if let Some(under) = head
            .recent
            .iter()
            .rev()
            .find(|h| h.push.before == push.commit)
        {
            return Relation::Older {
                by: started_by(head, under),
            };
        }
    }
    let leaves_from_older = head
        .recent
        .iter()
        .any(|h| h.push.after == push.before && h.push.id != current.push.id);
    if leaves_from_older {
        return Relation::Older {
            by: current.push.clone(),
        };
    }
    if patience_over {
        Relation::Newer
    } else {
        Relation::Unknown
    }
}

/// The started push that a handled push stands for: itself, or the push
/// that superseded it.
fn started_by(head: &Head, handled: &Handled) -> Edge {
    match &handled.fate {
        Fate::Started { .. } => handled.push.clone(),
        Fate::Superseded { by, .. } => head
            .recent
            .iter()
            .find(|h| h.push.id == by.id)
            .map_or_else(|| by.clone(), |h| started_by(head, h)),
    }
}

impl Head {
    fn remember(&mut self, handled: Handled) {
        if handled.push.forced {
            self.forced_at = self.forced_at.max(handled.push.pushed_at);
        }
        self.recent.retain(|h| h.push.id != handled.push.id);
        self.recent.push(handled);
        let excess = self.recent.len().saturating_sub(REMEMBERED);
        self.recent.drain(..excess);
    }

    /// The head after [`Decision::Start`]: `push` is current with the next
    /// sequence, under `attempt`'s lease. A current push that was never
    /// started is superseded by it (and announced: see [`Head::unannounced`]).
    pub fn start(&self, push: &Push, attempt: &str, now: i64) -> Head {
        let mut next = self.clone();
        if let Some(current) = &self.current {
            if current.start == StartState::Interrupted {
                next.remember(Handled {
                    push: current.push.clone(),
                    fate: Fate::Superseded {
                        by: Edge::of(push),
                        announced: false,
                    },
                });
            }
        }
        next.sequence += 1;
        next.current = Some(Current {
            push: Edge::of(push),
            sequence: next.sequence,
            start: lease(attempt, now),
        });
        next.remember(Handled {
            push: Edge::of(push),
            fate: Fate::Started {
                sequence: next.sequence,
            },
        });
        next
    }

    /// The head after [`Decision::Resume`]: a new lease on the current push.
    pub fn resume(&self, attempt: &str, now: i64) -> Head {
        let mut next = self.clone();
        if let Some(current) = next.current.as_mut() {
            current.start = lease(attempt, now);
        }
        next
    }

    /// The head after the pipeline was searched for the current push's
    /// execution: `Some(id)` records it started, `None` records it never was.
    pub fn settle(&self, execution: Option<String>) -> Head {
        let mut next = self.clone();
        if let Some(current) = next.current.as_mut() {
            current.start = match execution {
                Some(execution) => StartState::Started { execution },
                None => StartState::Interrupted,
            };
        }
        next
    }

    /// The head after `attempt` started the current push `id` as `execution`;
    /// `None` when the head no longer shows this attempt's lease on it.
    pub fn started(&self, id: &PushId, attempt: &str, execution: &str) -> Option<Head> {
        let current = self.current.as_ref()?;
        let ours = current.push.id == *id
            && matches!(&current.start, StartState::Starting { attempt: a, .. } if a == attempt);
        ours.then(|| {
            let mut next = self.clone();
            if let Some(current) = next.current.as_mut() {
                current.start = StartState::Started {
                    execution: execution.to_owned(),
                };
            }
            next
        })
    }

    /// The head after [`Decision::Superseded`]: `push` remembered as
    /// superseded by `by`, not yet announced.
    pub fn supersede(&self, push: &Push, by: &Edge) -> Head {
        let mut next = self.clone();
        next.remember(Handled {
            push: Edge::of(push),
            fate: Fate::Superseded {
                by: by.clone(),
                announced: false,
            },
        });
        next
    }

    /// Superseded pushes whose notice has not been sent.
    pub fn unannounced(&self) -> Vec<(Edge, Edge)> {
        self.recent
            .iter()
            .filter_map(|h| match &h.fate {
                Fate::Superseded {
                    by,
                    announced: false,
                } => Some((h.push.clone(), by.clone())),
                _ => None,
            })
            .collect()
    }

    /// The head after the notice for `id` was sent.
    pub fn announced(&self, id: &PushId) -> Head {
        let mut next = self.clone();
        for handled in next.recent.iter_mut().filter(|h| h.push.id == *id) {
            if let Fate::Superseded { announced, .. } = &mut handled.fate {
                *announced = true;
            }
        }
        next
    }
}

fn lease(attempt: &str, now: i64) -> StartState {
    StartState::Starting {
        attempt: attempt.to_owned(),
        since: now,
        lease_until: now + LEASE_SECONDS,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const Z: &str = "0000000000000000000000000000000000000001";
    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    fn push(before: &str, after: &str, pushed_at: Option<i64>, forced: bool) -> Push {
        Push {
            id: PushId::of("o/r", "refs/heads/main", before, after, pushed_at),
            delivery_id: "d".into(),
            repository: "o/r".into(),
            branch: "main".into(),
            before: before.into(),
            commit: after.into(),
            pushed_at,
            forced,
        }
    }

    fn started(head: &Head, p: &Push) -> Head {
        let next = head.start(p, "a", 0);
        next.started(&p.id, "a", "e").unwrap()
    }

    #[test]
    fn pushes_of_different_seconds_follow_pushed_at() {
        let p1 = push(Z, A, Some(100), false);
        let p2 = push(A, B, Some(101), false);
        let head = started(&Head::default(), &p2);
        assert_eq!(
            decide(&head, &p1, "b", 0, false),
            Decision::Superseded { by: Edge::of(&p2) }
        );
        let p3 = push(Z, C, Some(102), true);
        assert_eq!(decide(&head, &p3, "b", 0, false), Decision::Start);
    }

    #[test]
    fn the_chain_wins_over_the_clock() {
        let p1 = push(Z, A, Some(100), false);
        let head = started(&Head::default(), &p1);
        // Equal or even earlier pushed_at: on top of the current push.
        for at in [Some(100), Some(99), None] {
            assert_eq!(
                decide(&head, &push(A, B, at, false), "b", 0, false),
                Decision::Start
            );
        }
    }

    #[test]
    fn same_second_out_of_order_waits_then_follows_the_chain() {
        // Three pushes in one second delivered 1, 3, 2.
        let p1 = push(Z, A, Some(100), false);
        let p2 = push(A, B, Some(100), false);
        let p3 = push(B, C, Some(100), false);
        let head = started(&Head::default(), &p1);
        assert_eq!(
            decide(&head, &p3, "b", 0, false),
            Decision::Wait(Waiting::Predecessor { before: B.into() })
        );
        let head = started(&head, &p2);
        assert_eq!(decide(&head, &p3, "b", 0, false), Decision::Start);
        // Without its predecessor it goes ahead once patience is over.
        let head = started(&Head::default(), &p1);
        assert_eq!(decide(&head, &p3, "b", 0, true), Decision::Start);
    }

    #[test]
    fn a_push_under_a_started_one_is_superseded_by_it_even_transitively() {
        let p1 = push(Z, A, None, false);
        let p2 = push(A, B, None, false);
        let p3 = push(B, C, None, false);
        let head = started(&Head::default(), &p3);
        let by3 = Decision::Superseded { by: Edge::of(&p3) };
        assert_eq!(decide(&head, &p2, "b", 0, false), by3);
        let head = head.supersede(&p2, &Edge::of(&p3));
        assert_eq!(decide(&head, &p1, "b", 0, false), by3);
    }

    #[test]
    fn a_forced_rewind_is_a_new_push_and_its_old_commit_is_not_a_repeat() {
        let p1 = push(Z, A, Some(100), false);
        let p2 = push(A, B, Some(101), false);
        let rewind = push(B, A, Some(102), true);
        let head = started(&started(&Head::default(), &p1), &p2);
        assert_eq!(decide(&head, &rewind, "b", 0, false), Decision::Start);
        let head = started(&head, &rewind);
        // The old push to A, replayed, is older: not started again.
        assert_eq!(
            decide(&head, &p1, "b", 0, false),
            Decision::Repeat(Fate::Started { sequence: 1 })
        );
        assert!(matches!(
            decide(
                &Head {
                    recent: vec![],
                    ..head.clone()
                },
                &p1,
                "b",
                0,
                false
            ),
            Decision::Superseded { .. }
        ));
    }

    #[test]
    fn after_a_rewind_an_older_push_from_the_rewound_commit_is_not_on_top() {
        // p1 A->B at 101, then a forced rewind B->A at 102; p1 arrives late:
        // its `before` is the rewind's `after`, yet it is older.
        let p1 = push(A, B, Some(101), false);
        let rewind = push(B, A, Some(102), true);
        let head = started(&Head::default(), &rewind);
        assert_eq!(
            decide(&head, &p1, "b", 0, false),
            Decision::Superseded {
                by: Edge::of(&rewind)
            }
        );
        // Without a rewind after its time, the chain overrules the clock.
        let p0 = push(Z, A, Some(103), false);
        let head = started(&Head::default(), &p0);
        assert_eq!(decide(&head, &p1, "b", 0, false), Decision::Start);
    }

    #[test]
    fn a_replayed_body_is_a_repeat_whatever_its_header() {
        let p1 = push(Z, A, Some(100), false);
        let head = started(&Head::default(), &p1);
        let mut replay = p1.clone();
        replay.delivery_id = "another".into();
        assert_eq!(
            decide(&head, &replay, "b", 0, false),
            Decision::Repeat(Fate::Started { sequence: 1 })
        );
    }

    #[test]
    fn leases_settle_resume_and_proceed() {
        let p1 = push(Z, A, Some(100), false);
        let p2 = push(A, B, Some(101), false);
        let leased = Head::default().start(&p1, "a", 1000);
        assert_eq!(decide(&leased, &p1, "a", 1001, false), Decision::Proceed);
        assert_eq!(
            decide(&leased, &p1, "b", 1001, false),
            Decision::Wait(Waiting::Lease {
                lease_until: 1000 + LEASE_SECONDS
            })
        );
        assert_eq!(
            decide(&leased, &p2, "b", 1001, false),
            Decision::Wait(Waiting::Lease {
                lease_until: 1000 + LEASE_SECONDS
            })
        );
        let ended = 1001 + LEASE_SECONDS;
        assert_eq!(decide(&leased, &p1, "b", ended, false), Decision::Settle);
        assert_eq!(decide(&leased, &p2, "b", ended, false), Decision::Settle);
        let found = leased.settle(Some("e-1".into()));
        assert_eq!(
            decide(&found, &p1, "b", ended, false),
            Decision::Repeat(Fate::Started { sequence: 1 })
        );
        let lost = leased.settle(None);
        assert_eq!(decide(&lost, &p1, "b", ended, false), Decision::Resume);
        // A newer push overtakes a push that never started, and announces it.
        assert_eq!(decide(&lost, &p2, "b", ended, false), Decision::Start);
        let next = lost.start(&p2, "b", ended);
        assert_eq!(next.unannounced(), vec![(Edge::of(&p1), Edge::of(&p2))]);
        assert!(next.announced(&p1.id).unannounced().is_empty());
        assert!(matches!(
            decide(&next, &p1, "c", ended, false),
            Decision::Repeat(Fate::Superseded { .. })
        ));
    }

    #[test]
    fn the_memory_is_bounded() {
        let mut head = Head::default();
        let mut before = Z.to_owned();
        for i in 0..(REMEMBERED + 5) {
            let after = format!("{i:040x}");
            head = started(&head, &push(&before, &after, Some(i as i64 + 1), false));
            before = after;
        }
        assert_eq!(head.recent.len(), REMEMBERED);
        assert_eq!(head.sequence, (REMEMBERED + 5) as u64);
    }

    #[test]
    fn the_head_round_trips_as_json() {
        let p1 = push(Z, A, None, false);
        let head = Head::default()
            .start(&p1, "a", 5)
            .supersede(&push(Z, B, Some(3), true), &Edge::of(&p1));
        let text = serde_json::to_string(&head).unwrap();
        let back: Head = serde_json::from_str(&text).unwrap();
        assert_eq!(back, head);
    }
}
