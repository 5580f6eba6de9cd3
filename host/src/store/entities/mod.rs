//! sea-orm entities, one file per table.

pub mod auth_token;
pub mod evidence_package;
pub mod evidence_signer_key;
pub mod evidence_verification_failure;
pub mod job;
pub mod job_event;
pub mod job_lock;
pub mod job_queue_guard;
pub mod job_table;
pub mod journal_prune_run;
pub mod ops_audit_log;
pub mod ops_failure_drill;
pub mod ops_switch;
pub mod plan;
pub mod tenant_entitlement;
