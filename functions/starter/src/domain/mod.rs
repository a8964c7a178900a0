//! Pure domain code: no SDK types.

pub mod ledger;
pub mod order;
pub mod push;
pub mod start;
