//! Jobs as the service shows them: status, execution state, event types,
//! the queue metadata derived from the live lock queue, and the reads
//! (`get`, `list`, `events`) with tenant scoping.
//!
//! Queue metadata (`wait_tables`, `queue_position`, `blocking_job_ids`) is
//! derived from the lock rows when a job is read, never stored: it changes
//! whenever any job sharing a table moves, and storing it would mean
//! rewriting every queued job on each release.

use crate::domain::ReasonCode;
use crate::domain::RestoreService;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::job_states::{ExecutionState, JobEventType, JobStatus, QueueInfo};
use super::paging::{Page, PageRequest};
use super::principal::{Capability, Principal, TenantScope};
use super::queue;
use super::DomainError;
use crate::store::job_events::EventRow;
use crate::store::jobs::{JobListFilter, JobRow};
use crate::store::Store;

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
    pub status_reason_code: Option<ReasonCode>,
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
    pub reason_code: Option<ReasonCode>,
    pub details: Value,
}

impl JobEvent {
    fn from_row(row: EventRow) -> Result<Self, DomainError> {
        Ok(Self {
            seq: row.seq,
            event_type: JobEventType::parse(&row.event_type)?,
            at: row.at,
            actor: row.actor,
            reason_code: stored_reason(row.reason_code.as_deref())?,
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
        status_reason_code: stored_reason(row.status_reason_code.as_deref())?,
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
            ReasonCode::JobNotFound,
            format!("no job {job_id}"),
        )),
    }
}

impl RestoreService {
    /// `GET /v1/jobs/{job_id}`.
    pub async fn get_job(&self, principal: &Principal, job_id: &str) -> Result<Job, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreRead])?;
        let row = visible_row(store, principal, job_id).await?;
        view(store, row).await
    }

    /// `GET /v1/jobs`: a page of jobs in admission order, limited to the
    /// caller's tenants.
    pub async fn list_jobs(
        &self,
        principal: &Principal,
        query: JobQuery,
        page: PageRequest,
    ) -> Result<Page<Job>, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreRead])?;
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
            after_seq: Some(page.after),
            limit: page.fetch(),
        };
        let mut jobs = Vec::new();
        for row in store.jobs(&filter).await? {
            jobs.push(view(store, row).await?);
        }
        Ok(Page::of(jobs, page, |job| job.seq))
    }

    /// `GET /v1/jobs/{job_id}/events`: a page of events, oldest first.
    pub async fn job_events(
        &self,
        principal: &Principal,
        job_id: &str,
        page: PageRequest,
    ) -> Result<Page<JobEvent>, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreRead])?;
        let row = visible_row(store, principal, job_id).await?;
        let events = store
            .job_events(row.job_seq, Some(page.after), page.fetch())
            .await?
            .into_iter()
            .map(JobEvent::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(events, page, |event| event.seq))
    }
}

/// A reason code read back from storage; an unknown one is corrupt data.
pub fn stored_reason(name: Option<&str>) -> Result<Option<ReasonCode>, DomainError> {
    name.map(|n| super::error::parse_stored("reason code", n))
        .transpose()
}
