//! The production record and ECR's tags, as a model: Deploy jobs (one of
//! them retried), a rollback and a release run concurrently; each reads and
//! conditionally writes the record and moves tags one PutImage at a time;
//! any of them may crash between two calls.
//!
//! The deployed protocol ([`Protocol::Converging`]) makes ECR converge to
//! the record before and after each write; [`Protocol::TagsAfterRecord`] is
//! the protocol before it (record first, tags after, a rollback's
//! compare-and-swap against what ECR shows), kept to show what the checker
//! finds in it.

use stateright::{Model, Property};

use tagger::domain::params::PushOrder;
use tagger::domain::production::Hold;
use tagger::domain::record::{
    converge, plan_promotion, plan_rollback, Condition, Moved, NotPromoted, Record, TagRole, Write,
};

/// A promotion's plan: the real one is [`plan_promotion`].
pub type PlanPromotion = fn(&Record, &str, Option<&PushOrder>) -> Result<Write, NotPromoted>;
/// A rollback's plan: the real one is [`plan_rollback`].
pub type PlanRollback = fn(&Record, &str, Option<&str>, Hold) -> Result<Option<Write>, Moved>;
/// The write condition: the real one is [`Condition::holds`].
pub type Holds = fn(&Condition, &Record) -> bool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Converging,
    TagsAfterRecord,
}

/// What an operator or CodePipeline asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// A Deploy job of push `sequence`, whose image is digest `image`.
    Job {
        sequence: u64,
        image: u8,
    },
    /// A rollback to the record's previous image.
    Rollback,
    /// A rollback to image `image`.
    RollbackTo {
        image: u8,
    },
    Release,
    /// Any later invocation of the tagger (a status request): it only
    /// converges. One follows every crash.
    Status,
}

#[derive(Debug, Clone)]
pub struct Promotion {
    pub ops: Vec<Op>,
    pub crashes: u8,
    /// Invocations running at once, at most.
    pub concurrency: usize,
    pub protocol: Protocol,
    pub plan_promotion: PlanPromotion,
    pub plan_rollback: PlanRollback,
    pub holds: Holds,
    /// Check only this property (a mutant's test stops at its counterexample).
    pub only: Option<&'static str>,
}

impl Promotion {
    /// Two pushes' jobs, the second retried, one rollback and one release,
    /// one crash anywhere, with the deployed rules.
    pub fn new() -> Self {
        Self {
            ops: vec![
                Op::Job {
                    sequence: 1,
                    image: 1,
                },
                Op::Job {
                    sequence: 2,
                    image: 2,
                },
                Op::Job {
                    sequence: 2,
                    image: 2,
                },
                Op::Rollback,
                Op::Release,
            ],
            crashes: 1,
            concurrency: 3,
            protocol: Protocol::Converging,
            plan_promotion,
            plan_rollback,
            holds: Condition::holds,
            only: None,
        }
    }
}

impl Default for Promotion {
    fn default() -> Self {
        Self::new()
    }
}

fn digest(image: u8) -> String {
    format!("sha256:{image}")
}

fn image_of(digest: &str) -> Option<u8> {
    digest.strip_prefix("sha256:")?.parse().ok()
}

/// The convergence loop's steps ([`tagger::converge`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Converge {
    ReadRecord,
    ReadTags {
        record: Record,
    },
    Put {
        record: Record,
        moves: Vec<(TagRole, String)>,
    },
    ReadAgain {
        record: Record,
    },
}

/// What an invocation does once its convergence is done.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Then {
    Plan,
    Done,
    Release,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pc {
    Converge {
        step: Converge,
        then: Then,
    },
    Plan,
    Write(Write),
    /// The earlier protocol: put `image` on the tag after the record.
    PutAfter {
        image: u8,
        previous: Option<u8>,
    },
    PutPreviousAfter {
        image: u8,
        previous: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Invocation {
    pub op: Op,
    pub pc: Pc,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    pub record: Record,
    /// The images that hold `production` and `production-previous`.
    pub production: Option<u8>,
    pub previous: Option<u8>,
    pub pending: Vec<Op>,
    pub running: Vec<Invocation>,
    pub crashes: u8,
    /// How many times each push's job moved the record.
    pub promoted: Vec<u8>,
    /// A job moved the record to a push older than one promoted before.
    pub regressed: bool,
    /// A rollback was refused (not by an operator's own expectation).
    pub rollback_refused: bool,
    /// A rollback to the image the record names set a hold.
    pub noop_hold: bool,
    pub rolled_back: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Begin(usize),
    Step(usize),
    Crash(usize),
}

fn hold() -> Hold {
    Hold {
        since: "t".into(),
        to: String::new(),
        from: None,
    }
}

fn start(op: Op, protocol: Protocol) -> Pc {
    let then = match op {
        Op::Job { .. } | Op::Rollback | Op::RollbackTo { .. } => Then::Plan,
        Op::Release => Then::Release,
        Op::Status => Then::Done,
    };
    match protocol {
        Protocol::Converging => Pc::Converge {
            step: Converge::ReadRecord,
            then,
        },
        Protocol::TagsAfterRecord => Pc::Plan,
    }
}

fn converge_then(then: Then) -> Pc {
    Pc::Converge {
        step: Converge::ReadRecord,
        then,
    }
}

impl State {
    fn quiet(&self) -> bool {
        self.pending.is_empty() && self.running.is_empty()
    }

    fn agrees(&self) -> bool {
        self.production == self.record.digest.as_deref().and_then(image_of)
            && (self.record.previous.is_none()
                || self.previous == self.record.previous.as_deref().and_then(image_of))
    }
}

impl Model for Promotion {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let jobs = self
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Job { sequence, .. } => Some(*sequence),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        vec![State {
            record: Record::default(),
            production: None,
            previous: None,
            pending: self.ops.clone(),
            running: Vec::new(),
            crashes: self.crashes,
            promoted: vec![0; usize::try_from(jobs).unwrap_or(0) + 1],
            regressed: false,
            rollback_refused: false,
            noop_hold: false,
            rolled_back: false,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        for (i, op) in state.pending.iter().enumerate() {
            if state.running.len() < self.concurrency && !state.pending[..i].contains(op) {
                actions.push(Action::Begin(i));
            }
        }
        for i in 0..state.running.len() {
            actions.push(Action::Step(i));
            if state.crashes > 0 {
                actions.push(Action::Crash(i));
            }
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        match action {
            Action::Begin(i) => {
                let op = state.pending.remove(i);
                match (op, self.protocol) {
                    // The earlier protocol: a release is one write, and
                    // nothing else repairs the tags.
                    (Op::Release, Protocol::TagsAfterRecord) => state.record.hold = None,
                    (Op::Status, Protocol::TagsAfterRecord) => {}
                    _ => state.running.push(Invocation {
                        op,
                        pc: start(op, self.protocol),
                    }),
                }
            }
            Action::Crash(i) => {
                state.running.remove(i);
                state.crashes -= 1;
                state.pending.push(Op::Status);
            }
            Action::Step(i) => self.step(&mut state, i),
        }
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let all = vec![
            Property::always("production only moves forward", |_: &Self, s: &State| {
                !s.regressed
            }),
            Property::always(
                "a push's job promotes it at most once",
                |_: &Self, s: &State| s.promoted.iter().all(|n| *n <= 1),
            ),
            Property::always(
                "ECR agrees with the record when nothing runs",
                |_: &Self, s: &State| !s.quiet() || s.agrees(),
            ),
            Property::always(
                "a hold keeps the record on its target",
                |_: &Self, s: &State| {
                    s.record
                        .hold
                        .as_ref()
                        .is_none_or(|h| s.record.digest.as_deref() == Some(h.to.as_str()))
                },
            ),
            Property::always("no rollback is refused", |_: &Self, s: &State| {
                !s.rollback_refused
            }),
            Property::always(
                "a rollback to the current image sets no hold",
                |_: &Self, s: &State| !s.noop_hold,
            ),
            Property::sometimes(
                "a rollback holds, and ECR shows it",
                |_: &Self, s: &State| {
                    s.quiet() && s.rolled_back && s.record.hold.is_some() && s.agrees()
                },
            ),
        ];
        match self.only {
            Some(name) => all.into_iter().filter(|p| p.name == name).collect(),
            None => all,
        }
    }
}

impl Promotion {
    fn step(&self, state: &mut State, i: usize) {
        let invocation = state.running[i].clone();
        let next = match invocation.pc {
            Pc::Converge { step, then } => self.converge_step(state, step, then),
            Pc::Plan => self.plan(state, invocation.op),
            Pc::Write(write) => self.write(state, invocation.op, write),
            Pc::PutAfter { image, previous } => {
                // The earlier protocol: the tag first read, then moved.
                match previous {
                    Some(previous) if Some(previous) != Some(image) => {
                        Some(Pc::PutPreviousAfter { image, previous })
                    }
                    _ => {
                        state.production = Some(image);
                        None
                    }
                }
            }
            Pc::PutPreviousAfter { image, previous } => {
                state.previous = Some(previous);
                Some(Pc::PutAfter {
                    image,
                    previous: None,
                })
            }
        };
        match next {
            Some(pc) => state.running[i].pc = pc,
            None => {
                state.running.remove(i);
            }
        }
    }

    fn converge_step(&self, state: &mut State, step: Converge, then: Then) -> Option<Pc> {
        let pc = |step| {
            Some(Pc::Converge {
                step,
                then: then.clone(),
            })
        };
        match step {
            Converge::ReadRecord => pc(Converge::ReadTags {
                record: state.record.clone(),
            }),
            Converge::ReadTags { record } => {
                let production = state.production.map(digest);
                let previous = state.previous.map(digest);
                let moves = converge(&record, production.as_deref(), previous.as_deref());
                if moves.is_empty() {
                    pc(Converge::ReadAgain { record })
                } else {
                    pc(Converge::Put { record, moves })
                }
            }
            Converge::Put { record, mut moves } => {
                let (role, wanted) = moves.remove(0);
                let image = image_of(&wanted);
                match role {
                    TagRole::Current => state.production = image,
                    TagRole::Previous => state.previous = image,
                }
                if moves.is_empty() {
                    pc(Converge::ReadAgain { record })
                } else {
                    pc(Converge::Put { record, moves })
                }
            }
            Converge::ReadAgain { record } if record == state.record => match then {
                Then::Plan => Some(Pc::Plan),
                Then::Done => None,
                Then::Release => {
                    state.record.hold = None;
                    None
                }
            },
            Converge::ReadAgain { .. } => pc(Converge::ReadTags {
                record: state.record.clone(),
            }),
        }
    }

    fn plan(&self, state: &mut State, op: Op) -> Option<Pc> {
        match op {
            Op::Job { sequence, image } => {
                let push = PushOrder {
                    commit: format!("c{sequence}"),
                    sequence,
                };
                match (self.plan_promotion)(&state.record, &digest(image), Some(&push)) {
                    Ok(write) => Some(Pc::Write(write)),
                    Err(_) => self.after_write(image),
                }
            }
            Op::Rollback | Op::RollbackTo { .. } => {
                let target = match op {
                    Op::RollbackTo { image } => Some(digest(image)),
                    _ => state.record.previous.clone(),
                };
                let Some(target) = target else {
                    return None; // nothing to roll back to: said, and nothing changed
                };
                // The earlier protocol swapped against what ECR showed.
                let mut seen = state.record.clone();
                if self.protocol == Protocol::TagsAfterRecord {
                    seen.digest = state.production.map(digest);
                }
                match (self.plan_rollback)(&seen, &target, None, hold()) {
                    Ok(None) => None,
                    Ok(Some(write)) => {
                        if state.record.digest.as_deref() == Some(target.as_str())
                            && write.next.hold.is_some()
                        {
                            state.noop_hold = true;
                        }
                        Some(Pc::Write(write))
                    }
                    Err(_) => {
                        state.rollback_refused = true;
                        None
                    }
                }
            }
            Op::Release | Op::Status => None,
        }
    }

    fn write(&self, state: &mut State, op: Op, write: Write) -> Option<Pc> {
        if !(self.holds)(&write.condition, &state.record) {
            return match (op, self.protocol) {
                // The earlier protocol refused a rollback whose swap failed.
                (Op::Rollback | Op::RollbackTo { .. }, Protocol::TagsAfterRecord) => {
                    state.rollback_refused = true;
                    None
                }
                _ => Some(Pc::Plan),
            };
        }
        let before = state.record.sequence;
        state.record = write.next.clone();
        match op {
            Op::Job { sequence, image } => {
                let promoted = &mut state.promoted[usize::try_from(sequence).unwrap_or(0)];
                *promoted = promoted.saturating_add(1);
                if before.is_some_and(|b| b > sequence) {
                    state.regressed = true;
                }
                match self.protocol {
                    Protocol::Converging => Some(converge_then(Then::Done)),
                    Protocol::TagsAfterRecord => Some(Pc::PutAfter {
                        image,
                        previous: state.production,
                    }),
                }
            }
            _ => {
                state.rolled_back = true;
                let image = write.next.digest.as_deref().and_then(image_of).unwrap_or(0);
                match self.protocol {
                    Protocol::Converging => Some(converge_then(Then::Done)),
                    Protocol::TagsAfterRecord => Some(Pc::PutAfter {
                        image,
                        previous: None,
                    }),
                }
            }
        }
    }

    fn after_write(&self, _image: u8) -> Option<Pc> {
        match self.protocol {
            Protocol::Converging => Some(converge_then(Then::Done)),
            Protocol::TagsAfterRecord => None,
        }
    }
}
