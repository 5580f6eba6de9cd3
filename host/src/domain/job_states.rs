//! The states of a job and of its execution, the event types that record
//! their changes, and what a queued job waits for: the vocabulary the
//! queue, the lifecycle and the execution engine share.

use strum::{EnumIter, EnumString, IntoStaticStr};

use super::DomainError;
use super::ReasonCode;

/// Where a job is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, EnumString, IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        super::error::parse_stored(stringify!(JobStatus), name)
    }
}

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

/// How far execution got, set by the execution engine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, EnumString, IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum ExecutionState {
    NotStarted,
    InProgress,
    Paused,
    Terminal,
}

impl ExecutionState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        super::error::parse_stored(stringify!(ExecutionState), name)
    }
}

/// What an event records.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, EnumString, IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum JobEventType {
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

impl JobEventType {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        super::error::parse_stored(stringify!(JobEventType), name)
    }
}

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

/// Where a queued job stands; empty once it runs or ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueInfo {
    /// `waiting_table_lock` while queued.
    pub wait_reason_code: Option<ReasonCode>,
    /// Its tables that are held, or wanted by an earlier queued job.
    pub wait_tables: Vec<String>,
    /// 1 + the number of earlier queued jobs sharing a table with it.
    pub queue_position: Option<i64>,
    /// The oldest running jobs holding, and earlier queued jobs wanting,
    /// its tables, in admission order (at most `BLOCKING_JOB_IDS_SHOWN`).
    pub blocking_job_ids: Vec<String>,
    /// How many jobs block it in all.
    pub blocking_job_count: i64,
}
