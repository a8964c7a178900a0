//! Once per delivery: the states a delivery goes through in the deliveries
//! table, and what a starter does when another attempt holds it.
//!
//! A delivery is *claimed* (a conditional put that only one attempt wins),
//! then *started* (the execution id recorded) or *late* (refused by the push
//! order). An attempt whose start fails gives its claim back, so that
//! GitHub's redelivery, or Lambda's own retry, starts it.
//!
//! # Crash windows
//!
//! - **Claimed, not started** (the process dies between the claim and
//!   StartPipelineExecution): the claim carries a lease, [`LEASE_SECONDS`],
//!   longer than the function can run. Until it ends, another attempt is told
//!   "in flight" and fails, so Lambda retries it later; after it ends, the
//!   next attempt takes the claim over and starts the push. Nothing is lost.
//! - **Started, not recorded** (the process dies after CodePipeline accepted
//!   the start, before the record is written): after the lease a retry starts
//!   the same commit again. That is the side chosen, because it never loses a
//!   push and it never double-promotes. If a newer push has been started
//!   since, the head has moved on and the retry is answered `late`: nothing
//!   starts. Otherwise the second execution builds nothing new (its commit's
//!   tag is immutable and already pushed, so the Build stage exports that
//!   image's digest, see docs/build.md) and its Deploy stage finds
//!   `production` already on that digest. `clientRequestToken` is set to the
//!   delivery id as well, though AWS does not document its deduplication.
//! - A failure to record "started" after a successful start is logged and
//!   not retried, for the same reason.

/// How long a claim holds off other attempts: twice the function timeout
/// (30 s in the template), so a live attempt is never overtaken.
pub const LEASE_SECONDS: i64 = 60;

/// How long a delivery is remembered. GitHub lets a delivery be redelivered
/// for 3 days; a week leaves a margin (DynamoDB's TTL deletes later still,
/// never earlier).
pub const REMEMBER_SECONDS: i64 = 7 * 24 * 3600;

/// The template's function timeout, and GitHub's redelivery window: the
/// bounds above must stay past them (checked when this compiles).
const FUNCTION_TIMEOUT_SECONDS: i64 = 30;
const GITHUB_REDELIVERY_SECONDS: i64 = 3 * 24 * 3600;
const _: () = assert!(LEASE_SECONDS > FUNCTION_TIMEOUT_SECONDS);
const _: () = assert!(REMEMBER_SECONDS > GITHUB_REDELIVERY_SECONDS);

/// A delivery's record, as read back after a lost claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    Claimed { attempt: String, lease_until: i64 },
    Started { execution_id: String },
    Late,
}

impl DeliveryState {
    pub const CLAIMED: &'static str = "claimed";
    pub const STARTED: &'static str = "started";
    pub const LATE: &'static str = "late";
}

/// What a lost claim means for this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Already done (started or refused as late): nothing to do.
    Duplicate { state: DeliveryState },
    /// Another attempt is on it now: fail, so that Lambda retries later.
    InFlight { lease_until: i64 },
    /// The record went away between the claim and the read (its attempt gave
    /// the claim back): claim again.
    Gone,
}

/// Decides what a lost claim means, from the record read back at `now`.
pub fn after_lost_claim(existing: Option<DeliveryState>, now: i64) -> Conflict {
    match existing {
        None => Conflict::Gone,
        Some(DeliveryState::Claimed { lease_until, .. }) if lease_until >= now => {
            Conflict::InFlight { lease_until }
        }
        // A lease that has just ended: the conditional claim lost a race
        // with the clock; claim again.
        Some(DeliveryState::Claimed { .. }) => Conflict::Gone,
        Some(state) => Conflict::Duplicate { state },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_lost_claim_means() {
        let now = 1_000;
        assert_eq!(after_lost_claim(None, now), Conflict::Gone);
        let live = DeliveryState::Claimed {
            attempt: "r1".into(),
            lease_until: now + 5,
        };
        assert_eq!(
            after_lost_claim(Some(live), now),
            Conflict::InFlight {
                lease_until: now + 5
            }
        );
        let ended = DeliveryState::Claimed {
            attempt: "r1".into(),
            lease_until: now - 1,
        };
        assert_eq!(after_lost_claim(Some(ended), now), Conflict::Gone);
        let started = DeliveryState::Started {
            execution_id: "e-1".into(),
        };
        assert_eq!(
            after_lost_claim(Some(started.clone()), now),
            Conflict::Duplicate { state: started }
        );
        assert_eq!(
            after_lost_claim(Some(DeliveryState::Late), now),
            Conflict::Duplicate {
                state: DeliveryState::Late
            }
        );
    }
}
