//! The first execute of a job: the contract's checks in order, then the
//! execution row with one chunk per planned chunk and the digest of the
//! target hashes each chunk's rows assume (committed with the job's
//! `in_progress` state and its `execution_started` event), then the chunk
//! loop.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::json;

use super::super::job_lifecycle::{self, NewJobEvent};
use super::super::job_states::{ExecutionState, JobEventType, JobStatus};
use super::super::jobs;
use super::super::plan::document::PlanDocument;
use super::super::principal::{Capability, Principal};
use super::super::{ops, DomainError, ReasonCode, RestoreService};
use super::checks::{self, Exercise};
use super::checksums::{chunk_digest, precondition_checksum};
use super::chunk_loop::{micros, run, ExecOutcome};
use super::finish::{fail_job, in_progress, load_plan, require_running};
use super::revalidate;
use super::view::{ChunkStatus, ExecutionPhase};
use crate::store::execution::{ChunkRow, ExecutionCreated, ExecutionRow, ExecutionStart};
use crate::store::jobs::JobRow;

impl RestoreService {
    /// `POST /v1/jobs/{job_id}/execution`.
    pub async fn execute_job(
        &self,
        principal: &Principal,
        job_id: &str,
        exercise: Exercise,
        max_chunks: Option<u32>,
    ) -> Result<ExecOutcome, DomainError> {
        principal.require(&[Capability::RestoreExecute])?;
        let ctx = self;
        let store = &ctx.store;
        let job = jobs::visible_row(store, principal, job_id).await?;
        let caps = checks::exercised(principal, &exercise)?;
        require_running(ctx, &job).await?;
        if store.execution(job_id).await?.is_some() {
            return Err(DomainError::conflict(
                ReasonCode::ExecutionAlreadyStarted,
                format!(
                    "job {job_id} already started executing; continue it with \
                     POST /v1/jobs/{job_id}/resume"
                ),
            ));
        }
        ops::entitlement::ensure_entitled(store, &job.tenant_id).await?;
        let plan = load_plan(ctx, &job).await?;
        let confirmation = exercise.elevated_confirmation.as_ref();
        checks::capability(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
        checks::media_caps(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
        let holder = format!("{}:{}", ctx.instance_id, uuid::Uuid::new_v4().simple());
        start_execution(ctx, principal, &job, &plan, &holder).await?;
        let target = ctx.targets.get(&job.tenant_id, &job.instance_id);
        if let Some(invalid) = revalidate::revalidate(store, target.as_ref(), &plan).await? {
            let actor = &principal.operator_id;
            fail_job(ctx, &job, &holder, invalid.reason_code, actor).await?;
            return Err(invalid.error);
        }
        run(ctx, principal, &job, &plan, &holder, max_chunks).await
    }
}

/// Creates the execution: its row, its chunks, the job's `in_progress`
/// state and the `execution_started` event commit together, so the
/// history never shows an execution without its start.
async fn start_execution(
    ctx: &RestoreService,
    principal: &Principal,
    job: &JobRow,
    plan: &PlanDocument,
    holder: &str,
) -> Result<(), DomainError> {
    let store = &ctx.store;
    let now = Utc::now();
    let (row, chunks) = new_execution(ctx, job, plan, holder, now).await?;
    let started = NewJobEvent {
        event_type: JobEventType::ExecutionStarted,
        actor: principal.operator_id.clone(),
        reason_code: None,
        details: json!({"total_chunks": row.total_chunks}),
    };
    let start = ExecutionStart {
        job_seq: job.job_seq,
        job_status: JobStatus::Running.as_str(),
        execution_state: ExecutionState::InProgress.as_str(),
        event: job_lifecycle::event_row(started, now)?,
    };
    match store.create_execution(&row, &chunks, &start).await? {
        ExecutionCreated::Created => Ok(()),
        ExecutionCreated::AlreadyExists => Err(in_progress(&job.job_id)),
        ExecutionCreated::JobMoved => {
            let now_job = jobs::visible_row(store, principal, &job.job_id).await?;
            require_running(ctx, &now_job).await?;
            Err(in_progress(&job.job_id))
        }
    }
}

/// The execution row and chunk list of a first execute: each chunk's
/// digest of the target hashes its rows assume.
async fn new_execution(
    ctx: &RestoreService,
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
            status: ChunkStatus::Pending.as_str().to_owned(),
            row_count: rows.len() as i64,
            fallback_trigger_conflict_ids: Vec::new(),
            preconditions_sha256: digest,
        });
    }
    let digests: Vec<String> = chunks
        .iter()
        .map(|c| c.preconditions_sha256.clone())
        .collect();
    let expires = now + ChronoDuration::from_std(ctx.lease()).unwrap_or_default();
    let row = ExecutionRow {
        job_id: job.job_id.clone(),
        plan_id: plan.plan_id.clone(),
        plan_checksum: plan.plan_checksum.clone(),
        precondition_checksum: precondition_checksum(&plan.tables, &digests)?,
        next_chunk_index: 0,
        total_chunks: plan.chunking.total_chunks,
        state: ExecutionPhase::InProgress.as_str().to_owned(),
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
