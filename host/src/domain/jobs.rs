//! Jobs as the service shows them: status, execution state, event types,
//! the queue metadata derived from the live lock queue, and the reads
//! (`get`, `list`, `events`) with tenant scoping.
//!
//! Queue metadata (`wait_tables`, `queue_position`, `blocking_job_ids`) is
//! derived from the lock rows when a job is read, never stored: it changes
//! whenever any job sharing a table moves, and storing it would mean
//! rewriting every queued job on each release.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::capability::{Principal, TenantScope};
use super::queue;
use super::DomainError;
use crate::store::job_events::EventRow;
use crate::store::jobs::{JobListFilter, JobRow};
use crate::store::Store;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses a stored name.
            pub fn parse(name: &str) -> Result<Self, DomainError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name).ok_or_else(|| {
                    DomainError::Internal(format!(
                        concat!("unknown ", stringify!($name), " {:?}"), name
                    ))
                })
            }
        }
    };
}

wire_enum!(
    /// Where a job is in its life.
    JobStatus {
        Queued = "queued",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
);

impl JobStatus {
    /// The statuses a job can still leave.
    pub const LIVE: [JobStatus; 2] = [JobStatus::Queued, JobStatus::Running];

    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        !Self::LIVE.contains(&self)
    }

    /// The terminal event of this status (none for live ones).
    pub fn terminal_event(self) -> Option<JobEventType> {
        match self {
            JobStatus::Completed => Some(JobEventType::JobCompleted),
            JobStatus::Failed => Some(JobEventType::JobFailed),
            JobStatus::Cancelled => Some(JobEventType::JobCancelled),
            JobStatus::Queued | JobStatus::Running => None,
        }
    }
}

wire_enum!(
    /// How far execution got, set by the execution engine.
    ExecutionState {
        NotStarted = "not_started",
        InProgress = "in_progress",
        Paused = "paused",
        Terminal = "terminal",
    }
);

wire_enum!(
    /// What an event records.
    JobEventType {
        JobQueued = "job_queued",
        JobStarted = "job_started",
        ExecutionStarted = "execution_started",
        ChunkApplied = "chunk_applied",
        ChunkRowFallback = "chunk_row_fallback",
        ExecutionPaused = "execution_paused",
        ExecutionResumed = "execution_resumed",
        ResumeBlocked = "resume_blocked",
        JobCompleted = "job_completed",
        JobFailed = "job_failed",
        JobCancelled = "job_cancelled",
        EvidenceExported = "evidence_exported",
    }
);

impl JobEventType {
    /// Whether this is one of the terminal events (exactly one per job,
    /// written only by the terminal transition).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobEventType::JobCompleted | JobEventType::JobFailed | JobEventType::JobCancelled
        )
    }
}

/// Why a queued job waits: `waiting_table_lock` is the only reason.
pub const WAITING_TABLE_LOCK: &str = "waiting_table_lock";

/// Where a queued job stands; empty once it runs or ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueInfo {
    /// `waiting_table_lock` while queued.
    pub wait_reason_code: Option<&'static str>,
    /// Its tables that are held, or wanted by an earlier queued job.
    pub wait_tables: Vec<String>,
    /// 1 + the number of earlier queued jobs sharing a table with it.
    pub queue_position: Option<i64>,
    /// Running jobs holding, and earlier queued jobs wanting, its tables,
    /// in admission order.
    pub blocking_job_ids: Vec<String>,
}

/// A job with its queue metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Admission order (internal; list cursors use it).
    pub seq: i64,
    pub job_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub tables: Vec<String>,
    pub status: JobStatus,
    pub status_reason_code: Option<String>,
    pub execution_state: ExecutionState,
    pub operator_id: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub queue: QueueInfo,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    pub seq: i64,
    pub event_type: JobEventType,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub reason_code: Option<String>,
    pub details: Value,
}

impl JobEvent {
    fn from_row(row: EventRow) -> Result<Self, DomainError> {
        Ok(Self {
            seq: row.seq,
            event_type: JobEventType::parse(&row.event_type)?,
            at: row.at,
            actor: row.actor,
            reason_code: row.reason_code,
            details: row.details,
        })
    }
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub status: Option<JobStatus>,
    pub tenant_id: Option<String>,
    pub instance_id: Option<String>,
    pub table: Option<String>,
    /// The `seq` of the last job of the previous page.
    pub after_seq: Option<i64>,
    pub limit: u64,
}

/// Reads a job with its queue metadata (derived under no lock: a snapshot
/// that may be a moment old, never inconsistent with itself).
pub async fn view(store: &Store, row: JobRow) -> Result<Job, DomainError> {
    let status = JobStatus::parse(&row.status)?;
    let queue = match status {
        JobStatus::Queued => queue::queue_info(&store.job_locks_ahead(row.job_seq).await?),
        _ => QueueInfo::default(),
    };
    Ok(Job {
        seq: row.job_seq,
        status,
        execution_state: ExecutionState::parse(&row.execution_state)?,
        job_id: row.job_id,
        plan_id: row.plan_id,
        plan_hash: row.plan_hash,
        tenant_id: row.tenant_id,
        instance_id: row.instance_id,
        tables: row.tables,
        status_reason_code: row.status_reason_code,
        operator_id: row.operator_id,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        queue,
    })
}

/// The job row if it exists and the caller may see its tenant, else
/// `404 job_not_found` (another tenant's job does not exist for it).
pub async fn visible_row(
    store: &Store,
    principal: &Principal,
    job_id: &str,
) -> Result<JobRow, DomainError> {
    match store.job(job_id).await? {
        Some(row) if principal.sees_tenant(&row.tenant_id) => Ok(row),
        _ => Err(DomainError::not_found(
            "job_not_found",
            format!("no job {job_id}"),
        )),
    }
}

/// `GET /v1/jobs/{job_id}`.
pub async fn get(store: &Store, principal: &Principal, job_id: &str) -> Result<Job, DomainError> {
    let row = visible_row(store, principal, job_id).await?;
    view(store, row).await
}

/// `GET /v1/jobs`: a page of jobs in admission order, limited to the
/// caller's tenants.
pub async fn list(
    store: &Store,
    principal: &Principal,
    query: JobQuery,
) -> Result<Vec<Job>, DomainError> {
    let tenants = match &principal.tenants {
        TenantScope::All => None,
        TenantScope::Only(set) => Some(set.iter().cloned().collect()),
    };
    let filter = JobListFilter {
        status: query.status.map(|s| s.as_str().to_owned()),
        tenant_id: query.tenant_id,
        instance_id: query.instance_id,
        table: query.table,
        tenants,
        after_seq: query.after_seq,
        limit: query.limit,
    };
    let mut jobs = Vec::new();
    for row in store.jobs(&filter).await? {
        jobs.push(view(store, row).await?);
    }
    Ok(jobs)
}

/// `GET /v1/jobs/{job_id}/events`: a page of events, oldest first.
pub async fn events(
    store: &Store,
    principal: &Principal,
    job_id: &str,
    after_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<JobEvent>, DomainError> {
    let row = visible_row(store, principal, job_id).await?;
    store
        .job_events(row.job_seq, after_seq, limit)
        .await?
        .into_iter()
        .map(JobEvent::from_row)
        .collect()
}
