//! The notifier: announces a failed pipeline action on the stack's
//! notification topic, naming the commit the execution was built from.
//!
//! # Why it exists
//!
//! CodePipeline's action event names the pipeline, stage, action and
//! execution, not the commit, so an EventBridge input transformer cannot say
//! which push failed. This function reads the execution with
//! GetPipelineExecution: the commit is its `COMMIT_ID` pipeline variable (set
//! by the starter, with `PUSH_SEQUENCE`), or else its first source revision.
//!
//! # Trigger
//!
//! The stack's rule `pipeline-failed-<suffix>`: source `aws.codepipeline`,
//! detail-type "CodePipeline Action Execution State Change", this pipeline,
//! state FAILED. EventBridge invokes the function asynchronously.
//!
//! # What it publishes
//!
//! One message per event (CodePipeline emits at least once, so a failure may
//! be announced twice): the pipeline, the time, the stage and action, the
//! commit and push, the action's own summary when the event has one, and the
//! execution's console link. A commit that cannot be read (no permission,
//! no such execution, a malformed event) is said in the message; the notice is
//! still sent. Only a failed Publish fails the invocation, and Lambda's
//! asynchronous retries (two) try the event again.
//!
//! # Environment
//!
//! `NOTIFICATION_TOPIC` (required): the topic's ARN.
//!
//! # IAM actions
//!
//! `codepipeline:GetPipelineExecution` on the pipeline; `sns:Publish` on the
//! topic. `docs/iam.md` gives each with its AWS source.
//!
//! # In the local cloud
//!
//! `make local`'s scenario delivers a failure event to it through a copy of
//! the rule (MiniStack refuses `aws.` sources on PutEvents) and reads the
//! notice from a queue subscribed to the topic: `docs/local-cloud.md`.

pub mod aws;
pub mod config;
pub mod domain;
pub mod error;
pub mod handler;

pub use config::Config;
pub use error::Error;
pub use handler::{function_handler, handle_event, Deps};
