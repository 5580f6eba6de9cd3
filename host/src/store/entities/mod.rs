//! sea-orm entities, one file per table.

pub mod auth_token;
pub mod evidence_package;
pub mod evidence_signer_key;
pub mod evidence_verification_failure;
pub mod journal_prune_run;
pub mod plan;
