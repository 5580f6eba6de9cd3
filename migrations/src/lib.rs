//! Database migrations of the restore service, for SQLite and PostgreSQL.
//!
//! One change per file, date-stamped (`mYYYYMMDD_NNNNNN_<verb>_<table>`),
//! never renumbered: a deployed database records each name it applied.
//! The server applies pending migrations at start (`rrs migrate` does it
//! alone).

// A migration is a declarative list of columns and indexes: its length is
// the table's, not a function doing too much.
#![allow(clippy::too_many_lines)]

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_auth_tokens;
mod m20261126_000002_create_index_records;
mod m20261126_000003_create_index_watermarks;
mod m20261126_000004_create_index_media;
mod m20261126_000005_create_target_tables;
mod m20261126_000006_create_target_records;
mod m20261126_000007_create_target_media;
mod m20261126_000008_create_plans;
mod m20261126_000009_create_plan_rows;
mod m20261126_000010_create_policy_decisions;
mod m20261126_000011_create_index_table_partitions;
mod m20261126_000012_create_plan_refs;
mod m20261126_000020_create_jobs;
mod m20261126_000021_create_job_tables;
mod m20261126_000022_create_job_locks;
mod m20261126_000023_create_job_queue_guards;
mod m20261126_000024_create_job_events;
mod m20261126_000025_create_job_locks_queue_index;
mod m20261126_000030_create_job_executions;
mod m20261126_000031_create_execution_chunks;
mod m20261126_000032_create_row_outcomes;
mod m20261126_000033_create_rollback_journal;
mod m20261126_000034_create_sn_mirror;
mod m20261126_000035_create_media_outcomes;
mod m20261126_000040_create_evidence_packages;
mod m20261126_000041_create_evidence_signer_keys;
mod m20261126_000042_create_evidence_verification_failures;
mod m20261126_000043_create_evidence_insert_only_triggers;
mod m20261126_000044_create_journal_prune_runs;
mod m20261126_000050_create_ops_switches;
mod m20261126_000051_create_ops_failure_drills;
mod m20261126_000052_create_tenant_entitlements;
mod m20261126_000053_create_ops_audit_log;
mod m20261126_000054_create_jobs_finished_index;
mod m20261126_000055_create_jobs_started_index;
mod m20261126_000056_create_job_events_type_at_index;
mod m20261206_000010_create_journal_intents;
mod m20261206_000020_create_evidence_obligations;
mod m20261206_000030_add_plans_target;
mod m20261206_000040_add_media_outcomes_wrote;
mod m20261206_000050_create_drill_schedules;
mod m20261206_000051_create_drill_runs;
mod m20261206_000060_add_policy_decisions_signer;
mod m20261206_000070_add_policy_decisions_input;
mod m20261206_000071_create_policy_shadow_disagreements;
mod m20261206_000072_create_policy_set_generations;
mod m20261207_000010_policy_decisions_input_lz4;

/// Every migration, in the order it is applied.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_auth_tokens::Migration),
            Box::new(m20261126_000002_create_index_records::Migration),
            Box::new(m20261126_000003_create_index_watermarks::Migration),
            Box::new(m20261126_000004_create_index_media::Migration),
            Box::new(m20261126_000005_create_target_tables::Migration),
            Box::new(m20261126_000006_create_target_records::Migration),
            Box::new(m20261126_000007_create_target_media::Migration),
            Box::new(m20261126_000008_create_plans::Migration),
            Box::new(m20261126_000009_create_plan_rows::Migration),
            Box::new(m20261126_000010_create_policy_decisions::Migration),
            Box::new(m20261126_000011_create_index_table_partitions::Migration),
            Box::new(m20261126_000012_create_plan_refs::Migration),
            Box::new(m20261126_000030_create_job_executions::Migration),
            Box::new(m20261126_000031_create_execution_chunks::Migration),
            Box::new(m20261126_000032_create_row_outcomes::Migration),
            Box::new(m20261126_000033_create_rollback_journal::Migration),
            Box::new(m20261126_000034_create_sn_mirror::Migration),
            Box::new(m20261126_000035_create_media_outcomes::Migration),
            Box::new(m20261126_000020_create_jobs::Migration),
            Box::new(m20261126_000021_create_job_tables::Migration),
            Box::new(m20261126_000022_create_job_locks::Migration),
            Box::new(m20261126_000023_create_job_queue_guards::Migration),
            Box::new(m20261126_000024_create_job_events::Migration),
            Box::new(m20261126_000025_create_job_locks_queue_index::Migration),
            Box::new(m20261126_000040_create_evidence_packages::Migration),
            Box::new(m20261126_000041_create_evidence_signer_keys::Migration),
            Box::new(m20261126_000042_create_evidence_verification_failures::Migration),
            Box::new(m20261126_000043_create_evidence_insert_only_triggers::Migration),
            Box::new(m20261126_000044_create_journal_prune_runs::Migration),
            Box::new(m20261126_000050_create_ops_switches::Migration),
            Box::new(m20261126_000051_create_ops_failure_drills::Migration),
            Box::new(m20261126_000052_create_tenant_entitlements::Migration),
            Box::new(m20261126_000053_create_ops_audit_log::Migration),
            Box::new(m20261126_000054_create_jobs_finished_index::Migration),
            Box::new(m20261126_000055_create_jobs_started_index::Migration),
            Box::new(m20261126_000056_create_job_events_type_at_index::Migration),
            Box::new(m20261206_000010_create_journal_intents::Migration),
            Box::new(m20261206_000020_create_evidence_obligations::Migration),
            Box::new(m20261206_000030_add_plans_target::Migration),
            Box::new(m20261206_000040_add_media_outcomes_wrote::Migration),
            Box::new(m20261206_000050_create_drill_schedules::Migration),
            Box::new(m20261206_000051_create_drill_runs::Migration),
            Box::new(m20261206_000060_add_policy_decisions_signer::Migration),
            Box::new(m20261206_000070_add_policy_decisions_input::Migration),
            Box::new(m20261206_000071_create_policy_shadow_disagreements::Migration),
            Box::new(m20261206_000072_create_policy_set_generations::Migration),
            Box::new(m20261207_000010_policy_decisions_input_lz4::Migration),
        ]
    }
}
