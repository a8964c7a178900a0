//! The end-to-end checks of the product: the template's constraints (checked on the
//! SAM-transformed template) and the scenario run against a stack deployed into the
//! local cloud (`make local`).

pub mod iam_table;
pub mod template_rules;
