//! The starter's order, as a model: deliveries of three pushes reach
//! concurrent starter invocations that read and write the one head record
//! (compare-and-swap on its version), start the pipeline, search it after
//! an ended lease, and announce what they do not start.
//!
//! Abstractions, each matching an assumption the real code documents:
//! - a start lease is live exactly while the invocation that took it is
//!   alive (the lease outlasts the function's timeout); a crashed
//!   invocation's lease has ended;
//! - an invocation waiting for a lease simply waits (its retry after the
//!   patience would do the same);
//! - a push waiting for its predecessor may stop waiting ("patience over")
//!   once no delivery of that predecessor is still on its way: the bounded
//!   wait outlasts GitHub's delivery of pushes made together;
//! - every crash is followed by Lambda's retry of the same event.

use std::collections::BTreeMap;

use stateright::{Model, Property};

use starter::domain::order::{decide, Decision, Edge, Fate, Head, StartState};
use starter::domain::push::{Push, PushId};

/// How the three pushes carry `repository.pushed_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Three seconds; the third push is a forced rewind to the first's commit.
    Distinct,
    /// All in one second (the chain alone orders them).
    SameSecond,
    /// GitHub's `null`: the chain alone orders them.
    Unknown,
}

/// What a mutant's rule may see besides the real rule's inputs: the
/// delivery's `X-GitHub-Delivery` header and the header of the delivery
/// that made the current push current.
#[derive(Debug, Clone, Copy)]
pub struct Headers {
    pub delivery: u8,
    pub current: Option<u8>,
}

/// The order decision: the real one is [`real_decide`].
pub type Decide = fn(&Head, &Push, &str, i64, bool, Headers) -> Decision;

/// The deployed rule.
pub fn real_decide(
    head: &Head,
    push: &Push,
    attempt: &str,
    now: i64,
    patience_over: bool,
    _headers: Headers,
) -> Decision {
    decide(head, push, attempt, now, patience_over)
}

/// The scenario and the rules to check.
#[derive(Debug, Clone)]
pub struct Pushes {
    pub clock: Clock,
    /// The pushes in the order they were made (the branch's history).
    pub pushes: Vec<Push>,
    /// The push started before the scenario (the head's current push).
    pub earlier: Push,
    pub duplicates: u8,
    /// Old bodies sent again under another push's delivery id.
    pub replays: u8,
    pub crashes: u8,
    /// Entries of the head's memory lost (as past its bound).
    pub forgets: u8,
    /// Invocations running at once, at most.
    pub concurrency: usize,
    pub decide: Decide,
    /// Check only this property (a mutant's test stops at its counterexample).
    pub only: Option<&'static str>,
}

const Y: &str = "1111111111111111111111111111111111111111";
const Z: &str = "2222222222222222222222222222222222222222";
const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

fn push(before: &str, after: &str, pushed_at: Option<i64>, forced: bool) -> Push {
    let git_ref = "refs/heads/main";
    Push {
        id: PushId::of("octo/app", git_ref, before, after, pushed_at),
        delivery_id: String::new(),
        repository: "octo/app".into(),
        branch: "main".into(),
        before: before.into(),
        commit: after.into(),
        pushed_at,
        forced,
    }
}

impl Pushes {
    /// The scenario for `clock` with the deployed rule.
    pub fn new(clock: Clock) -> Self {
        let at = |second: i64| match clock {
            Clock::Distinct => Some(100 + second),
            Clock::SameSecond => Some(100),
            Clock::Unknown => None,
        };
        let pushes = match clock {
            Clock::Distinct => vec![
                push(Z, A, at(0), false),
                push(A, B, at(1), false),
                push(B, A, at(2), true),
            ],
            Clock::SameSecond | Clock::Unknown => vec![
                push(Z, A, at(0), false),
                push(A, B, at(1), false),
                push(B, C, at(2), false),
            ],
        };
        Self {
            clock,
            pushes,
            earlier: push(Y, Z, at(0).map(|_| 99), false),
            duplicates: 1,
            replays: 1,
            crashes: 1,
            forgets: u8::from(clock == Clock::Distinct),
            concurrency: 3,
            decide: real_decide,
            only: None,
        }
    }

    fn index_of(&self, id: &PushId) -> Option<u8> {
        self.pushes
            .iter()
            .position(|p| p.id == *id)
            .and_then(|i| u8::try_from(i).ok())
    }

    fn push(&self, index: u8) -> &Push {
        &self.pushes[usize::from(index)]
    }
}

/// One event of GitHub's: push `push`'s body under push `header`'s id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Delivery {
    pub push: u8,
    pub header: u8,
}

/// The head write an invocation is about to make.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HeadWrite {
    Start,
    Resume,
    Settle(Option<u8>),
    Supersede { by: u8 },
}

/// Where an invocation is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pc {
    Read,
    Waiting,
    Write {
        version: u64,
        write: HeadWrite,
    },
    Lookup {
        version: u64,
    },
    Call {
        sequence: u64,
    },
    MarkRead {
        execution: u8,
    },
    MarkWrite {
        version: u64,
        execution: u8,
    },
    /// Publish the notice for `lost`, then record it sent; then start
    /// `then_start` (a sequence) or finish.
    Notify {
        lost: u8,
        by: u8,
        then_start: Option<u64>,
    },
    NoticeRead {
        lost: u8,
        then_start: Option<u64>,
    },
    NoticeWrite {
        version: u64,
        lost: u8,
        then_start: Option<u64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Invocation {
    pub delivery: Delivery,
    pub attempt: u8,
    pub patience_over: bool,
    pub pc: Pc,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    pub head: Head,
    /// The delivery id that made the current push current (read by mutants only).
    pub current_header: Option<u8>,
    pub pending: Vec<Delivery>,
    pub running: Vec<Invocation>,
    /// Pipeline executions: (push, sequence).
    pub executions: Vec<(u8, u64)>,
    /// Notices sent, per push.
    pub notices: BTreeMap<u8, u8>,
    pub duplicates: u8,
    pub replays: u8,
    pub crashes: u8,
    pub forgets: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Deliver(usize),
    Step(usize),
    Patience(usize),
    Crash(usize),
    Duplicate(u8),
    Replay(Delivery),
    Forget,
}

/// A lease is live while its holder is alive: `now` is before every lease
/// while the current push's holder runs, and after it once it crashed.
fn now_for(state: &State) -> i64 {
    let holder_dead = match state.head.current.as_ref().map(|c| &c.start) {
        Some(StartState::Starting {
            attempt: holder, ..
        }) => !state.running.iter().any(|r| attempt(r.attempt) == *holder),
        _ => false,
    };
    if holder_dead {
        1_000
    } else {
        0
    }
}

fn attempt(n: u8) -> String {
    format!("a{n}")
}

fn execution(n: u8) -> String {
    format!("e{n}")
}

impl State {
    /// One name for states that differ only in names: attempts numbered by
    /// their place among the running invocations (a lease whose holder is
    /// gone names attempt 0), versions as "the head's" (1) or "an older
    /// one" (0), notice counts capped at 2.
    fn canonical(&mut self) {
        self.pending.sort_unstable();
        self.running.sort_by(|a, b| {
            (a.delivery, a.patience_over, &a.pc, a.attempt).cmp(&(
                b.delivery,
                b.patience_over,
                &b.pc,
                b.attempt,
            ))
        });
        let version = self.head.version;
        let canonical_version = |v: &mut u64| *v = u64::from(*v == version);
        let mut holder_renamed = None;
        for (place, invocation) in self.running.iter_mut().enumerate() {
            let new = u8::try_from(place + 1).unwrap_or(u8::MAX);
            if let Some(StartState::Starting {
                attempt: holder, ..
            }) = self.head.current.as_ref().map(|c| &c.start)
            {
                if *holder == attempt(invocation.attempt) {
                    holder_renamed = Some(attempt(new));
                }
            }
            invocation.attempt = new;
            match &mut invocation.pc {
                Pc::Write { version, .. }
                | Pc::Lookup { version }
                | Pc::MarkWrite { version, .. }
                | Pc::NoticeWrite { version, .. } => canonical_version(version),
                _ => {}
            }
        }
        if let Some(current) = self.head.current.as_mut() {
            if let StartState::Starting {
                attempt: holder, ..
            } = &mut current.start
            {
                *holder = holder_renamed.unwrap_or_else(|| attempt(0));
            }
        }
        self.head.version = 1;
        for count in self.notices.values_mut() {
            *count = (*count).min(2);
        }
    }

    fn started(&self, push: u8) -> bool {
        self.executions.iter().any(|(p, _)| *p == push)
    }

    fn quiet(&self) -> bool {
        self.pending.is_empty() && self.running.is_empty()
    }

    fn write_head(&mut self, next: Head) {
        // Every write makes every version read before it stale.
        for invocation in &mut self.running {
            match &mut invocation.pc {
                Pc::Write { version, .. }
                | Pc::Lookup { version }
                | Pc::MarkWrite { version, .. }
                | Pc::NoticeWrite { version, .. } => *version = 0,
                _ => {}
            }
        }
        self.head = Head { version: 1, ..next };
    }
}

impl Model for Pushes {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let earlier = Head::default().start(&self.earlier, "a0", 0);
        let earlier = earlier
            .started(&self.earlier.id, "a0", "e-earlier")
            .unwrap_or(earlier);
        let count = u8::try_from(self.pushes.len()).unwrap_or(0);
        vec![State {
            head: Head {
                version: 1,
                ..earlier
            },
            current_header: None,
            pending: (0..count)
                .map(|p| Delivery { push: p, header: p })
                .collect(),
            running: Vec::new(),
            executions: Vec::new(),
            notices: BTreeMap::new(),
            duplicates: self.duplicates,
            replays: self.replays,
            crashes: self.crashes,
            forgets: self.forgets,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        for (i, delivery) in state.pending.iter().enumerate() {
            if state.running.len() < self.concurrency && !state.pending[..i].contains(delivery) {
                actions.push(Action::Deliver(i));
            }
        }
        for (i, invocation) in state.running.iter().enumerate() {
            actions.push(Action::Step(i));
            if state.crashes > 0 {
                actions.push(Action::Crash(i));
            }
            if invocation.pc == Pc::Waiting && self.predecessor_arrived(state, invocation) {
                actions.push(Action::Patience(i));
            }
        }
        let count = u8::try_from(self.pushes.len()).unwrap_or(0);
        if state.duplicates > 0 {
            for p in 0..count {
                actions.push(Action::Duplicate(p));
            }
        }
        if state.replays > 0 {
            for p in 0..count {
                for header in (0..count).filter(|h| *h != p) {
                    actions.push(Action::Replay(Delivery { push: p, header }));
                }
            }
        }
        if state.forgets > 0 && !state.head.recent.is_empty() {
            actions.push(Action::Forget);
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        match action {
            Action::Deliver(i) => {
                let delivery = state.pending.remove(i);
                state.running.push(Invocation {
                    delivery,
                    attempt: u8::MAX,
                    patience_over: false,
                    pc: Pc::Read,
                });
            }
            Action::Duplicate(p) => {
                state.duplicates -= 1;
                state.pending.push(Delivery { push: p, header: p });
            }
            Action::Replay(delivery) => {
                state.replays -= 1;
                state.pending.push(delivery);
            }
            Action::Forget => {
                state.forgets -= 1;
                state.head.recent.remove(0);
            }
            Action::Crash(i) => {
                let invocation = state.running.remove(i);
                state.crashes -= 1;
                // Lambda retries the event.
                state.pending.push(invocation.delivery);
            }
            Action::Patience(i) => {
                state.running[i].patience_over = true;
                state.running[i].pc = Pc::Read;
            }
            Action::Step(i) => self.step(&mut state, i),
        }
        state.canonical();
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let all = vec![
            Property::always("at most one execution per push", |_: &Self, s: &State| {
                s.executions
                    .iter()
                    .all(|(p, _)| s.executions.iter().filter(|(q, _)| q == p).count() == 1)
            }),
            Property::always("pushes are started in push order", |_: &Self, s: &State| {
                s.executions
                    .iter()
                    .all(|(p, seq)| s.executions.iter().all(|(q, other)| p >= q || seq < other))
            }),
            Property::always(
                "every push is started or announced",
                |m: &Self, s: &State| {
                    let count = u8::try_from(m.pushes.len()).unwrap_or(0);
                    !s.quiet()
                        || (0..count).all(|p| s.started(p) || s.notices.get(&p).copied() > Some(0))
                },
            ),
            Property::always("the newest push is started", |m: &Self, s: &State| {
                let newest = u8::try_from(m.pushes.len().saturating_sub(1)).unwrap_or(0);
                !s.quiet() || s.started(newest)
            }),
            Property::sometimes(
                "a push is superseded and announced",
                |_: &Self, s: &State| s.quiet() && !s.notices.is_empty(),
            ),
            Property::sometimes("every push is started", |m: &Self, s: &State| {
                s.quiet() && s.executions.len() == m.pushes.len()
            }),
        ];
        match self.only {
            Some(name) => all.into_iter().filter(|p| p.name == name).collect(),
            None => all,
        }
    }
}

impl Pushes {
    /// Whether nothing of the push before `invocation`'s is still on its way.
    fn predecessor_arrived(&self, state: &State, invocation: &Invocation) -> bool {
        let Some(before) = invocation.delivery.push.checked_sub(1) else {
            return true;
        };
        !state.pending.iter().any(|d| d.push == before)
            && !state.running.iter().any(|r| r.delivery.push == before)
    }

    fn step(&self, state: &mut State, i: usize) {
        let invocation = state.running[i].clone();
        let push = self.push(invocation.delivery.push);
        let me = attempt(invocation.attempt);
        let mut done = false;
        let next_pc = match invocation.pc.clone() {
            Pc::Read | Pc::Waiting => {
                let headers = Headers {
                    delivery: invocation.delivery.header,
                    current: state.current_header,
                };
                let decision = (self.decide)(
                    &state.head,
                    push,
                    &me,
                    now_for(state),
                    invocation.patience_over,
                    headers,
                );
                let version = state.head.version;
                match decision {
                    Decision::Start => Pc::Write {
                        version,
                        write: HeadWrite::Start,
                    },
                    Decision::Resume => Pc::Write {
                        version,
                        write: HeadWrite::Resume,
                    },
                    Decision::Proceed => Pc::Call {
                        sequence: state.head.current.as_ref().map_or(0, |c| c.sequence),
                    },
                    Decision::Settle => Pc::Lookup { version },
                    Decision::Wait(starter::domain::order::Waiting::Lease { .. }) => Pc::Read,
                    Decision::Wait(_) => Pc::Waiting,
                    Decision::Repeat(Fate::Superseded {
                        by,
                        announced: false,
                    }) => Pc::Notify {
                        lost: invocation.delivery.push,
                        by: self.index_of(&by.id).unwrap_or(u8::MAX),
                        then_start: None,
                    },
                    Decision::Repeat(_) => {
                        done = true;
                        Pc::Read
                    }
                    Decision::Superseded { by } => Pc::Write {
                        version,
                        write: HeadWrite::Supersede {
                            by: self.index_of(&by.id).unwrap_or(u8::MAX),
                        },
                    },
                }
            }
            Pc::Write { version, write } if version == state.head.version => match write {
                HeadWrite::Start => {
                    let next = state.head.start(push, &me, 0);
                    let sequence = next.sequence;
                    let owed: Vec<(Edge, Edge)> = next.unannounced();
                    state.write_head(next);
                    state.current_header = Some(invocation.delivery.header);
                    match owed.first() {
                        Some((lost, by)) => Pc::Notify {
                            lost: self.index_of(&lost.id).unwrap_or(u8::MAX),
                            by: self.index_of(&by.id).unwrap_or(u8::MAX),
                            then_start: Some(sequence),
                        },
                        None => Pc::Call { sequence },
                    }
                }
                HeadWrite::Resume => {
                    let next = state.head.resume(&me, 0);
                    let sequence = next.current.as_ref().map_or(0, |c| c.sequence);
                    state.write_head(next);
                    Pc::Call { sequence }
                }
                HeadWrite::Settle(found) => {
                    let next = state.head.settle(found.map(execution));
                    state.write_head(next);
                    Pc::Read
                }
                HeadWrite::Supersede { by } => {
                    let by_edge = Edge::of(self.push(by));
                    let next = state.head.supersede(push, &by_edge);
                    state.write_head(next);
                    Pc::Notify {
                        lost: invocation.delivery.push,
                        by,
                        then_start: None,
                    }
                }
            },
            Pc::Write { .. } => Pc::Read,
            Pc::Lookup { version } => {
                let sequence = state.head.current.as_ref().map_or(0, |c| c.sequence);
                let found = state
                    .executions
                    .iter()
                    .position(|(_, s)| *s == sequence)
                    .and_then(|e| u8::try_from(e).ok());
                Pc::Write {
                    version,
                    write: HeadWrite::Settle(found),
                }
            }
            Pc::Call { sequence } => {
                state.executions.push((invocation.delivery.push, sequence));
                let execution = u8::try_from(state.executions.len() - 1).unwrap_or(u8::MAX);
                Pc::MarkRead { execution }
            }
            Pc::MarkRead { execution: e } => {
                match state.head.started(&push.id, &me, &execution(e)) {
                    Some(_) => Pc::MarkWrite {
                        version: state.head.version,
                        execution: e,
                    },
                    None => {
                        done = true;
                        Pc::Read
                    }
                }
            }
            Pc::MarkWrite {
                version,
                execution: e,
            } => {
                if version == state.head.version {
                    if let Some(next) = state.head.started(&push.id, &me, &execution(e)) {
                        state.write_head(next);
                    }
                    done = true;
                    Pc::Read
                } else {
                    Pc::MarkRead { execution: e }
                }
            }
            Pc::Notify {
                lost,
                by: _,
                then_start,
            } => {
                *state.notices.entry(lost).or_insert(0) += 1;
                Pc::NoticeRead { lost, then_start }
            }
            Pc::NoticeRead { lost, then_start } => {
                let id = if lost == u8::MAX {
                    self.earlier.id.clone()
                } else {
                    self.push(lost).id.clone()
                };
                if state.head.announced(&id) == state.head {
                    self.after_notice(&mut done, then_start)
                } else {
                    Pc::NoticeWrite {
                        version: state.head.version,
                        lost,
                        then_start,
                    }
                }
            }
            Pc::NoticeWrite {
                version,
                lost,
                then_start,
            } => {
                if version == state.head.version {
                    let id = if lost == u8::MAX {
                        self.earlier.id.clone()
                    } else {
                        self.push(lost).id.clone()
                    };
                    let next = state.head.announced(&id);
                    state.write_head(next);
                    self.after_notice(&mut done, then_start)
                } else {
                    Pc::NoticeRead { lost, then_start }
                }
            }
        };
        if done {
            state.running.remove(i);
        } else {
            state.running[i].pc = next_pc;
        }
    }

    fn after_notice(&self, done: &mut bool, then_start: Option<u64>) -> Pc {
        match then_start {
            Some(sequence) => Pc::Call { sequence },
            None => {
                *done = true;
                Pc::Read
            }
        }
    }
}
