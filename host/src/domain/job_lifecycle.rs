//! What changes a job: creating it from an executable plan, ending it
//! (operator completion or the execution engine), recording events and
//! setting the execution state.
//!
//! The execution engine drives jobs through [`finish`],
//! [`append_event`] and [`set_execution_state`]; inside a transaction of
//! its own it can use `store::job_events::append_event` and
//! `queue::finish_in` directly.

use crate::domain::ReasonCode;
use crate::domain::RestoreService;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::job_states::{ExecutionState, JobEventType, JobStatus};
use super::jobs::{self, Job};
use super::ops::entitlement;
use super::principal::{Capability, Principal};
use super::queue::{self, JobFinish};
use super::DomainError;
use crate::store::job_events::NewEventRow;
use crate::store::job_queue::NewJob;
use crate::store::jobs::JobRow;
use crate::store::plans::PlanHeader;
use crate::store::Store;

/// `POST /v1/jobs`: the plan to run and the hash the caller reviewed.
#[derive(Debug, Clone)]
pub struct CreateJob {
    pub plan_id: String,
    pub plan_hash: String,
}

/// `POST /v1/jobs/{job_id}/complete`: an operator ends a job.
#[derive(Debug, Clone)]
pub struct Completion {
    /// `failed` or `cancelled`.
    pub status: JobStatus,
    /// Defaults to `failed_internal_error` / `cancelled_by_operator`.
    pub reason_code: Option<ReasonCode>,
    pub actor: String,
    pub note: Option<String>,
}

/// A job that just ended, and the jobs its release promoted.
#[derive(Debug, Clone)]
pub struct Finished {
    pub job: Job,
    /// In admission order.
    pub promoted_job_ids: Vec<String>,
}

/// An event the execution engine records.
#[derive(Debug, Clone)]
pub struct NewJobEvent {
    /// Any non-terminal type (terminal events come from [`finish`]).
    pub event_type: JobEventType,
    pub actor: String,
    pub reason_code: Option<ReasonCode>,
    pub details: Value,
}

impl RestoreService {
    /// Creates a job from an executable plan; it runs at once or queues.
    pub async fn create_job(
        &self,
        principal: &Principal,
        request: CreateJob,
        now: DateTime<Utc>,
    ) -> Result<Job, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreExecute])?;
        let plan = match store.plan_header(&request.plan_id).await? {
            Some(plan) if super::plan::sees_plan(principal, &plan) => plan,
            _ => {
                return Err(DomainError::not_found(
                    ReasonCode::PlanNotFound,
                    format!("no plan {}", request.plan_id),
                ))
            }
        };
        check_plan(&plan, &request.plan_hash)?;
        check_admission(store, principal, &plan, now).await?;
        let new = NewJob {
            job_id: format!("job_{}", uuid::Uuid::new_v4().simple()),
            plan_id: plan.plan_id,
            plan_hash: plan.plan_hash,
            // A job acts on the instance restored into: its locks, its
            // execution and its journal are the target's.
            tenant_id: plan.target_tenant_id,
            instance_id: plan.target_instance_id,
            tables: plan.tables,
            status: String::new(),
            execution_state: String::new(),
            operator_id: principal.operator_id.clone(),
            created_at: now,
        };
        let row = queue::admit(store, new, now).await?;
        jobs::view(store, row).await
    }
}

fn check_plan(plan: &PlanHeader, plan_hash: &str) -> Result<(), DomainError> {
    if plan.plan_hash != plan_hash {
        return Err(DomainError::Conflict {
            reason_code: ReasonCode::BlockedPlanHashMismatch,
            message: format!("plan_hash is not the hash of plan {}", plan.plan_id),
            details: Some(json!({"plan_id": plan.plan_id})),
        });
    }
    if plan.executability != "executable" {
        let reason = jobs::stored_reason(plan.gate_reason_code.as_deref())?
            .unwrap_or(ReasonCode::BlockedPlanNotExecutable);
        return Err(DomainError::Conflict {
            message: format!(
                "plan {} is {} ({reason}); no job is created from it",
                plan.plan_id, plan.executability
            ),
            reason_code: reason,
            details: Some(json!({"plan_id": plan.plan_id, "executability": plan.executability})),
        });
    }
    Ok(())
}

/// The one place for checks that may refuse a job before it is admitted,
/// after the plan itself was accepted; nothing is written before they
/// pass. Today: the entitlement (`403 blocked_entitlement_disabled`) of
/// the source's tenant and of the target's.
pub async fn check_admission(
    store: &Store,
    _principal: &Principal,
    plan: &PlanHeader,
    _now: DateTime<Utc>,
) -> Result<(), DomainError> {
    entitlement::ensure_entitled(store, &plan.tenant_id).await?;
    if plan.target_tenant_id != plan.tenant_id {
        entitlement::ensure_entitled(store, &plan.target_tenant_id).await?;
    }
    Ok(())
}

async fn reread(store: &Store, job_id: &str) -> Result<Job, DomainError> {
    let row = store
        .job(job_id)
        .await?
        .ok_or_else(|| DomainError::Internal(format!("job {job_id} vanished")))?;
    jobs::view(store, row).await
}

impl RestoreService {
    /// An operator ends a queued or running job (`failed` or `cancelled`).
    pub async fn complete_job(
        &self,
        principal: &Principal,
        job_id: &str,
        completion: Completion,
        now: DateTime<Utc>,
    ) -> Result<Finished, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreExecute])?;
        let row = jobs::visible_row(store, principal, job_id).await?;
        let reason_code = match (completion.reason_code, completion.status) {
            (Some(reason), _) => reason,
            (None, JobStatus::Failed) => ReasonCode::FailedInternalError,
            (None, JobStatus::Cancelled) => ReasonCode::CancelledByOperator,
            (None, other) => {
                return Err(DomainError::invalid(format!(
                    "status must be failed or cancelled, not {}",
                    other.as_str()
                )))
            }
        };
        let mut details = Map::new();
        details.insert("operator_id".into(), json!(principal.operator_id));
        details.insert("note".into(), json!(completion.note));
        let finish = JobFinish {
            status: completion.status,
            reason_code,
            actor: completion.actor,
            details,
            evidence_owed: false,
        };
        finish_row(store, row, finish, now).await
    }
}

/// Ends a job with its one terminal event, releases its table locks and
/// promotes the queued jobs that may now run, in one transaction.
/// `404 job_not_found`; `409 job_already_terminal` (nothing changes).
pub async fn finish(
    store: &Store,
    job_id: &str,
    finish: JobFinish,
    now: DateTime<Utc>,
) -> Result<Finished, DomainError> {
    let Some(row) = store.job(job_id).await? else {
        return Err(DomainError::not_found(
            ReasonCode::JobNotFound,
            format!("no job {job_id}"),
        ));
    };
    finish_row(store, row, finish, now).await
}

async fn finish_row(
    store: &Store,
    row: JobRow,
    finish: JobFinish,
    now: DateTime<Utc>,
) -> Result<Finished, DomainError> {
    // A cheap refusal that takes no lock; the guarded read below decides.
    if JobStatus::parse(&row.status)?.is_terminal() {
        return Err(queue::already_terminal(&row));
    }
    let q = store.lock_queue(&row.tenant_id, &row.instance_id).await?;
    let current = q
        .job(&row.job_id)
        .await?
        .ok_or_else(|| DomainError::Internal(format!("job {} vanished", row.job_id)))?;
    let promoted_job_ids = queue::finish_in(&q, &current, &finish, now).await?;
    q.commit().await?;
    Ok(Finished {
        job: reread(store, &row.job_id).await?,
        promoted_job_ids,
    })
}

/// The stored form of a non-terminal event; refuses terminal types, which
/// only [`finish`] writes.
pub fn event_row(event: NewJobEvent, at: DateTime<Utc>) -> Result<NewEventRow, DomainError> {
    if event.event_type.is_terminal() {
        return Err(DomainError::Internal(format!(
            "{} is written only by finishing the job",
            event.event_type.as_str()
        )));
    }
    Ok(NewEventRow {
        event_type: event.event_type.as_str().to_owned(),
        at,
        actor: event.actor,
        reason_code: event.reason_code.map(|r| r.as_str().to_owned()),
        details: event.details,
    })
}

/// Records a non-terminal event; returns its `seq`.
pub async fn append_event(
    store: &Store,
    job_id: &str,
    event: NewJobEvent,
    now: DateTime<Utc>,
) -> Result<i64, DomainError> {
    let row = event_row(event, now)?;
    let not_found = || DomainError::not_found(ReasonCode::JobNotFound, format!("no job {job_id}"));
    let job = store.job(job_id).await?.ok_or_else(not_found)?;
    store
        .append_job_event(job.job_seq, &row)
        .await?
        .ok_or_else(not_found)
}

/// Sets the execution state and status reason of a running job
/// (`terminal` is set only by [`finish`]); `409 job_not_running` when the
/// job is not running.
pub async fn set_execution_state(
    store: &Store,
    job_id: &str,
    state: ExecutionState,
    status_reason_code: Option<ReasonCode>,
) -> Result<(), DomainError> {
    if state == ExecutionState::Terminal {
        return Err(DomainError::Internal(
            "the terminal execution state is set only by finishing the job".into(),
        ));
    }
    let running = JobStatus::Running.as_str();
    if store
        .set_job_execution_state(
            job_id,
            running,
            state.as_str(),
            status_reason_code.map(ReasonCode::as_str),
        )
        .await?
    {
        return Ok(());
    }
    match store.job(job_id).await? {
        None => Err(DomainError::not_found(
            ReasonCode::JobNotFound,
            format!("no job {job_id}"),
        )),
        Some(job) => Err(DomainError::Conflict {
            reason_code: ReasonCode::JobNotRunning,
            message: format!("job {job_id} is {}, not running", job.status),
            details: Some(json!({"job_id": job_id, "status": job.status})),
        }),
    }
}
