//! The wire shapes of `/v1/admin/drills`: schedules, runs and their pages.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use super::plan_types::InstanceRefBody;
use super::types::Timestamp;
use crate::domain::drills::{
    DrillOutcome, DrillRun, DrillTrigger, Mismatch, Schedule, ScheduleInput,
};
use crate::domain::ReasonCode;

/// A restore drill schedule to create.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillScheduleRequest {
    /// The instance whose backup the drill restores.
    pub source: InstanceRefBody,
    /// The sandbox the drill restores into and puts back afterwards; never
    /// the source.
    pub sandbox: InstanceRefBody,
    /// When drills run: a cron expression of five fields (minute hour
    /// day-of-month month day-of-week) or six (seconds first), in UTC.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub cron: String,
    /// The tables restored (each a name of 1 to 256 characters, not only
    /// blanks).
    #[oai(validator(min_items = 1, max_items = 100, max_length = 256, pattern = r"\S"))]
    pub tables: Vec<String>,
    /// Restore only this many records of each table, chosen at random
    /// (the seed is recorded on each run); all records when absent.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub sample_per_table: Option<u32>,
    /// Days each run is kept (default 90).
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    pub retention_days: Option<u32>,
}

impl From<DrillScheduleRequest> for ScheduleInput {
    fn from(r: DrillScheduleRequest) -> Self {
        Self {
            source: r.source.into(),
            sandbox: r.sandbox.into(),
            cron: r.cron,
            tables: r.tables,
            sample_per_table: r.sample_per_table,
            retention_days: r.retention_days.unwrap_or(90),
        }
    }
}

/// A stored drill schedule.
#[derive(Debug, Object)]
#[oai(remote = "Schedule")]
pub struct DrillScheduleBody {
    /// The schedule's id.
    pub schedule_id: String,
    /// The instance whose backup is restored.
    pub source: InstanceRefBody,
    /// Where drills restore into.
    pub sandbox: InstanceRefBody,
    /// The cron expression (UTC).
    pub cron: String,
    /// The tables restored.
    pub tables: Vec<String>,
    /// Records restored per table; absent: all.
    pub sample_per_table: Option<u32>,
    /// Days each run is kept.
    pub retention_days: u32,
    /// The operator who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// The slot it fires at next.
    pub next_run_at: Timestamp,
}

/// Every drill schedule the caller may see, by id.
#[derive(Debug, Object)]
pub struct DrillSchedules {
    /// The schedules.
    pub items: Vec<DrillScheduleBody>,
}

/// How a drill ended: `running` (not yet), `passed`, `failed` (see
/// `reason_code`) or `skipped` (the source may not be restored now; see
/// `reason_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case", remote = "DrillOutcome")]
#[serde(rename_all = "snake_case")]
pub enum DrillOutcomeName {
    Running,
    Passed,
    Failed,
    Skipped,
}

/// What started a drill: its schedule's cron, or an operator by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case", remote = "DrillTrigger")]
#[serde(rename_all = "snake_case")]
pub enum DrillTriggerName {
    Schedule,
    Manual,
}

/// A restored row whose content in the sandbox is not the backup's.
#[derive(Debug, Object)]
#[oai(remote = "Mismatch")]
pub struct DrillMismatch {
    /// The table.
    pub table: String,
    /// The record.
    pub sys_id: String,
    /// The backup's content hash at the PIT, as ingested (null: the record
    /// did not exist then).
    pub expected_sha256: Option<String>,
    /// The sandbox's content hash (null: the record is missing there).
    pub observed_sha256: Option<String>,
}

/// One drill run.
#[derive(Debug, Object)]
pub struct DrillRunBody {
    /// The run's id.
    pub run_id: String,
    /// Its schedule.
    pub schedule_id: String,
    /// The instance whose backup was restored.
    pub source: InstanceRefBody,
    /// The sandbox restored into.
    pub sandbox: InstanceRefBody,
    /// What started it.
    pub trigger: DrillTriggerName,
    /// The scheduled slot (for a run by hand: when it was asked for).
    pub slot_at: Timestamp,
    /// How it ended.
    pub outcome: DrillOutcomeName,
    /// Why it failed or was skipped (see the runbooks).
    pub reason_code: Option<ReasonCode>,
    /// What happened, in words.
    pub message: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// Until when it is kept.
    pub keep_until: Timestamp,
    /// The point in time restored: just behind the source's watermarks.
    pub pit: Option<Timestamp>,
    /// Measured recovery point: how far the PIT lay behind the drill's
    /// start (the watermark lag), in seconds.
    pub recovery_point_seconds: Option<f64>,
    /// The plan the drill made.
    pub plan_id: Option<String>,
    /// The job that restored into the sandbox.
    pub job_id: Option<String>,
    /// Measured recovery time: wall time of the restore (job created to
    /// execution ended), in milliseconds.
    pub restore_ms: Option<i64>,
    /// Rows restored per second of that wall time.
    pub rows_per_second: Option<f64>,
    /// Records compared with the backup.
    pub rows_verified: i64,
    /// Records whose content differs from the backup.
    pub rows_mismatched: i64,
    /// The mismatched records (at most 1000).
    pub mismatches: Vec<DrillMismatch>,
    /// The seed of the random sample, when the schedule samples.
    pub sample_seed: Option<i64>,
    /// The manifest hash of the job's evidence package.
    pub manifest_sha256: Option<String>,
    /// Whether the sandbox was put back as it was before the drill.
    pub sandbox_cleaned: bool,
}

impl From<DrillRun> for DrillRunBody {
    fn from(r: DrillRun) -> Self {
        Self {
            run_id: r.run_id,
            schedule_id: r.schedule_id,
            source: r.source.into(),
            sandbox: r.sandbox.into(),
            trigger: r.trigger.into(),
            slot_at: r.slot_at.into(),
            outcome: r.outcome.into(),
            reason_code: r.reason_code,
            message: r.message,
            started_at: r.started_at.into(),
            finished_at: r.finished_at.map(Into::into),
            keep_until: r.keep_until.into(),
            pit: r.pit.map(Into::into),
            recovery_point_seconds: r.recovery_point_seconds,
            plan_id: r.plan_id,
            job_id: r.job_id,
            restore_ms: r.restore_ms,
            rows_per_second: r.rows_per_second,
            rows_verified: r.rows_verified,
            rows_mismatched: r.rows_mismatched,
            mismatches: r.mismatches.into_iter().map(Into::into).collect(),
            sample_seed: r.sample_seed,
            manifest_sha256: r.manifest_sha256,
            sandbox_cleaned: r.sandbox_cleaned,
        }
    }
}

/// A page of drill runs, oldest first.
#[derive(Debug, Object)]
pub struct DrillRunPage {
    /// The runs of this page.
    pub items: Vec<DrillRunBody>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}
