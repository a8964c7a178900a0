//! Pure domain code: no AWS calls.

pub mod failure;
pub mod message;
