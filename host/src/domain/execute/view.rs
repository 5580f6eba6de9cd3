//! The execution document (`GET /v1/jobs/{job_id}/execution`, and the body
//! of execute and resume), read back from what the chunks committed.

use serde::{Deserialize, Serialize};

use super::super::DomainError;
use crate::store::execution::ExecutionRow;
use crate::store::Store;

/// The document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionView {
    pub job_id: String,
    pub state: String,
    pub status_reason_code: Option<String>,
    pub plan_checksum: String,
    pub precondition_checksum: String,
    pub checkpoint: CheckpointView,
    pub chunks: Vec<ChunkView>,
    pub row_outcomes: Vec<OutcomeView>,
    /// The last `plan_row_id` of this page when more outcomes follow.
    #[serde(skip)]
    pub next_after: Option<i64>,
    pub media_outcomes: Vec<MediaOutcomeView>,
    pub resume_metadata: ResumeMetadata,
    pub promoted_job_ids: Option<Vec<String>>,
}

/// Where execution continues.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointView {
    pub next_chunk_index: i64,
    pub total_chunks: i64,
}

/// One chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkView {
    pub chunk_id: String,
    pub chunk_index: i64,
    pub status: String,
    pub row_count: i64,
    pub fallback_trigger_conflict_ids: Vec<i64>,
}

/// One executed row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcomeView {
    pub plan_row_id: i64,
    pub chunk_id: String,
    pub table: String,
    pub sys_id: String,
    pub action: String,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub used_row_fallback: bool,
    pub row_attempt: i32,
    pub journal_id: Option<String>,
}

/// One media candidate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaOutcomeView {
    pub candidate_id: String,
    pub media_id: String,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub attempt_count: i32,
    pub expected_sha256_plain: String,
    pub observed_sha256_plain: Option<String>,
}

/// How often and from where the execution was resumed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeMetadata {
    pub resume_count: i32,
    pub resumes: Vec<ResumeEntry>,
}

/// One resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeEntry {
    pub at: String,
    pub operator_id: String,
    pub from_chunk_index: i64,
}

/// Reads the document with a page of row outcomes after `after`.
pub async fn read(
    store: &Store,
    exec: &ExecutionRow,
    after: i64,
    limit: u64,
) -> Result<ExecutionView, DomainError> {
    let chunks = store
        .execution_chunks(&exec.job_id)
        .await?
        .into_iter()
        .map(|c| ChunkView {
            chunk_id: c.chunk_id,
            chunk_index: c.chunk_index,
            status: c.status,
            row_count: c.row_count,
            fallback_trigger_conflict_ids: c.fallback_trigger_conflict_ids,
        })
        .collect();
    let mut outcomes = store
        .row_outcomes_page(&exec.job_id, after, limit + 1)
        .await?;
    let next_after = if outcomes.len() as u64 > limit {
        outcomes.truncate(limit as usize);
        outcomes.last().map(|o| o.plan_row_id)
    } else {
        None
    };
    let row_outcomes = outcomes
        .into_iter()
        .map(|o| OutcomeView {
            plan_row_id: o.plan_row_id,
            chunk_id: o.chunk_id,
            table: o.table,
            sys_id: o.sys_id,
            action: o.action,
            outcome: o.outcome,
            reason_code: o.reason_code,
            used_row_fallback: o.used_row_fallback,
            row_attempt: o.row_attempt,
            journal_id: o.journal_id,
        })
        .collect();
    let media_outcomes = store
        .media_outcomes(&exec.job_id)
        .await?
        .into_iter()
        .map(|m| MediaOutcomeView {
            candidate_id: m.candidate_id,
            media_id: m.media_id,
            outcome: m.outcome,
            reason_code: m.reason_code,
            attempt_count: m.attempt_count,
            expected_sha256_plain: m.expected_sha256_plain,
            observed_sha256_plain: m.observed_sha256_plain,
        })
        .collect();
    let resumes: Vec<ResumeEntry> =
        serde_json::from_value(exec.resumes.clone()).unwrap_or_default();
    Ok(ExecutionView {
        job_id: exec.job_id.clone(),
        state: exec.state.clone(),
        status_reason_code: exec.status_reason_code.clone(),
        plan_checksum: exec.plan_checksum.clone(),
        precondition_checksum: exec.precondition_checksum.clone(),
        checkpoint: CheckpointView {
            next_chunk_index: exec.next_chunk_index,
            total_chunks: exec.total_chunks,
        },
        chunks,
        row_outcomes,
        next_after,
        media_outcomes,
        resume_metadata: ResumeMetadata {
            resume_count: exec.resume_count,
            resumes,
        },
        promoted_job_ids: None,
    })
}
