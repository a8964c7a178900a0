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
//! # Once, in order, nothing dropped
//!
//! - **Once**: a push is known by what GitHub signed ([`domain::push::PushId`]);
//!   the `X-GitHub-Delivery` header only labels logs. The table's `head`
//!   record holds the order's whole state and is written only conditionally
//!   on the version read, so a redelivered or replayed body is a repeat and
//!   two starters never both start one push. A start is a lease, the start,
//!   then the execution recorded; a lease that ended unrecorded is settled
//!   from the pipeline's own executions ([`domain::order`]).
//! - **In order**: `pushed_at` and the chain of `before`/`after` order pushes;
//!   a push whose predecessor has not arrived waits
//!   [`domain::order::PATIENCE_SECONDS`], then goes ahead. Each start gets a
//!   higher `PUSH_SEQUENCE`; the tagger promotes only a strictly higher one.
//! - **Nothing dropped**: a push that passed the rule and is not started
//!   (superseded by a newer push, or not startable) is logged with
//!   `not_started=1` (the `PushesNotStarted` metric) and announced on
//!   NOTIFICATION_TOPIC; a notice that could not be sent fails the
//!   invocation, and the retry finds it owed. A failed start fails the
//!   invocation too: Lambda retries it twice, then the event goes to the
//!   dead-letter queue, from which `scripts/replay-dead-letters.sh` replays it.
//!
//! # Environment
//!
//! `PIPELINE_NAME`, `SOURCE_ACTION_NAME`, `DELIVERIES_TABLE` (all required:
//! without them every invocation fails and the events wait in the retries and
//! the dead-letter queue); `NOTIFICATION_TOPIC` (optional).
//!
//! # IAM actions
//!
//! `codepipeline:StartPipelineExecution`, `codepipeline:ListPipelineExecutions`
//! and `codepipeline:GetPipelineExecution` on the pipeline; `dynamodb:GetItem`
//! and `dynamodb:PutItem` on the deliveries table; `sns:Publish` on the topic;
//! `sqs:SendMessage` on the dead-letter queue (Lambda sends failed events with
//! the function's role).
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
