//! Pure domain code: properties, names and physical ids, tags, the project,
//! pipeline and rule descriptions, trust policies and the response body.
//! Nothing here calls AWS or uses SDK types.

pub mod names;
pub mod pipeline;
pub mod project;
pub mod properties;
pub mod response;
pub mod rule;
pub mod tags;
pub mod trust;
