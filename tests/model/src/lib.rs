//! The promotion protocol, checked over every interleaving.
//!
//! Two explicit-state models, explored breadth-first by `stateright`, each
//! calling the same pure decision functions the deployed functions call:
//!
//! - [`pushes`]: GitHub's deliveries reaching the starter: three pushes (one
//!   of them a forced rewind, or three in one second, or three without
//!   `pushed_at`), duplicated, reordered, replayed under any delivery id,
//!   the head's memory forgotten, and any invocation crashing between any
//!   two of its calls. Its decisions are `starter::domain::order::decide`
//!   and the head's transitions (`Head::start`, `settle`, `supersede`, ...).
//! - [`promotion`]: the Deploy jobs, a rollback and a release racing over
//!   the production record and ECR's tags, with crashes. Its decisions are
//!   `tagger::domain::record::{plan_promotion, plan_rollback, converge}` and
//!   the write condition `Condition::holds`.
//!
//! Each model takes its rules as function pointers, so a test can put an
//! old rule back (a mutant) and see the checker find the counterexample.
//! Each SDK call of the real code is one step of the model: a DynamoDB read
//! or conditional write, one PutImage, one StartPipelineExecution, one
//! Publish. A write's condition is atomic with it, as DynamoDB makes it.

pub mod promotion;
pub mod pushes;
