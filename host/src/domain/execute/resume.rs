//! Resume from the checkpoint: the checksums the caller presents and the
//! target rows the remaining chunks assume must both still hold, else the
//! resume is blocked (an event, nothing written); then the same checks as
//! a first execute, the resume recorded, and the chunk loop.

use chrono::{Duration as ChronoDuration, Utc};
use serde_json::{json, Value};

use super::super::job_lifecycle;
use super::super::job_states::{ExecutionState, JobEventType};
use super::super::jobs;
use super::super::plan::document::{PlanDocument, TableDoc};
use super::super::principal::{Capability, Principal};
use super::super::{ops, DomainError, ReasonCode, RestoreService};
use super::checks::{self, Exercise};
use super::checksums::chunk_digest;
use super::chunk_loop::{micros, run, ExecOutcome};
use super::finish::{event, fail_job, in_progress, load_plan, require_running};
use super::revalidate;
use super::view::{resumes_of, ResumeEntry};
use std::collections::{BTreeMap, HashMap};

use crate::store::execution::ExecutionRow;
use crate::store::plans::PlanRowKey;
use crate::store::remote_chunk::Intent;
use crate::target::Target;

/// The checksums a resume was told to expect.
#[derive(Debug, Clone)]
pub struct ResumeExpectation {
    pub plan_checksum: String,
    pub precondition_checksum: String,
}

impl RestoreService {
    /// `POST /v1/jobs/{job_id}/resume`.
    pub async fn resume_job(
        &self,
        principal: &Principal,
        job_id: &str,
        exercise: Exercise,
        expect: ResumeExpectation,
        max_chunks: Option<u32>,
    ) -> Result<ExecOutcome, DomainError> {
        principal.require(&[Capability::RestoreExecute])?;
        let ctx = self;
        let store = &ctx.store;
        let actor = &principal.operator_id;
        let job = jobs::visible_row(store, principal, job_id).await?;
        let caps = checks::exercised(principal, &exercise)?;
        let Some(exec) = store.execution(job_id).await? else {
            return Err(DomainError::conflict(
                ReasonCode::BlockedResumeCheckpointMissing,
                format!(
                    "job {job_id} has no checkpoint to resume from; replan and create a new job"
                ),
            ));
        };
        require_running(ctx, &job).await?;
        ops::entitlement::ensure_entitled(store, &job.tenant_id).await?;
        let plan = load_plan(ctx, &job).await?;
        if let Some(details) = checksum_mismatch(&expect, &exec) {
            return Err(resume_blocked(ctx, job_id, actor, details).await?);
        }
        let confirmation = exercise.elevated_confirmation.as_ref();
        checks::capability(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
        checks::media_caps(store, &ctx.policies, job_id, &plan, &caps, confirmation).await?;
        let holder = format!("{}:{}", ctx.instance_id, uuid::Uuid::new_v4().simple());
        let now = Utc::now();
        let expires = now + ChronoDuration::from_std(ctx.lease()).unwrap_or_default();
        if !store
            .take_lease(job_id, &holder, micros(now), micros(expires))
            .await?
        {
            return Err(in_progress(job_id));
        }
        let target = ctx.targets.get(&job.tenant_id, &job.instance_id);
        if let Some(details) = target_changed(ctx, target.as_ref(), &plan, &exec).await? {
            let reason = exec.status_reason_code.as_deref();
            store
                .release_lease(job_id, &holder, &exec.state, reason, Utc::now())
                .await?;
            return Err(resume_blocked(ctx, job_id, actor, details).await?);
        }
        if let Some(invalid) = revalidate::revalidate(store, target.as_ref(), &plan).await? {
            fail_job(ctx, &job, &holder, invalid.reason_code, actor).await?;
            return Err(invalid.error);
        }
        let mut resumes = resumes_of(&exec);
        resumes.push(ResumeEntry {
            at: now,
            operator_id: actor.clone(),
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
            actor,
            None,
            details,
        )
        .await?;
        job_lifecycle::set_execution_state(store, job_id, ExecutionState::InProgress, None).await?;
        run(ctx, principal, &job, &plan, &holder, max_chunks).await
    }
}

fn checksum_mismatch(expect: &ResumeExpectation, exec: &ExecutionRow) -> Option<Value> {
    (expect.plan_checksum != exec.plan_checksum
        || expect.precondition_checksum != exec.precondition_checksum)
        .then(|| {
            json!({"expected_plan_checksum": expect.plan_checksum,
                "plan_checksum": exec.plan_checksum,
                "expected_precondition_checksum": expect.precondition_checksum,
                "precondition_checksum": exec.precondition_checksum, "mismatch": "checksum"})
        })
}

/// Records `resume_blocked` and returns the `409` to answer.
async fn resume_blocked(
    ctx: &RestoreService,
    job_id: &str,
    actor: &str,
    details: Value,
) -> Result<DomainError, DomainError> {
    let reason = ReasonCode::BlockedResumePreconditionMismatch;
    let blocked = JobEventType::ResumeBlocked;
    event(ctx, job_id, blocked, actor, Some(reason), details.clone()).await?;
    Ok(DomainError::Conflict {
        reason_code: reason,
        message: "the checkpoint's preconditions no longer hold; replan and create a new job"
            .into(),
        details: Some(details),
    })
}

/// Whether the target still satisfies what the remaining chunks assume:
/// the tables' schema and permission, and each remaining row's hash.
async fn target_changed(
    ctx: &RestoreService,
    target: &dyn Target,
    plan: &PlanDocument,
    exec: &ExecutionRow,
) -> Result<Option<Value>, DomainError> {
    for planned in &plan.tables {
        let now = target.describe_table(&planned.table).await?;
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
        let current = current_hashes(ctx, target, plan, exec, chunk.chunk_index, &rows).await?;
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

/// Each row's hash in the target now, as the chunk's preconditions see it:
/// a row an interrupted attempt already wrote (an intent whose after-image
/// the record holds) counts as still holding its before-image, since the
/// resume will record it as applied, not write it again.
async fn current_hashes(
    ctx: &RestoreService,
    target: &dyn Target,
    plan: &PlanDocument,
    exec: &ExecutionRow,
    chunk_index: i64,
    rows: &[PlanRowKey],
) -> Result<Vec<Option<String>>, DomainError> {
    if target.promises().atomic_with_journal {
        let into = plan.target_instance();
        let (tenant, instance) = (&into.tenant_id, &into.instance_id);
        let store = &ctx.store;
        return Ok(store
            .target_hashes(tenant, instance, &plan.plan_id, chunk_index, rows)
            .await?);
    }
    let intents: HashMap<i64, Intent> = ctx
        .store
        .chunk_intents(&exec.job_id, chunk_index)
        .await?
        .into_iter()
        .map(|i| (i.plan_row_id, i))
        .collect();
    let mut found: HashMap<(String, String), String> = HashMap::new();
    let mut by_table: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for row in rows {
        by_table
            .entry(&row.table)
            .or_default()
            .push(row.sys_id.clone());
    }
    for (table, ids) in by_table {
        let Some(schema) = target.describe_table(table).await? else {
            continue;
        };
        for batch in ids.chunks(100) {
            for record in target.read(table, &schema, batch).await? {
                found.insert((table.to_owned(), record.sys_id), record.content_sha256);
            }
        }
    }
    Ok(rows
        .iter()
        .map(|row| {
            let now = found.get(&(row.table.clone(), row.sys_id.clone())).cloned();
            match intents.get(&row.plan_row_id) {
                Some(i) if now == i.after_image_sha256 => i.before_image_sha256.clone(),
                _ => now,
            }
        })
        .collect())
}
