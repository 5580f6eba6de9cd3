//! The chunk loop execute and resume share: before each chunk, whether to
//! pause (shutdown, an expired token, a disabled entitlement, `max_chunks`);
//! each chunk applied in one transaction with its journal, outcomes,
//! checkpoint and event; then the media, and the job finished.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::json;

use super::super::job_lifecycle;
use super::super::job_states::{ExecutionState, JobEventType, JobStatus};
use super::super::paging::PageRequest;
use super::super::plan::document::PlanDocument;
use super::super::principal::Principal;
use super::super::RestoreService;
use super::super::{ops, DomainError, ReasonCode};
use super::checksums::precondition_checksum;
use super::finish::{event, finish, finish_with, in_progress, require_running};
use super::media;
use super::remote_chunk;
use super::view::{self, ExecutionPhase, ExecutionView};
use crate::store::chunk_apply::{ChunkApply, ChunkOutcome, ChunkResult, ChunkStart};
use crate::store::execution::ChunkRow;
use crate::store::job_events::NewEventRow;
use crate::store::jobs::JobRow;

/// How a call ended: the job is terminal (200) or paused at a chunk boundary (202).
#[derive(Debug)]
pub enum ExecOutcome {
    Terminal(ExecutionView),
    Paused(ExecutionView),
}

/// Row outcomes embedded in execute and resume answers.
const EMBEDDED_OUTCOMES: u32 = 1000;

/// Microseconds since the epoch, as leases are stored.
pub(super) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Why to stop before the next chunk, if at all.
async fn pause_reason(
    ctx: &RestoreService,
    principal: &Principal,
    tenant_id: &str,
    applied: u32,
    max_chunks: Option<u32>,
) -> Result<Option<ReasonCode>, DomainError> {
    if ctx.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(Some(ReasonCode::PausedServerShutdown));
    }
    if principal.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Ok(Some(ReasonCode::PausedAuthExpired));
    }
    if !ops::entitlement::is_entitled(&ctx.store, tenant_id).await? {
        return Ok(Some(ReasonCode::PausedEntitlementDisabled));
    }
    Ok(max_chunks
        .filter(|max| applied >= *max)
        .map(|_| ReasonCode::PausedMaxChunks))
}

/// Applies the remaining chunks from the checkpoint, then the media, and
/// finishes the job; or pauses at a chunk boundary.
pub(super) async fn run(
    ctx: &RestoreService,
    principal: &Principal,
    job: &JobRow,
    plan: &PlanDocument,
    holder: &str,
    max_chunks: Option<u32>,
) -> Result<ExecOutcome, DomainError> {
    let store = &ctx.store;
    let into = plan.target_instance();
    let target = ctx.targets.get(&into.tenant_id, &into.instance_id);
    let remote = match target.promises().atomic_with_journal {
        true => None,
        false => Some(remote_chunk::Remote::new(target.as_ref(), plan).await?),
    };
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
        let next =
            precondition_checksum(&plan.tables, &digests[(chunk.chunk_index as usize + 1)..])?;
        let step = ChunkStep {
            principal,
            job,
            plan,
            holder,
            chunk,
            next_precondition_checksum: &next,
        };
        if let Some(reason) = apply_chunk(ctx, &step, remote.as_ref()).await? {
            return pause(ctx, job, holder, reason, &principal.operator_id).await;
        }
    }
    if !exec.media_done {
        let settings = &ctx.config.execution;
        let run = media::MediaRun {
            store,
            media: &ctx.media,
            target: target.as_ref(),
            retry: media::Retry {
                attempts: settings.media_attempts,
                backoff: std::time::Duration::from_millis(settings.media_backoff_ms),
            },
        };
        if let Some(reason) = media::restore_all(&run, &job.job_id, plan).await? {
            return pause(ctx, job, holder, reason, &principal.operator_id).await;
        }
        if let Some(reason) = media::remove_all(&run, &job.job_id, plan).await? {
            return pause(ctx, job, holder, reason, &principal.operator_id).await;
        }
        store.set_media_done(&job.job_id, holder).await?;
    }
    let promoted = end(ctx, &job.job_id, holder, &principal.operator_id).await?;
    let mut view = read_view(ctx, &job.job_id).await?;
    view.promoted_job_ids = Some(promoted);
    Ok(ExecOutcome::Terminal(view))
}

/// Ends a job whose chunks and media all ran: `completed`, or `failed`
/// with `failed_media_incomplete` when a media outcome failed (the rows
/// stay applied and journaled; the terminal event lists the failed
/// candidates). The execution ends in the same state.
async fn end(
    ctx: &RestoreService,
    job_id: &str,
    holder: &str,
    actor: &str,
) -> Result<Vec<String>, DomainError> {
    let failed = media::failed(&ctx.store, job_id).await?;
    if failed.is_empty() {
        let completed = ExecutionPhase::Completed.as_str();
        ctx.store
            .release_lease(job_id, holder, completed, None, Utc::now())
            .await?;
        return finish(
            ctx,
            job_id,
            JobStatus::Completed,
            ReasonCode::Completed,
            actor,
        )
        .await;
    }
    let reason = ReasonCode::FailedMediaIncomplete;
    let phase = ExecutionPhase::Failed.as_str();
    ctx.store
        .release_lease(job_id, holder, phase, Some(reason.as_str()), Utc::now())
        .await?;
    let mut details = serde_json::Map::new();
    details.insert("failed_media_count".into(), json!(failed.len()));
    let shown: Vec<&String> = failed.iter().take(media::FAILED_IDS_SHOWN).collect();
    details.insert("failed_media_candidate_ids".into(), json!(shown));
    finish_with(ctx, job_id, JobStatus::Failed, reason, actor, details).await
}

/// What one chunk is applied for.
pub(super) struct ChunkStep<'a> {
    pub principal: &'a Principal,
    pub job: &'a JobRow,
    pub plan: &'a PlanDocument,
    pub holder: &'a str,
    pub chunk: &'a ChunkRow,
    pub next_precondition_checksum: &'a str,
}

/// How many times a chunk is tried when records it creates keep appearing
/// in the embedded target while it applies, or (on PostgreSQL) records it
/// deletes keep changing (each try sees the ones committed before it as
/// conflicts).
const RACE_ATTEMPTS: usize = 5;

/// One chunk: in one transaction with its journal, outcomes, checkpoint
/// and event when the target promises that (the embedded target), else row
/// by row around the remote writes. Returns why to pause, if it must.
async fn apply_chunk(
    ctx: &RestoreService,
    step: &ChunkStep<'_>,
    remote: Option<&remote_chunk::Remote<'_>>,
) -> Result<Option<ReasonCode>, DomainError> {
    let (job, plan, chunk) = (step.job, step.plan, step.chunk);
    let rows = ctx
        .store
        .plan_chunk_keys(&plan.plan_id, chunk.chunk_index)
        .await?;
    let now = Utc::now();
    let expires = now + ChronoDuration::from_std(ctx.lease()).unwrap_or_default();
    let event = |result: &ChunkResult| NewEventRow {
        event_type: if result.conflicts.is_empty() {
            JobEventType::ChunkApplied
        } else {
            JobEventType::ChunkRowFallback
        }
        .as_str()
        .to_owned(),
        at: now,
        actor: step.principal.operator_id.clone(),
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
        // Rows, journal and outcomes are the target's.
        tenant_id: &job.tenant_id,
        instance_id: &job.instance_id,
        chunk_index: chunk.chunk_index,
        chunk_id: &chunk.chunk_id,
        holder: step.holder,
        lease_expires_us: micros(expires),
        job_status: JobStatus::Running.as_str(),
        next_precondition_checksum: step.next_precondition_checksum,
        now,
        rows: &rows,
        event: &event,
    };
    let outcome = match remote {
        Some(remote) => match remote.apply(&ctx.store, &apply).await? {
            remote_chunk::Step::Done(outcome) => outcome,
            remote_chunk::Step::Pause(reason) => return Ok(Some(reason)),
        },
        None => apply_in_one_transaction(ctx, &apply).await?,
    };
    match outcome {
        ChunkOutcome::Applied(_) => Ok(None),
        ChunkOutcome::LeaseLost => Err(in_progress(&job.job_id)),
        ChunkOutcome::JobEnded => Err(ended_meanwhile(ctx, &job.job_id, step.holder).await),
    }
}

/// The embedded path: the rows whose target hash no longer matches the
/// plan's `before_sha256` are conflicts, skipped while the others apply.
async fn apply_in_one_transaction(
    ctx: &RestoreService,
    apply: &ChunkApply<'_>,
) -> Result<ChunkOutcome, DomainError> {
    for attempt in 0..RACE_ATTEMPTS {
        let txn = match ctx.store.begin_chunk(apply).await? {
            ChunkStart::Begun(txn) => txn,
            ChunkStart::Stopped(outcome) => return Ok(outcome),
        };
        // A first try that would find no conflicts (the common case) skips
        // the read where the write finds them itself; a try that did find
        // some is rolled back and the next one reads them.
        let conflicts = if attempt == 0 && txn.write_checks_conflicts() {
            None
        } else {
            Some(txn.conflicts().await?)
        };
        if let Some(result) = txn.write(conflicts).await? {
            return Ok(ChunkOutcome::Applied(result));
        }
    }
    Err(DomainError::Unavailable(format!(
        "chunk {} of job {}: records it creates or deletes kept changing in the target while it applied \
         ({RACE_ATTEMPTS} tries)",
        apply.chunk_index, apply.job_id
    )))
}

async fn read_view(ctx: &RestoreService, job_id: &str) -> Result<ExecutionView, DomainError> {
    let exec = ctx
        .store
        .execution(job_id)
        .await?
        .ok_or_else(|| in_progress(job_id))?;
    view::read(&ctx.store, &exec, PageRequest::first(EMBEDDED_OUTCOMES)).await
}

/// The job was completed by an operator while it executed: the chunk in
/// flight was not written, the execution ends `failed` with the job's
/// reason and the caller gets `409 job_not_running` with the job's state.
async fn ended_meanwhile(ctx: &RestoreService, job_id: &str, holder: &str) -> DomainError {
    let job = match ctx.store.job(job_id).await {
        Ok(Some(job)) => job,
        Ok(None) => return DomainError::Internal(format!("job {job_id} vanished while executing")),
        Err(e) => return e.into(),
    };
    let reason = job.status_reason_code.as_deref();
    let failed = ExecutionPhase::Failed.as_str();
    if let Err(e) = ctx
        .store
        .release_lease(job_id, holder, failed, reason, Utc::now())
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
    ctx: &RestoreService,
    job: &JobRow,
    holder: &str,
    reason: ReasonCode,
    actor: &str,
) -> Result<ExecOutcome, DomainError> {
    let store = &ctx.store;
    let paused = ExecutionPhase::Paused.as_str();
    store
        .release_lease(
            &job.job_id,
            holder,
            paused,
            Some(reason.as_str()),
            Utc::now(),
        )
        .await?;
    job_lifecycle::set_execution_state(store, &job.job_id, ExecutionState::Paused, Some(reason))
        .await?;
    let paused_event = JobEventType::ExecutionPaused;
    event(
        ctx,
        &job.job_id,
        paused_event,
        actor,
        Some(reason),
        json!({}),
    )
    .await?;
    Ok(ExecOutcome::Paused(read_view(ctx, &job.job_id).await?))
}
