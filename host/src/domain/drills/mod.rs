//! Restore drills that run themselves: a schedule restores a tenant's
//! backup into a sandbox on a cron, through the real pipeline (dry-run,
//! job, execution), checks every restored row against the backup, puts
//! the sandbox back as it was and records the outcome with its measured
//! recovery time and point.
//!
//! - [`schedules`]: creating, reading and deleting schedules (`ops_admin`);
//! - [`scheduler`]: the tick that finds due slots and the lease that lets
//!   one replica run each, and the runs started by hand;
//! - [`pipeline`]: one drill, step by step, from [`scope`] (its PIT and
//!   sample) to [`outcome`] (the rules of its outcome);
//! - [`verify`] and [`cleanup`]: the check of the sandbox and its undoing;
//! - [`runs`]: the recorded runs and their list.

pub mod cleanup;
pub mod outcome;
pub mod pipeline;
pub mod readiness;
pub mod recovery;
pub mod runs;
pub mod scheduler;
pub mod schedules;
pub mod scope;
pub mod verify;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::index::from_micros;
use super::plan::request::InstanceRef;
use super::{DomainError, ReasonCode};
use crate::store::drill_runs::DrillRunRow;
use crate::store::drill_schedules::DrillScheduleRow;

/// A parsed cron expression (five fields, or six with seconds).
#[derive(Debug, Clone)]
pub struct CronSpec(croner::Cron);

impl CronSpec {
    /// Parses `expression`; `400 invalid_request` naming the field when it
    /// is not a cron expression.
    pub fn parse(expression: &str) -> Result<Self, DomainError> {
        croner::Cron::from_str(expression).map(Self).map_err(|e| {
            DomainError::invalid(format!(
                "cron: {expression:?} is not a cron expression: {e}"
            ))
        })
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
        self.0
            .find_next_occurrence(&after, false)
            .map_err(|e| DomainError::invalid(format!("cron: no next occurrence: {e}")))
    }
}

/// A schedule as an operator asks for it.
#[derive(Debug, Clone)]
pub struct ScheduleInput {
    /// The instance whose backup is restored.
    pub source: InstanceRef,
    /// Where the drill restores into; never the source.
    pub sandbox: InstanceRef,
    pub cron: String,
    pub tables: Vec<String>,
    /// Restore only this many records of each table, chosen at random with
    /// a seed recorded on the run; all records when `None`.
    pub sample_per_table: Option<u32>,
    pub retention_days: u32,
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub schedule_id: String,
    pub source: InstanceRef,
    pub sandbox: InstanceRef,
    pub cron: String,
    pub tables: Vec<String>,
    pub sample_per_table: Option<u32>,
    pub retention_days: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The slot it fires at next.
    pub next_run_at: DateTime<Utc>,
}

impl TryFrom<DrillScheduleRow> for Schedule {
    type Error = DomainError;

    fn try_from(row: DrillScheduleRow) -> Result<Self, DomainError> {
        let tables: Vec<String> = serde_json::from_value(row.tables)
            .map_err(|e| DomainError::Internal(format!("drill schedule tables: {e}")))?;
        Ok(Self {
            schedule_id: row.schedule_id,
            source: InstanceRef {
                tenant_id: row.tenant_id,
                instance_id: row.instance_id,
            },
            sandbox: InstanceRef {
                tenant_id: row.sandbox_tenant_id,
                instance_id: row.sandbox_instance_id,
            },
            cron: row.cron,
            tables,
            sample_per_table: row.sample_per_table.and_then(|n| u32::try_from(n).ok()),
            retention_days: u32::try_from(row.retention_days).unwrap_or(0),
            created_by: row.created_by,
            created_at: from_micros(row.created_at_us),
            next_run_at: from_micros(row.next_due_us),
        })
    }
}

/// How a run ended (or that it has not yet).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DrillOutcome {
    Running,
    Passed,
    Failed,
    Skipped,
}

impl DrillOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What started a run.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DrillTrigger {
    /// The schedule's cron.
    Schedule,
    /// `POST /v1/admin/drills/schedules/{id}/run`.
    Manual,
}

impl DrillTrigger {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A restored row whose content in the sandbox is not the backup's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub table: String,
    pub sys_id: String,
    /// The backup's content hash at the PIT (none: the record did not
    /// exist then).
    pub expected_sha256: Option<String>,
    /// The sandbox's (none: the record is missing there).
    pub observed_sha256: Option<String>,
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRun {
    pub seq: i64,
    pub run_id: String,
    pub schedule_id: String,
    pub source: InstanceRef,
    pub sandbox: InstanceRef,
    pub trigger: DrillTrigger,
    pub slot_at: DateTime<Utc>,
    pub outcome: DrillOutcome,
    pub reason_code: Option<ReasonCode>,
    pub message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub keep_until: DateTime<Utc>,
    /// The point in time restored.
    pub pit: Option<DateTime<Utc>>,
    /// Recovery point: how far the PIT lay behind the drill's start.
    pub recovery_point_seconds: Option<f64>,
    pub plan_id: Option<String>,
    pub job_id: Option<String>,
    /// Recovery time: wall time of the restore (job created to execution
    /// ended), in milliseconds.
    pub restore_ms: Option<i64>,
    pub rows_per_second: Option<f64>,
    pub rows_verified: i64,
    pub rows_mismatched: i64,
    pub mismatches: Vec<Mismatch>,
    pub sample_seed: Option<i64>,
    pub manifest_sha256: Option<String>,
    pub sandbox_cleaned: bool,
}

impl TryFrom<DrillRunRow> for DrillRun {
    type Error = DomainError;

    fn try_from(row: DrillRunRow) -> Result<Self, DomainError> {
        let corrupt =
            |what: &str| DomainError::Internal(format!("drill run {}: bad {what}", row.run_id));
        let outcome = DrillOutcome::from_str(&row.outcome).map_err(|_| corrupt("outcome"))?;
        let trigger = DrillTrigger::from_str(&row.trigger_kind).map_err(|_| corrupt("trigger"))?;
        let reason_code = match row.reason_code.as_deref() {
            Some(code) => Some(ReasonCode::parse(code).ok_or_else(|| corrupt("reason_code"))?),
            None => None,
        };
        let mismatches = match row.mismatches.clone() {
            Some(list) => serde_json::from_value(list).map_err(|_| corrupt("mismatches"))?,
            None => Vec::new(),
        };
        Ok(Self {
            seq: row.run_seq,
            run_id: row.run_id,
            schedule_id: row.schedule_id,
            source: InstanceRef {
                tenant_id: row.tenant_id,
                instance_id: row.instance_id,
            },
            sandbox: InstanceRef {
                tenant_id: row.sandbox_tenant_id,
                instance_id: row.sandbox_instance_id,
            },
            trigger,
            slot_at: from_micros(row.slot_us),
            outcome,
            reason_code,
            message: row.message,
            started_at: from_micros(row.started_at_us),
            finished_at: row.finished_at_us.map(from_micros),
            keep_until: from_micros(row.keep_until_us),
            pit: row.pit_us.map(from_micros),
            recovery_point_seconds: row.recovery_point_seconds,
            plan_id: row.plan_id,
            job_id: row.job_id,
            restore_ms: row.restore_ms,
            rows_per_second: row.rows_per_second,
            rows_verified: row.rows_verified,
            rows_mismatched: row.rows_mismatched,
            mismatches,
            sample_seed: row.sample_seed,
            manifest_sha256: row.manifest_sha256,
            sandbox_cleaned: row.sandbox_cleaned,
        })
    }
}
