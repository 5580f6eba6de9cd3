//! What every execution flow shares: its preconditions (the job runs; its
//! plan loads), its events, and how it ends (failed by revalidation, or
//! finished with the job's one terminal event and the evidence owed).

use chrono::Utc;
use serde_json::{json, Map, Value};

use super::super::job_lifecycle::{self, NewJobEvent};
use super::super::job_states::{JobEventType, JobStatus};
use super::super::jobs;
use super::super::plan::document::PlanDocument;
use super::super::queue::JobFinish;
use super::super::RestoreService;
use super::super::{DomainError, ReasonCode};
use super::view::ExecutionPhase;
use crate::store::jobs::JobRow;

/// `409 job_not_running` with the job's wait details, unless it runs.
pub(super) async fn require_running(ctx: &RestoreService, job: &JobRow) -> Result<(), DomainError> {
    if job.status == JobStatus::Running.as_str() {
        return Ok(());
    }
    let view = jobs::view(&ctx.store, job.clone()).await?;
    Err(DomainError::Conflict {
        reason_code: ReasonCode::JobNotRunning,
        message: format!("job {} is {}, not running", job.job_id, job.status),
        details: Some(json!({
            "status": job.status,
            "status_reason_code": job.status_reason_code,
            "wait_reason_code": view.queue.wait_reason_code,
            "wait_tables": view.queue.wait_tables,
            "queue_position": view.queue.queue_position,
            "blocking_job_ids": view.queue.blocking_job_ids,
        })),
    })
}

/// `409 execution_in_progress`: another call holds the job's lease.
pub(super) fn in_progress(job_id: &str) -> DomainError {
    DomainError::conflict(
        ReasonCode::ExecutionInProgress,
        format!(
            "job {job_id} is executing elsewhere; retry once that call returns or its lease expires"
        ),
    )
}

/// The job's plan document as stored: without its delete candidates and
/// the decisions on them (they are in its rows, and execution reads
/// neither; see `plan::complete_document`).
pub(super) async fn load_plan(
    ctx: &RestoreService,
    job: &JobRow,
) -> Result<PlanDocument, DomainError> {
    let (_, document) = ctx
        .store
        .plan_document(&job.plan_id)
        .await?
        .ok_or_else(|| {
            DomainError::Internal(format!(
                "plan {} of job {} is missing",
                job.plan_id, job.job_id
            ))
        })?;
    serde_json::from_value(document).map_err(|e| DomainError::Internal(format!("stored plan: {e}")))
}

/// Records a non-terminal event of the job.
pub(super) async fn event(
    ctx: &RestoreService,
    job_id: &str,
    event_type: JobEventType,
    actor: &str,
    reason_code: Option<ReasonCode>,
    details: Value,
) -> Result<(), DomainError> {
    let event = NewJobEvent {
        event_type,
        actor: actor.to_owned(),
        reason_code,
        details,
    };
    job_lifecycle::append_event(&ctx.store, job_id, event, Utc::now()).await?;
    Ok(())
}

/// Ends the job `failed` (revalidation), releasing locks and the lease.
pub(super) async fn fail_job(
    ctx: &RestoreService,
    job: &JobRow,
    holder: &str,
    reason: ReasonCode,
    actor: &str,
) -> Result<(), DomainError> {
    let failed = ExecutionPhase::Failed.as_str();
    ctx.store
        .release_lease(
            &job.job_id,
            holder,
            failed,
            Some(reason.as_str()),
            Utc::now(),
        )
        .await?;
    finish(ctx, &job.job_id, JobStatus::Failed, reason, actor).await?;
    Ok(())
}

/// Ends the job with its terminal event and the evidence it is owed (one
/// transaction), then pays that debt in the background.
pub(super) async fn finish(
    ctx: &RestoreService,
    job_id: &str,
    status: JobStatus,
    reason: ReasonCode,
    actor: &str,
) -> Result<Vec<String>, DomainError> {
    finish_with(ctx, job_id, status, reason, actor, Map::new()).await
}

/// [`finish`] with details for the terminal event.
pub(super) async fn finish_with(
    ctx: &RestoreService,
    job_id: &str,
    status: JobStatus,
    reason: ReasonCode,
    actor: &str,
    details: Map<String, Value>,
) -> Result<Vec<String>, DomainError> {
    let done = job_lifecycle::finish(
        &ctx.store,
        job_id,
        JobFinish {
            status,
            reason_code: reason,
            actor: actor.to_owned(),
            details,
            evidence_owed: true,
        },
        Utc::now(),
    )
    .await?;
    ctx.paying().spawn_pay(job_id.to_owned());
    Ok(done.promoted_job_ids)
}
