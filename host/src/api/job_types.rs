//! Wire types of `/v1/jobs`: the job document with its queue metadata,
//! events, and the request bodies.

use poem_openapi::{Enum, Object};
use serde_json::Value;

use super::types::Timestamp;
use crate::domain::job_states::{ExecutionState, JobEventType, JobStatus};
use crate::domain::jobs::{Job, JobEvent};
use crate::domain::ReasonCode;

/// Where a job is: `queued` (waiting for table locks), `running` (holds
/// the locks of all its tables), or terminal: `completed`, `failed`,
/// `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "snake_case", remote = "JobStatus")]
#[serde(rename_all = "snake_case")]
pub enum JobStatusName {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// How far execution got: `not_started`, `in_progress`, `paused` (at a
/// chunk boundary; resumable) or `terminal` (the job ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case", remote = "ExecutionState")]
pub enum ExecutionStateName {
    NotStarted,
    InProgress,
    Paused,
    Terminal,
}

/// Why a queued job waits: `waiting_table_lock` (a table of its plan is
/// held by a running job, or wanted by an earlier queued job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WaitReasonCode {
    WaitingTableLock,
}

/// What an event records: `job_queued`, `job_started` (locks granted, at
/// creation or by promotion), the execution's progress
/// (`execution_started`, `chunk_applied`, `chunk_row_fallback`,
/// `execution_paused`, `execution_resumed`, `resume_blocked`), the one
/// terminal event (`job_completed`, `job_failed`, `job_cancelled`), and
/// `evidence_exported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case", remote = "JobEventType")]
pub enum JobEventTypeName {
    JobQueued,
    JobStarted,
    ExecutionStarted,
    ChunkApplied,
    ChunkRowFallback,
    ExecutionPaused,
    ExecutionResumed,
    ResumeBlocked,
    JobCompleted,
    JobFailed,
    JobCancelled,
    EvidenceExported,
}

/// The terminal status an operator can give a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CompletionStatus {
    /// Ends the job `failed` (default reason `failed_internal_error`).
    Failed,
    /// Ends the job `cancelled` (default reason `cancelled_by_operator`).
    Cancelled,
}

impl From<CompletionStatus> for JobStatus {
    fn from(status: CompletionStatus) -> Self {
        match status {
            CompletionStatus::Failed => JobStatus::Failed,
            CompletionStatus::Cancelled => JobStatus::Cancelled,
        }
    }
}

/// Create a job from an executable plan.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    /// The plan to run.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub plan_id: String,
    /// The `plan_hash` the caller reviewed; it must be the plan's
    /// (`409 blocked_plan_hash_mismatch`).
    #[oai(validator(min_length = 1, max_length = 256))]
    pub plan_hash: String,
}

/// An operator ends a queued or running job.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteJobRequest {
    /// `failed` or `cancelled`.
    pub status: CompletionStatus,
    /// The reason to record; default `failed_internal_error` for `failed`,
    /// `cancelled_by_operator` for `cancelled`.
    pub reason_code: Option<ReasonCode>,
    /// Who ends the job (recorded on the terminal event).
    #[oai(validator(min_length = 1, max_length = 256, pattern = r"\S"))]
    pub actor: String,
    /// Free text for the audit trail.
    #[oai(validator(max_length = 4096))]
    pub note: Option<String>,
}

/// An execute-intent job and where it stands in the lock queue.
#[derive(Debug, Object)]
pub struct JobBody {
    /// The job's id.
    pub job_id: String,
    /// The plan it runs.
    pub plan_id: String,
    /// The plan's hash at creation.
    pub plan_hash: String,
    /// Tenant of the plan.
    pub tenant_id: String,
    /// Instance of the tenant.
    pub instance_id: String,
    /// The plan's tables; the job locks `(tenant_id, instance_id, table)`
    /// for each while running.
    pub tables: Vec<String>,
    /// Where the job is.
    pub status: JobStatusName,
    /// Why it is in that status (e.g. `failed_internal_error`,
    /// `failed_media_incomplete`, `cancelled_by_operator`,
    /// `paused_auth_expired`); null when none.
    pub status_reason_code: Option<ReasonCode>,
    /// `waiting_table_lock` while queued; null otherwise.
    pub wait_reason_code: Option<WaitReasonCode>,
    /// While queued: its tables held by a running job or wanted by an
    /// earlier queued job; empty otherwise.
    pub wait_tables: Vec<String>,
    /// While queued: 1 plus the number of earlier queued jobs sharing a
    /// table with it; null otherwise.
    pub queue_position: Option<i64>,
    /// While queued: running jobs holding, and earlier queued jobs
    /// wanting, a table it needs, oldest first, at most the 20 oldest
    /// (`blocking_job_count` counts them all); empty otherwise.
    pub blocking_job_ids: Vec<String>,
    /// While queued: how many jobs hold or wait for a table it needs ahead
    /// of it, whether or not `blocking_job_ids` names them all; 0 otherwise.
    pub blocking_job_count: i64,
    /// When the job was created.
    pub created_at: Timestamp,
    /// When it got its locks and started running; null before.
    pub started_at: Option<Timestamp>,
    /// When it reached a terminal status; null before.
    pub finished_at: Option<Timestamp>,
    /// The operator whose token created it.
    pub operator_id: String,
    /// How far execution got.
    pub execution_state: ExecutionStateName,
}

impl From<Job> for JobBody {
    fn from(job: Job) -> Self {
        Self {
            job_id: job.job_id,
            plan_id: job.plan_id,
            plan_hash: job.plan_hash,
            tenant_id: job.tenant_id,
            instance_id: job.instance_id,
            tables: job.tables,
            status: job.status.into(),
            status_reason_code: job.status_reason_code,
            wait_reason_code: job
                .queue
                .wait_reason_code
                .map(|_| WaitReasonCode::WaitingTableLock),
            wait_tables: job.queue.wait_tables,
            queue_position: job.queue.queue_position,
            blocking_job_ids: job.queue.blocking_job_ids,
            blocking_job_count: job.queue.blocking_job_count,
            created_at: job.created_at.into(),
            started_at: job.started_at.map(Timestamp::from),
            finished_at: job.finished_at.map(Timestamp::from),
            operator_id: job.operator_id,
            execution_state: job.execution_state.into(),
        }
    }
}

/// A page of jobs, oldest first.
#[derive(Debug, Object)]
pub struct JobPage {
    /// The jobs of this page.
    pub items: Vec<JobBody>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

/// A job that an operator ended, and the queued jobs its release started.
#[derive(Debug, Object)]
pub struct CompletedJob {
    /// The job, now terminal (queue metadata cleared).
    pub job: JobBody,
    /// Jobs promoted from `queued` to `running` by this release, in queue
    /// order.
    pub promoted_job_ids: Vec<String>,
}

/// One transition or step of a job.
#[derive(Debug, Object)]
#[oai(remote = "JobEvent")]
pub struct JobEventBody {
    /// 1-based, dense, in the order the events happened.
    pub seq: i64,
    /// What happened.
    pub event_type: JobEventTypeName,
    /// When.
    pub at: Timestamp,
    /// Who: the operator or the token's operator, or `lock_queue` for
    /// promotions.
    pub actor: String,
    /// The reason, if any (e.g. `waiting_table_lock`, the terminal reason).
    pub reason_code: Option<ReasonCode>,
    /// Structured context (wait tables, released tables, promoted jobs, ...).
    pub details: Value,
}

/// A page of a job's events, oldest first.
#[derive(Debug, Object)]
pub struct JobEventPage {
    /// The events of this page.
    pub events: Vec<JobEventBody>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}
