//! Pure domain code: no SDK types.

pub mod notice;
pub mod order;
pub mod push;
pub mod start;
