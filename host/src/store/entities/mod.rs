//! sea-orm entities, one file per table.

pub mod auth_token;
pub mod plan;
