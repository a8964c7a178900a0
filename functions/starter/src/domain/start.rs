//! The StartPipelineExecution request for one push: exactly its commit, and
//! the pipeline variables that carry it to the build and the Deploy stage.

use super::push::Push;

/// Pipeline-level variables the starter sets (the installer declares them on
/// the V2 pipeline; actions read them as `#{variables.NAME}`).
pub const COMMIT_VARIABLE: &str = "COMMIT_ID";
pub const DELIVERY_VARIABLE: &str = "DELIVERY_ID";
pub const SEQUENCE_VARIABLE: &str = "PUSH_SEQUENCE";

/// Everything StartPipelineExecution is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    pub pipeline: String,
    /// The GitHub source action whose revision is pinned.
    pub source_action: String,
    /// `sourceRevisions`: `COMMIT_ID` = this commit.
    pub commit: String,
    /// `variables`, in a fixed order.
    pub variables: Vec<(&'static str, String)>,
    /// `clientRequestToken`: the push's sequence and identity. AWS documents
    /// no deduplication for it, so nothing relies on it (see
    /// `domain::order`'s crash windows).
    pub client_request_token: String,
}

/// The request for `push`, which the deliveries table numbered `sequence`.
pub fn start_request(
    pipeline: &str,
    source_action: &str,
    push: &Push,
    sequence: u64,
) -> StartRequest {
    StartRequest {
        pipeline: pipeline.to_owned(),
        source_action: source_action.to_owned(),
        commit: push.commit.clone(),
        variables: vec![
            (COMMIT_VARIABLE, push.commit.clone()),
            (DELIVERY_VARIABLE, push.delivery_id.clone()),
            (SEQUENCE_VARIABLE, sequence.to_string()),
        ],
        client_request_token: format!("push-{sequence}-{}", push.id.short()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::push::{parse_push, tests as push_tests};

    #[test]
    fn the_request_pins_the_commit_and_carries_it_as_variables() {
        let push = parse_push(push_tests::event(push_tests::detail())).unwrap();
        let request = start_request("pipeline-prod", "GitHub", &push, 42);
        assert_eq!(
            request,
            StartRequest {
                pipeline: "pipeline-prod".into(),
                source_action: "GitHub".into(),
                commit: push_tests::COMMIT.into(),
                variables: vec![
                    ("COMMIT_ID", push_tests::COMMIT.into()),
                    ("DELIVERY_ID", "72d3162e-cc78-11e3-81ab-4c9367dc0958".into()),
                    ("PUSH_SEQUENCE", "42".into()),
                ],
                client_request_token: format!("push-42-{}", push.id.short()),
            }
        );
    }
}
