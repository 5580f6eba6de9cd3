//! Wire types of executions, checkpoints and the rollback journal.

use poem_openapi::{Enum, Object};
use serde::Deserialize;

use super::plan_types::RowActionName;
use super::types::{CapabilityName, Timestamp};
use crate::domain::execute::view::{
    Checkpoint, CheckpointView, ChunkStatus, ChunkView, ExecutionPhase, ExecutionView,
    JournalEntry, MediaOutcomeView, MirrorEntry, Outcome, OutcomeView, ResumeEntry,
};
use crate::domain::ReasonCode;

/// The operator's confirmation of a high-risk action.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElevatedConfirmationBody {
    /// Must be true.
    pub confirmed: bool,
    /// Must equal `"<tenant_id>/<instance_id>"` of the job.
    #[oai(validator(max_length = 600))]
    pub confirmation: Option<String>,
    /// Why (e.g. an incident id); must not be empty.
    #[oai(validator(max_length = 2000))]
    pub reason: Option<String>,
}

/// What an execute call exercises.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    /// The operator exercising the call; must equal the token's (default: the token's).
    #[oai(validator(max_length = 200))]
    pub operator_id: Option<String>,
    /// The capabilities exercised; each must be granted to the token (default: the token's).
    pub operator_capabilities: Option<Vec<CapabilityName>>,
    /// Required for high-risk scopes and media over the caps, with `restore_override_caps`.
    pub elevated_confirmation: Option<ElevatedConfirmationBody>,
    /// Chunks to apply in this call before pausing (default: all remaining).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub max_chunks: Option<u32>,
}

/// What a resume call exercises and the checkpoint it expects.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    /// The operator exercising the call; must equal the token's (default: the token's).
    #[oai(validator(max_length = 200))]
    pub operator_id: Option<String>,
    /// The capabilities exercised; each must be granted to the token (default: the token's).
    pub operator_capabilities: Option<Vec<CapabilityName>>,
    /// The checkpoint's `plan_checksum` as last read.
    #[oai(validator(max_length = 128))]
    pub expected_plan_checksum: String,
    /// The checkpoint's `precondition_checksum` as last read.
    #[oai(validator(max_length = 128))]
    pub expected_precondition_checksum: String,
    /// As for execute.
    pub elevated_confirmation: Option<ElevatedConfirmationBody>,
    /// Chunks to apply in this call before pausing (default: all remaining).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub max_chunks: Option<u32>,
}

/// An execution's state: `in_progress`, `paused`, `completed` or `failed`.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "ExecutionPhase")]
pub enum ExecutionPhaseName {
    InProgress,
    Paused,
    Completed,
    Failed,
}

/// A chunk's status: `pending`, `applied` (one transaction) or
/// `row_fallback` (conflicts isolated to row level).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "ChunkStatus")]
pub enum ChunkStatusName {
    Pending,
    Applied,
    RowFallback,
}

/// What became of a row or a media candidate: `applied`, `skipped` or
/// `failed`.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "Outcome")]
pub enum OutcomeName {
    Applied,
    Skipped,
    Failed,
}

/// Where the execution continues.
#[derive(Debug, Clone, Object)]
#[oai(remote = "CheckpointView")]
pub struct ExecCheckpointBody {
    /// The next chunk to apply (= `total_chunks` when all are applied).
    pub next_chunk_index: i64,
    /// Chunks of the plan.
    pub total_chunks: i64,
}

/// One chunk.
#[derive(Debug, Clone, Object)]
#[oai(remote = "ChunkView")]
pub struct ExecChunkBody {
    /// The chunk's id.
    pub chunk_id: String,
    /// Its position (0-based).
    pub chunk_index: i64,
    /// How it was applied.
    pub status: ChunkStatusName,
    /// Rows in the chunk.
    pub row_count: i64,
    /// Plan row ids whose target had changed (row fallback only).
    pub fallback_trigger_conflict_ids: Vec<i64>,
}

/// What happened to one executed row.
#[derive(Debug, Clone, Object)]
#[oai(remote = "OutcomeView")]
pub struct ExecRowOutcomeBody {
    /// The plan row.
    pub plan_row_id: i64,
    /// Its chunk.
    pub chunk_id: String,
    /// Table.
    pub table: String,
    /// The record's `sys_id`.
    pub sys_id: String,
    /// `create`, `update` or `delete`.
    pub action: RowActionName,
    /// `applied`, `skipped` or `failed`.
    pub outcome: OutcomeName,
    /// Why it was skipped or failed (e.g. `skipped_target_changed`).
    pub reason_code: Option<ReasonCode>,
    /// Whether it was applied in row-fallback mode.
    pub used_row_fallback: bool,
    /// 1 in a chunk transaction, 2 in row fallback.
    pub row_attempt: i32,
    /// Its rollback journal row (applied rows only).
    pub journal_id: Option<String>,
}

/// What happened to one media candidate.
#[derive(Debug, Clone, Object)]
#[oai(remote = "MediaOutcomeView")]
pub struct ExecMediaOutcomeBody {
    /// The plan's media candidate.
    pub candidate_id: String,
    /// The attachment.
    pub media_id: String,
    /// `applied`, `failed` or `skipped`.
    pub outcome: OutcomeName,
    /// `failed_media_parent_missing`, `failed_media_hash_mismatch` or `failed_media_retry_exhausted`.
    pub reason_code: Option<ReasonCode>,
    /// Reads of the media store made.
    pub attempt_count: i32,
    /// sha256 the plan expects.
    pub expected_sha256_plain: String,
    /// sha256 of the bytes read (null when none were read).
    pub observed_sha256_plain: Option<String>,
}

/// One resume.
#[derive(Debug, Clone, Object)]
#[oai(remote = "ResumeEntry")]
pub struct ExecResumeEntryBody {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub operator_id: String,
    /// The checkpoint it resumed from.
    pub from_chunk_index: i64,
}

/// How often the execution was resumed.
#[derive(Debug, Clone, Object)]
pub struct ExecResumeMetadataBody {
    /// Number of resumes.
    pub resume_count: i32,
    /// Each resume, oldest first.
    pub resumes: Vec<ExecResumeEntryBody>,
}

/// A job's execution.
#[derive(Debug, Clone, Object)]
pub struct ExecutionBody {
    /// The job.
    pub job_id: String,
    /// The execution's state.
    pub state: ExecutionPhaseName,
    /// Why it paused or failed (`paused_max_chunks`, `paused_auth_expired`,
    /// `paused_server_shutdown`, `paused_entitlement_disabled`, a failure code
    /// such as `failed_media_incomplete`); null otherwise.
    pub status_reason_code: Option<ReasonCode>,
    /// The plan's checksum; resume must present it.
    pub plan_checksum: String,
    /// What the remaining chunks assume of the target; resume must present it.
    pub precondition_checksum: String,
    /// The checkpoint.
    pub checkpoint: ExecCheckpointBody,
    /// Every chunk.
    pub chunks: Vec<ExecChunkBody>,
    /// A page of row outcomes (`limit`/`cursor`, default 1000).
    pub row_outcomes: Vec<ExecRowOutcomeBody>,
    /// Cursor of the next page of `row_outcomes`; null at the end.
    pub next_cursor: Option<String>,
    /// Every media candidate's outcome.
    pub media_outcomes: Vec<ExecMediaOutcomeBody>,
    /// Resumes so far.
    pub resume_metadata: ExecResumeMetadataBody,
    /// Jobs promoted when this call ended the job; null otherwise.
    pub promoted_job_ids: Option<Vec<String>>,
}

/// A job's checkpoint.
#[derive(Debug, Clone, Object)]
#[oai(remote = "Checkpoint")]
pub struct CheckpointDocBody {
    /// The job.
    pub job_id: String,
    /// The next chunk to apply.
    pub next_chunk_index: i64,
    /// Chunks of the plan.
    pub total_chunks: i64,
    /// The plan's checksum.
    pub plan_checksum: String,
    /// What the remaining chunks assume of the target.
    pub precondition_checksum: String,
    /// When the checkpoint last moved.
    pub updated_at: Timestamp,
}

/// One rollback journal row.
#[derive(Debug, Clone, Object)]
#[oai(remote = "JournalEntry")]
pub struct ExecJournalRowBody {
    /// The journal row's id.
    pub journal_id: String,
    /// The plan's hash.
    pub plan_hash: String,
    /// The plan row applied.
    pub plan_row_id: i64,
    /// Its chunk.
    pub chunk_id: String,
    /// 1 in a chunk transaction, 2 in row fallback.
    pub row_attempt: i32,
    /// Table.
    pub table: String,
    /// The record's `sys_id`.
    pub sys_id: String,
    /// `create`, `update` or `delete`.
    pub action: RowActionName,
    /// The target row before the restore (null when absent, or once pruned).
    pub before_image: Option<serde_json::Value>,
    /// sha256 of the before-image (kept after pruning).
    pub before_image_sha256: Option<String>,
    /// sha256 of what was written (null for deletes).
    pub after_image_sha256: Option<String>,
    /// When it was journaled.
    pub created_at: Timestamp,
}

/// One SN mirror row: linkage ids and hashes, never a before-image.
#[derive(Debug, Clone, Object)]
#[oai(remote = "MirrorEntry")]
pub struct ExecMirrorRowBody {
    /// The journal row it mirrors.
    pub journal_id: String,
    /// Table.
    pub table: String,
    /// The record's `sys_id`.
    pub sys_id: String,
    /// The plan row.
    pub plan_row_id: i64,
    /// Its chunk.
    pub chunk_id: String,
    /// sha256 of the before-image.
    pub before_image_sha256: Option<String>,
    /// When it was synced.
    pub synced_at: Timestamp,
}

/// A page of the rollback journal and its mirror.
#[derive(Debug, Clone, Object)]
pub struct RollbackJournalBody {
    /// The job.
    pub job_id: String,
    /// The plan's hash.
    pub plan_hash: String,
    /// Journal rows by plan row.
    pub rollback_journal: Vec<ExecJournalRowBody>,
    /// Mirror rows of the same plan rows.
    pub sn_mirror: Vec<ExecMirrorRowBody>,
    /// Cursor of the next page; null at the end.
    pub next_cursor: Option<String>,
}

impl From<ExecutionView> for ExecutionBody {
    fn from(v: ExecutionView) -> Self {
        Self {
            job_id: v.job_id,
            state: v.state.into(),
            status_reason_code: v.status_reason_code,
            plan_checksum: v.plan_checksum,
            precondition_checksum: v.precondition_checksum,
            checkpoint: v.checkpoint.into(),
            chunks: v.chunks.into_iter().map(Into::into).collect(),
            next_cursor: super::paging::cursor(v.row_outcomes.next_after),
            row_outcomes: v.row_outcomes.items.into_iter().map(Into::into).collect(),
            media_outcomes: v.media_outcomes.into_iter().map(Into::into).collect(),
            resume_metadata: ExecResumeMetadataBody {
                resume_count: v.resume_metadata.resume_count,
                resumes: v
                    .resume_metadata
                    .resumes
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            },
            promoted_job_ids: v.promoted_job_ids,
        }
    }
}
