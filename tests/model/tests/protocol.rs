//! The promotion protocol checked over every interleaving, and the old rules
//! of the review's findings 1 to 5 put back one at a time: the checker must
//! find each one's counterexample.
//!
//! The counts of states explored are printed (`cargo test -p model --
//! --nocapture`) and written down in docs/protocol.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use model::promotion::{Op, Promotion, Protocol};
use model::pushes::{Clock, Headers, Pushes};
use starter::domain::order::{Decision, Fate, Head};
use starter::domain::push::Push;
use stateright::{Checker, Model};
use tagger::domain::params::PushOrder;
use tagger::domain::production::Hold;
use tagger::domain::record::{
    plan_promotion, plan_rollback, Condition, Moved, NotPromoted, Record, Write,
};

/// Explores every state of `model` and returns how many there were.
fn explore<M>(name: &str, model: M) -> (usize, impl Checker<M>)
where
    M: Model + Send + Sync + 'static,
    M::State: Send + Sync + std::hash::Hash + std::fmt::Debug + Clone + Eq,
    M::Action: Send + Sync + std::fmt::Debug + Clone + PartialEq,
{
    // One exploration at a time: each holds about a gigabyte at its peak.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let checker = model.checker().threads(2).spawn_bfs().join();
    let states = checker.unique_state_count();
    eprintln!("{name}: {states} states");
    (states, checker)
}

fn holds_everywhere<M>(name: &str, model: M, at_least: usize)
where
    M: Model + Send + Sync + 'static,
    M::State: Send + Sync + std::hash::Hash + std::fmt::Debug + Clone + Eq,
    M::Action: Send + Sync + std::fmt::Debug + Clone + PartialEq,
{
    let (states, checker) = explore(name, model);
    checker.assert_properties();
    assert!(states >= at_least, "{name}: only {states} states explored");
}

#[test]
fn pushes_of_three_seconds_with_a_forced_rewind() {
    holds_everywhere(
        "pushes, distinct seconds",
        Pushes::new(Clock::Distinct),
        10_000,
    );
}

#[test]
fn pushes_in_one_second() {
    holds_everywhere("pushes, one second", Pushes::new(Clock::SameSecond), 10_000);
}

#[test]
fn pushes_without_pushed_at() {
    holds_everywhere(
        "pushes, pushed_at null",
        Pushes::new(Clock::Unknown),
        10_000,
    );
}

#[test]
fn promotion_rollback_and_release() {
    holds_everywhere("promotion", Promotion::new(), 10_000);
}

fn noop_rollback_ops() -> Vec<Op> {
    vec![
        Op::Job {
            sequence: 1,
            image: 1,
        },
        Op::RollbackTo { image: 1 },
        Op::Job {
            sequence: 2,
            image: 2,
        },
    ]
}

#[test]
fn a_rollback_to_the_current_image() {
    let model = Promotion {
        ops: noop_rollback_ops(),
        ..Promotion::new()
    };
    let (_, checker) = explore("promotion, no-op rollback", model);
    for property in [
        "production only moves forward",
        "a push's job promotes it at most once",
        "ECR agrees with the record when nothing runs",
        "a rollback to the current image sets no hold",
        "no rollback is refused",
    ] {
        checker.assert_no_discovery(property);
    }
}

/// Asserts the checker finds a counterexample to `property`, and prints it.
fn finds<M>(name: &str, model: M, property: &'static str)
where
    M: Model + Send + Sync + 'static + Only,
    M::State: Send + Sync + std::hash::Hash + std::fmt::Debug + Clone + Eq,
    M::Action: Send + Sync + std::fmt::Debug + Clone + PartialEq,
{
    let (_, checker) = explore(name, model.only(property));
    let path = checker.assert_any_discovery(property);
    eprintln!(
        "{name}: {property}: counterexample in {} actions",
        path.into_actions().len()
    );
}

/// A model restricted to one property.
trait Only {
    fn only(self, property: &'static str) -> Self;
}

impl Only for Pushes {
    fn only(self, property: &'static str) -> Self {
        Self {
            only: Some(property),
            ..self
        }
    }
}

impl Only for Promotion {
    fn only(self, property: &'static str) -> Self {
        Self {
            only: Some(property),
            ..self
        }
    }
}

// Finding 1: the delivery id (unsigned) let a body through when it named
// the head's delivery (`delivery_id = :delivery`).
fn decide_by_header(
    head: &Head,
    push: &Push,
    attempt: &str,
    now: i64,
    patience_over: bool,
    headers: Headers,
) -> Decision {
    let is_current = head.current.as_ref().is_some_and(|c| c.push.id == push.id);
    if !is_current && headers.current == Some(headers.delivery) {
        return Decision::Start;
    }
    starter::domain::order::decide(head, push, attempt, now, patience_over)
}

#[test]
fn finding_1_an_old_body_under_the_head_s_delivery_id_moves_production_back() {
    let model = Pushes {
        decide: decide_by_header,
        ..Pushes::new(Clock::Distinct)
    };
    finds("mutant 1", model, "pushes are started in push order");
}

// Finding 2: the record first, the tags after, and a rollback swapped
// against what ECR showed.
#[test]
fn finding_2_tags_after_the_record_undo_a_rollback_or_lock_it_out() {
    let model = Promotion {
        protocol: Protocol::TagsAfterRecord,
        ..Promotion::new()
    };
    finds(
        "mutant 2",
        model.clone(),
        "ECR agrees with the record when nothing runs",
    );
    finds("mutant 2", model, "no rollback is refused");
}

// Finding 3: a push of the same second not on top of the head, or one
// older than the head, was refused as late, and nobody was told.
fn decide_silently(
    head: &Head,
    push: &Push,
    attempt: &str,
    now: i64,
    patience_over: bool,
    _headers: Headers,
) -> Decision {
    match starter::domain::order::decide(head, push, attempt, now, patience_over) {
        Decision::Superseded { .. }
        | Decision::Wait(starter::domain::order::Waiting::Predecessor { .. }) => {
            Decision::Repeat(Fate::Started { sequence: 0 })
        }
        other => other,
    }
}

#[test]
fn finding_3_pushes_refused_without_a_word() {
    let model = Pushes {
        decide: decide_silently,
        ..Pushes::new(Clock::SameSecond)
    };
    finds("mutant 3", model, "every push is started or announced");
}

// Finding 4: `#sequence <= :sequence`.
fn plan_equal_too(
    record: &Record,
    digest: &str,
    push: Option<&PushOrder>,
) -> Result<Write, NotPromoted> {
    let lowered = Record {
        sequence: record.sequence.map(|s| s.saturating_sub(1)),
        ..record.clone()
    };
    plan_promotion(&lowered, digest, push)
}

fn holds_equal_too(condition: &Condition, stored: &Record) -> bool {
    let lowered = Record {
        sequence: stored.sequence.map(|s| s.saturating_sub(1)),
        ..stored.clone()
    };
    condition.holds(&lowered)
}

#[test]
fn finding_4_an_equal_sequence_promotes_the_rolled_back_push_again() {
    let model = Promotion {
        plan_promotion: plan_equal_too,
        holds: holds_equal_too,
        ..Promotion::new()
    };
    finds("mutant 4", model, "a push's job promotes it at most once");
}

// Finding 5: a rollback to the image production holds set a hold.
fn plan_rollback_always_holds(
    record: &Record,
    target: &str,
    expect: Option<&str>,
    hold: Hold,
) -> Result<Option<Write>, Moved> {
    if record.digest.as_deref() == Some(target) {
        let next = Record {
            hold: Some(Hold {
                to: target.to_owned(),
                from: record.digest.clone(),
                ..hold
            }),
            ..record.clone()
        };
        return Ok(Some(Write {
            next,
            condition: Condition {
                digest_was: record.digest.clone(),
                promotion: None,
            },
        }));
    }
    plan_rollback(record, target, expect, hold)
}

#[test]
fn finding_5_a_rollback_to_the_current_image_holds_the_next_push_back() {
    let model = Promotion {
        ops: noop_rollback_ops(),
        plan_rollback: plan_rollback_always_holds,
        ..Promotion::new()
    };
    finds(
        "mutant 5",
        model,
        "a rollback to the current image sets no hold",
    );
}
