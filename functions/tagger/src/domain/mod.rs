//! Pure domain code: no AWS SDK types, no I/O.

pub mod notice;
pub mod outcome;
pub mod params;
pub mod plan;
pub mod production;
pub mod record;
pub mod scan;
