//! The AWS adapters: one module per service, SDK types stay here.

pub mod deliveries;
pub mod pipeline;
pub mod topic;
