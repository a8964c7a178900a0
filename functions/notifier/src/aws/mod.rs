//! The AWS adapters: the pipeline execution and the topic.

pub mod execution;
pub mod topic;
