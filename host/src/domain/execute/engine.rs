//! The execute and resume flows and the chunk loop.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{json, Value};

use super::super::capability::Principal;
use super::super::job_lifecycle::{self, NewJobEvent};
use super::super::jobs::{self, ExecutionState, JobEventType, JobStatus};
use super::super::plan::document::{PlanDocument, TableDoc};
use super::super::queue::JobFinish;
use super::super::{ops, DomainError};
use super::checks::{self, Exercise};
use super::checksums::{chunk_digest, precondition_checksum};
use super::view::{self, ExecutionView, ResumeEntry};
use super::{media, revalidate, ExecContext};
use crate::store::chunk_apply::{ChunkApply, ChunkOutcome, ChunkResult};
use crate::store::execution::{ChunkRow, ExecutionRow};
use crate::store::job_events::NewEventRow;
use crate::store::jobs::JobRow;

/// How a call ended: the job is terminal (200) or paused at a chunk boundary (202).
#[derive(Debug)]
pub enum ExecOutcome {
    Terminal(ExecutionView),
    Paused(ExecutionView),
}

/// The checksums a resume was told to expect.
#[derive(Debug, Clone)]
pub struct ResumeExpectation {
    pub plan_checksum: String,
    pub precondition_checksum: String,
}

/// Row outcomes embedded in execute and resume answers.
const EMBEDDED_OUTCOMES: u64 = 1000;

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// `POST /v1/jobs/{job_id}/execution`.
pub async fn execute(
    ctx: &ExecContext,
    principal: &Principal,
    job_id: &str,
    exercise: Exercise,
    max_chunks: Option<u32>,
) -> Result<ExecOutcome, DomainError> {
    let store = &ctx.store;
    let job = jobs::visible_row(store, principal, job_id).await?;
    let caps = checks::exercised(principal, &exercise)?;
    require_running(ctx, &job).await?;
    if store.execution(job_id).await?.is_some() {
        return Err(DomainError::conflict(
            "execution_already_started",
            format!("job {job_id} already started executing; continue it with POST /v1/jobs/{job_id}/resume"),
        ));
    }
    ops::entitlement::ensure_entitled(store, &job.tenant_id).await?;
    let plan = load_plan(ctx, &job).await?;
    let confirmation = exercise.elevated_confirmation.as_ref();
    checks::capability(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
    checks::media_caps(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
    let holder = format!("{}:{}", ctx.holder, uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    let (row, chunks) = new_execution(ctx, &job, &plan, &holder, now).await?;
    if !store.create_execution(&row, &chunks).await? {
        return Err(in_progress(job_id));
    }
    if let Some(invalid) = revalidate::revalidate(store, &plan).await? {
        fail_job(
            ctx,
            &job,
            &holder,
            invalid.reason_code,
            &principal.operator_id,
        )
        .await?;
        return Err(invalid.error);
    }
    event(
        ctx,
        job_id,
        JobEventType::ExecutionStarted,
        &principal.operator_id,
        None,
        json!({"total_chunks": row.total_chunks}),
    )
    .await?;
    job_lifecycle::set_execution_state(store, job_id, ExecutionState::InProgress, None).await?;
    run(ctx, principal, &job, &plan, &holder, max_chunks).await
}

/// `POST /v1/jobs/{job_id}/resume`.
pub async fn resume(
    ctx: &ExecContext,
    principal: &Principal,
    job_id: &str,
    exercise: Exercise,
    expect: ResumeExpectation,
    max_chunks: Option<u32>,
) -> Result<ExecOutcome, DomainError> {
    let store = &ctx.store;
    let job = jobs::visible_row(store, principal, job_id).await?;
    let caps = checks::exercised(principal, &exercise)?;
    let Some(exec) = store.execution(job_id).await? else {
        return Err(DomainError::conflict(
            "blocked_resume_checkpoint_missing",
            format!("job {job_id} has no checkpoint to resume from; replan and create a new job"),
        ));
    };
    require_running(ctx, &job).await?;
    ops::entitlement::ensure_entitled(store, &job.tenant_id).await?;
    let plan = load_plan(ctx, &job).await?;
    if expect.plan_checksum != exec.plan_checksum
        || expect.precondition_checksum != exec.precondition_checksum
    {
        let details = json!({"expected_plan_checksum": expect.plan_checksum, "plan_checksum": exec.plan_checksum,
            "expected_precondition_checksum": expect.precondition_checksum,
            "precondition_checksum": exec.precondition_checksum, "mismatch": "checksum"});
        return Err(resume_blocked(ctx, job_id, &principal.operator_id, details).await?);
    }
    let confirmation = exercise.elevated_confirmation.as_ref();
    checks::capability(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
    checks::media_caps(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
    let holder = format!("{}:{}", ctx.holder, uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    let expires = now + ChronoDuration::from_std(ctx.settings.lease).unwrap_or_default();
    if !store
        .take_lease(job_id, &holder, micros(now), micros(expires))
        .await?
    {
        return Err(in_progress(job_id));
    }
    if let Some(details) = target_changed(ctx, &plan, &exec).await? {
        store
            .release_lease(
                job_id,
                &holder,
                &exec.state,
                exec.status_reason_code.as_deref(),
                Utc::now(),
            )
            .await?;
        return Err(resume_blocked(ctx, job_id, &principal.operator_id, details).await?);
    }
    if let Some(invalid) = revalidate::revalidate(store, &plan).await? {
        fail_job(
            ctx,
            &job,
            &holder,
            invalid.reason_code,
            &principal.operator_id,
        )
        .await?;
        return Err(invalid.error);
    }
    let mut resumes: Vec<ResumeEntry> =
        serde_json::from_value(exec.resumes.clone()).unwrap_or_default();
    resumes.push(ResumeEntry {
        at: super::super::plan::gate::wire_time(now),
        operator_id: principal.operator_id.clone(),
        from_chunk_index: exec.next_chunk_index,
    });
    let resumes =
        serde_json::to_value(&resumes).map_err(|e| DomainError::Internal(e.to_string()))?;
    store.record_resume(job_id, &holder, &resumes, now).await?;
    let details = json!({"from_chunk_index": exec.next_chunk_index});
    event(
        ctx,
        job_id,
        JobEventType::ExecutionResumed,
        &principal.operator_id,
        None,
        details,
    )
    .await?;
    job_lifecycle::set_execution_state(store, job_id, ExecutionState::InProgress, None).await?;
    run(ctx, principal, &job, &plan, &holder, max_chunks).await
}

async fn require_running(ctx: &ExecContext, job: &JobRow) -> Result<(), DomainError> {
    if job.status == JobStatus::Running.as_str() {
        return Ok(());
    }
    let view = jobs::view(&ctx.store, job.clone()).await?;
    Err(DomainError::Conflict {
        reason_code: "job_not_running".into(),
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

fn in_progress(job_id: &str) -> DomainError {
    DomainError::conflict(
        "execution_in_progress",
        format!("job {job_id} is executing elsewhere; retry once that call returns or its lease expires"),
    )
}

async fn load_plan(ctx: &ExecContext, job: &JobRow) -> Result<PlanDocument, DomainError> {
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

async fn event(
    ctx: &ExecContext,
    job_id: &str,
    event_type: JobEventType,
    actor: &str,
    reason_code: Option<&str>,
    details: Value,
) -> Result<(), DomainError> {
    let event = NewJobEvent {
        event_type,
        actor: actor.to_owned(),
        reason_code: reason_code.map(str::to_owned),
        details,
    };
    job_lifecycle::append_event(&ctx.store, job_id, event, Utc::now()).await?;
    Ok(())
}

async fn resume_blocked(
    ctx: &ExecContext,
    job_id: &str,
    actor: &str,
    details: Value,
) -> Result<DomainError, DomainError> {
    let reason = "blocked_resume_precondition_mismatch";
    event(
        ctx,
        job_id,
        JobEventType::ResumeBlocked,
        actor,
        Some(reason),
        details.clone(),
    )
    .await?;
    Ok(DomainError::Conflict {
        reason_code: reason.into(),
        message: "the checkpoint's preconditions no longer hold; replan and create a new job"
            .into(),
        details: Some(details),
    })
}

/// The execution row and chunk list of a first execute: each chunk's
/// digest of the target hashes its rows assume.
async fn new_execution(
    ctx: &ExecContext,
    job: &JobRow,
    plan: &PlanDocument,
    holder: &str,
    now: DateTime<Utc>,
) -> Result<(ExecutionRow, Vec<ChunkRow>), DomainError> {
    let mut chunks = Vec::with_capacity(plan.chunking.total_chunks as usize);
    for index in 0..plan.chunking.total_chunks {
        let rows = ctx.store.plan_chunk_keys(&plan.plan_id, index).await?;
        let digest = chunk_digest(rows.iter().map(|r| (r, r.before_sha256.as_deref())))?;
        chunks.push(ChunkRow {
            chunk_index: index,
            chunk_id: format!("{}:{index}", job.job_id),
            status: "pending".into(),
            row_count: rows.len() as i64,
            fallback_trigger_conflict_ids: Vec::new(),
            preconditions_sha256: digest,
        });
    }
    let digests: Vec<String> = chunks
        .iter()
        .map(|c| c.preconditions_sha256.clone())
        .collect();
    let expires = now + ChronoDuration::from_std(ctx.settings.lease).unwrap_or_default();
    let row = ExecutionRow {
        job_id: job.job_id.clone(),
        plan_id: plan.plan_id.clone(),
        plan_checksum: plan.plan_checksum.clone(),
        precondition_checksum: precondition_checksum(&plan.tables, &digests)?,
        next_chunk_index: 0,
        total_chunks: plan.chunking.total_chunks,
        state: "in_progress".into(),
        status_reason_code: None,
        lease_holder: Some(holder.to_owned()),
        lease_expires_us: Some(micros(expires)),
        resume_count: 0,
        resumes: json!([]),
        media_done: false,
        created_at: now,
        updated_at: now,
    };
    Ok((row, chunks))
}

/// Whether the target still satisfies what the remaining chunks assume:
/// the tables' schema and permission, and each remaining row's hash.
async fn target_changed(
    ctx: &ExecContext,
    plan: &PlanDocument,
    exec: &ExecutionRow,
) -> Result<Option<Value>, DomainError> {
    for planned in &plan.tables {
        let now = ctx
            .store
            .target_table(&plan.tenant_id, &plan.instance_id, &planned.table)
            .await?;
        let current = TableDoc {
            table: planned.table.clone(),
            schema_sha256: now.as_ref().map(|t| t.schema_sha256.clone()),
            write_allowed: now.as_ref().is_some_and(|t| t.write_allowed),
        };
        if current.schema_sha256 != planned.schema_sha256
            || current.write_allowed != planned.write_allowed
        {
            return Ok(Some(json!({"mismatch": "table", "table": planned.table})));
        }
    }
    let chunks = ctx.store.execution_chunks(&exec.job_id).await?;
    for chunk in chunks
        .iter()
        .filter(|c| c.chunk_index >= exec.next_chunk_index)
    {
        let rows = ctx
            .store
            .plan_chunk_keys(&plan.plan_id, chunk.chunk_index)
            .await?;
        let current = ctx
            .store
            .target_hashes(
                &plan.tenant_id,
                &plan.instance_id,
                &plan.plan_id,
                chunk.chunk_index,
                &rows,
            )
            .await?;
        let digest = chunk_digest(
            rows.iter()
                .zip(current.iter())
                .map(|(r, sha)| (r, sha.as_deref())),
        )?;
        if digest != chunk.preconditions_sha256 {
            return Ok(Some(
                json!({"mismatch": "target_rows", "chunk_index": chunk.chunk_index}),
            ));
        }
    }
    Ok(None)
}

/// Ends the job `failed` (revalidation), releasing locks and the lease.
async fn fail_job(
    ctx: &ExecContext,
    job: &JobRow,
    holder: &str,
    reason: &str,
    actor: &str,
) -> Result<(), DomainError> {
    ctx.store
        .release_lease(&job.job_id, holder, "failed", Some(reason), Utc::now())
        .await?;
    finish(ctx, &job.job_id, JobStatus::Failed, reason, actor).await?;
    Ok(())
}

async fn finish(
    ctx: &ExecContext,
    job_id: &str,
    status: JobStatus,
    reason: &str,
    actor: &str,
) -> Result<Vec<String>, DomainError> {
    let done = job_lifecycle::finish(
        &ctx.store,
        job_id,
        JobFinish {
            status,
            reason_code: reason.to_owned(),
            actor: actor.to_owned(),
            details: Default::default(),
        },
        Utc::now(),
    )
    .await?;
    super::super::evidence::operations::spawn_generate_for_job(
        ctx.store.clone(),
        ctx.evidence.clone(),
        job_id.to_owned(),
    );
    Ok(done.promoted_job_ids)
}

/// Why to stop before the next chunk, if at all.
async fn pause_reason(
    ctx: &ExecContext,
    principal: &Principal,
    tenant_id: &str,
    applied: u32,
    max_chunks: Option<u32>,
) -> Result<Option<&'static str>, DomainError> {
    if ctx.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(Some("paused_server_shutdown"));
    }
    if principal.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Ok(Some("paused_auth_expired"));
    }
    if !ops::entitlement::is_entitled(&ctx.store, tenant_id).await? {
        return Ok(Some("paused_entitlement_disabled"));
    }
    Ok(max_chunks
        .filter(|max| applied >= *max)
        .map(|_| "paused_max_chunks"))
}

async fn run(
    ctx: &ExecContext,
    principal: &Principal,
    job: &JobRow,
    plan: &PlanDocument,
    holder: &str,
    max_chunks: Option<u32>,
) -> Result<ExecOutcome, DomainError> {
    let store = &ctx.store;
    let exec = store
        .execution(&job.job_id)
        .await?
        .ok_or_else(|| in_progress(&job.job_id))?;
    let chunks = store.execution_chunks(&job.job_id).await?;
    let digests: Vec<String> = chunks
        .iter()
        .map(|c| c.preconditions_sha256.clone())
        .collect();
    let remaining = chunks
        .iter()
        .filter(|c| c.chunk_index >= exec.next_chunk_index);
    for (applied, chunk) in remaining.enumerate() {
        let applied = u32::try_from(applied).unwrap_or(u32::MAX);
        if let Some(reason) =
            pause_reason(ctx, principal, &job.tenant_id, applied, max_chunks).await?
        {
            return pause(ctx, job, holder, reason, &principal.operator_id).await;
        }
        let rows = store
            .plan_chunk_keys(&plan.plan_id, chunk.chunk_index)
            .await?;
        let next =
            precondition_checksum(&plan.tables, &digests[(chunk.chunk_index as usize + 1)..])?;
        let now = Utc::now();
        let expires = now + ChronoDuration::from_std(ctx.settings.lease).unwrap_or_default();
        let event = |result: &ChunkResult| NewEventRow {
            event_type: if result.conflicts.is_empty() {
                JobEventType::ChunkApplied
            } else {
                JobEventType::ChunkRowFallback
            }
            .as_str()
            .to_owned(),
            at: now,
            actor: principal.operator_id.clone(),
            reason_code: None,
            details: json!({"chunk_index": chunk.chunk_index, "chunk_id": chunk.chunk_id,
                "row_count": rows.len(), "applied": result.applied,
                "fallback_trigger_conflict_ids": result.conflicts}),
        };
        let apply = ChunkApply {
            job_id: &job.job_id,
            job_seq: job.job_seq,
            plan_id: &plan.plan_id,
            plan_hash: &plan.plan_hash,
            tenant_id: &plan.tenant_id,
            instance_id: &plan.instance_id,
            chunk_index: chunk.chunk_index,
            chunk_id: &chunk.chunk_id,
            holder,
            lease_expires_us: micros(expires),
            job_status: JobStatus::Running.as_str(),
            next_precondition_checksum: &next,
            now,
            rows: &rows,
            event: &event,
        };
        match store.apply_chunk(&apply).await? {
            ChunkOutcome::Applied(_) => {}
            ChunkOutcome::LeaseLost => return Err(in_progress(&job.job_id)),
            ChunkOutcome::JobEnded => return Err(ended_meanwhile(ctx, &job.job_id, holder).await),
        }
    }
    if !exec.media_done {
        let retry = media::Retry {
            attempts: ctx.settings.media_attempts,
            backoff: ctx.settings.media_backoff,
        };
        media::restore_all(store, &ctx.media, &job.job_id, plan, retry).await?;
        store.set_media_done(&job.job_id, holder).await?;
    }
    store
        .release_lease(&job.job_id, holder, "completed", None, Utc::now())
        .await?;
    let promoted = finish(
        ctx,
        &job.job_id,
        JobStatus::Completed,
        "completed",
        &principal.operator_id,
    )
    .await?;
    let exec = store
        .execution(&job.job_id)
        .await?
        .ok_or_else(|| in_progress(&job.job_id))?;
    let mut view = view::read(store, &exec, 0, EMBEDDED_OUTCOMES).await?;
    view.promoted_job_ids = Some(promoted);
    Ok(ExecOutcome::Terminal(view))
}

/// The job was completed by an operator while it executed: the chunk in
/// flight was not written, the execution ends `failed` with the job's
/// reason and the caller gets `409 job_not_running` with the job's state.
async fn ended_meanwhile(ctx: &ExecContext, job_id: &str, holder: &str) -> DomainError {
    let job = match ctx.store.job(job_id).await {
        Ok(Some(job)) => job,
        Ok(None) => return DomainError::Internal(format!("job {job_id} vanished while executing")),
        Err(e) => return e.into(),
    };
    let reason = job.status_reason_code.as_deref();
    if let Err(e) = ctx
        .store
        .release_lease(job_id, holder, "failed", reason, Utc::now())
        .await
    {
        return e.into();
    }
    match require_running(ctx, &job).await {
        Err(e) => e,
        Ok(()) => DomainError::Internal(format!("job {job_id} runs but refused a chunk")),
    }
}

async fn pause(
    ctx: &ExecContext,
    job: &JobRow,
    holder: &str,
    reason: &'static str,
    actor: &str,
) -> Result<ExecOutcome, DomainError> {
    let store = &ctx.store;
    store
        .release_lease(&job.job_id, holder, "paused", Some(reason), Utc::now())
        .await?;
    job_lifecycle::set_execution_state(store, &job.job_id, ExecutionState::Paused, Some(reason))
        .await?;
    event(
        ctx,
        &job.job_id,
        JobEventType::ExecutionPaused,
        actor,
        Some(reason),
        json!({}),
    )
    .await?;
    let exec = store
        .execution(&job.job_id)
        .await?
        .ok_or_else(|| in_progress(&job.job_id))?;
    Ok(ExecOutcome::Paused(
        view::read(store, &exec, 0, EMBEDDED_OUTCOMES).await?,
    ))
}
