//! The starter: between the push rule and the pipeline. It starts the
//! pipeline on exactly the pushed commit, once per GitHub delivery, in push
//! order, and never loses a push.
//!
//! # Why it exists
//!
//! StartPipelineExecution without source revisions "begins processing the
//! latest commit" of the branch, and an EventBridge target cannot pass
//! `sourceRevisions` for a CodeConnections source. So the rule's target is
//! this function, which calls StartPipelineExecution with `sourceRevisions`
//! (`COMMIT_ID` = the push's `after`, on the source action
//! SOURCE_ACTION_NAME) and the pipeline variables `COMMIT_ID`, `DELIVERY_ID`
//! and `PUSH_SEQUENCE` (see [`domain::start`]).
//!
//! # Trigger
//!
//! The installer's EventBridge rule on the GitHub bus: source `github.com`,
//! detail-type `push`, the repository (case-insensitively), `refs/heads/<branch>`
//! exactly, and not a deletion. EventBridge invokes the function
//! asynchronously.
//!
//! # Once, in order, nothing lost
//!
//! - **Once**: the delivery id (`X-GitHub-Delivery`, kept by GitHub on a
//!   redelivery) is claimed in the deliveries table with a conditional write;
//!   a second delivery of it is answered `duplicate`. See [`domain::ledger`]
//!   for the crash windows and the side chosen.
//! - **In order**: the table's `head` item holds the newest push started; an
//!   older one is answered `late` and not started ([`domain::order`] says
//!   which field orders pushes and why it can be trusted). Each start gets a
//!   higher `PUSH_SEQUENCE`; the tagger promotes only a sequence higher than
//!   the one `production` holds, so two starts that race cannot move it
//!   backwards either.
//! - **Nothing lost**: a failed claim read, a failed start (throttling, after
//!   the SDK's retries) or a claim held by another attempt fails the
//!   invocation; Lambda retries it twice, then sends the event to the
//!   dead-letter queue, from which `scripts/replay-dead-letters.sh` replays it.
//!   The rule's own retry policy and the same queue cover a failure to invoke.
//! - A push that can never start (no commit id, a deletion, a tag, a
//!   malformed event) is logged as refused and answered without an error, so
//!   it is not retried.
//!
//! # Environment
//!
//! `PIPELINE_NAME`, `SOURCE_ACTION_NAME`, `DELIVERIES_TABLE` (all required:
//! without them every invocation fails and the events wait in the retries and
//! the dead-letter queue).
//!
//! # IAM actions
//!
//! `codepipeline:StartPipelineExecution` on the pipeline;
//! `dynamodb:PutItem`, `dynamodb:GetItem`, `dynamodb:UpdateItem`,
//! `dynamodb:DeleteItem` on the deliveries table; `sqs:SendMessage` on the
//! dead-letter queue (Lambda sends failed events with the function's role).
//! `docs/iam.md` gives each with its AWS source.
//!
//! # Invoke locally
//!
//! ```text
//! cargo lambda watch --env-file events/local.env
//! cargo lambda invoke starter --data-file events/starter-push.json
//! ```

pub mod aws;
pub mod config;
pub mod domain;
pub mod error;
pub mod handler;

pub use config::Config;
pub use error::Error;
pub use handler::{function_handler, handle_event, Deps, Outcome, Timing};
