//! The execution document (`GET /v1/jobs/{job_id}/execution`, and the body
//! of execute and resume), the checkpoint and the rollback journal, read
//! back from what the chunks committed, with their states as enums.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{EnumString, IntoStaticStr};

use super::super::error::parse_stored;
use super::super::jobs::stored_reason;
use super::super::paging::{Page, PageRequest};
use super::super::plan::document::RowAction;
use super::super::{DomainError, ReasonCode};
use crate::store::execution::{ChunkRow, ExecutionRow, MediaOutcomeRow, OutcomeRow};
use crate::store::journal::{JournalRow, MirrorRow};
use crate::store::Store;

/// Where an execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ExecutionPhase {
    InProgress,
    Paused,
    Completed,
    Failed,
}

/// Whether a chunk was applied, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ChunkStatus {
    Pending,
    Applied,
    RowFallback,
}

/// What became of an executed row or a media candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    Applied,
    Skipped,
    Failed,
}

impl ExecutionPhase {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl ChunkStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Outcome {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The document.
#[derive(Debug, Clone)]
pub struct ExecutionView {
    pub job_id: String,
    pub state: ExecutionPhase,
    pub status_reason_code: Option<ReasonCode>,
    pub plan_checksum: String,
    pub precondition_checksum: String,
    pub checkpoint: CheckpointView,
    pub chunks: Vec<ChunkView>,
    /// A page of row outcomes.
    pub row_outcomes: Page<OutcomeView>,
    pub media_outcomes: Vec<MediaOutcomeView>,
    pub resume_metadata: ResumeMetadata,
    pub promoted_job_ids: Option<Vec<String>>,
}

/// Where execution continues.
#[derive(Debug, Clone)]
pub struct CheckpointView {
    pub next_chunk_index: i64,
    pub total_chunks: i64,
}

/// One chunk.
#[derive(Debug, Clone)]
pub struct ChunkView {
    pub chunk_id: String,
    pub chunk_index: i64,
    pub status: ChunkStatus,
    pub row_count: i64,
    pub fallback_trigger_conflict_ids: Vec<i64>,
}

/// One executed row.
#[derive(Debug, Clone)]
pub struct OutcomeView {
    pub plan_row_id: i64,
    pub chunk_id: String,
    pub table: String,
    pub sys_id: String,
    pub action: RowAction,
    pub outcome: Outcome,
    pub reason_code: Option<ReasonCode>,
    pub used_row_fallback: bool,
    pub row_attempt: i32,
    pub journal_id: Option<String>,
}

/// One media candidate.
#[derive(Debug, Clone)]
pub struct MediaOutcomeView {
    pub candidate_id: String,
    pub media_id: String,
    pub outcome: Outcome,
    pub reason_code: Option<ReasonCode>,
    pub attempt_count: i32,
    pub expected_sha256_plain: String,
    pub observed_sha256_plain: Option<String>,
}

/// How often and from where the execution was resumed.
#[derive(Debug, Clone)]
pub struct ResumeMetadata {
    pub resume_count: i32,
    pub resumes: Vec<ResumeEntry>,
}

/// One resume, as stored in the execution row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeEntry {
    #[serde(with = "crate::policy::timestamp")]
    pub at: DateTime<Utc>,
    pub operator_id: String,
    pub from_chunk_index: i64,
}

/// `GET .../checkpoint`: where execution continues and what resume checks.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub job_id: String,
    pub next_chunk_index: i64,
    pub total_chunks: i64,
    pub plan_checksum: String,
    pub precondition_checksum: String,
    pub updated_at: DateTime<Utc>,
}

impl From<ExecutionRow> for Checkpoint {
    fn from(e: ExecutionRow) -> Self {
        Self {
            job_id: e.job_id,
            next_chunk_index: e.next_chunk_index,
            total_chunks: e.total_chunks,
            plan_checksum: e.plan_checksum,
            precondition_checksum: e.precondition_checksum,
            updated_at: e.updated_at,
        }
    }
}

/// One rollback journal row: what an applied row replaced.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub journal_id: String,
    pub plan_hash: String,
    pub plan_row_id: i64,
    pub chunk_id: String,
    pub row_attempt: i32,
    pub table: String,
    pub sys_id: String,
    pub action: RowAction,
    /// `None` once pruned by retention.
    pub before_image: Option<serde_json::Value>,
    pub before_image_sha256: Option<String>,
    pub after_image_sha256: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<JournalRow> for JournalEntry {
    type Error = DomainError;

    fn try_from(r: JournalRow) -> Result<Self, DomainError> {
        Ok(Self {
            action: parse_stored("row action", &r.action)?,
            journal_id: r.journal_id,
            plan_hash: r.plan_hash,
            plan_row_id: r.plan_row_id,
            chunk_id: r.chunk_id,
            row_attempt: r.row_attempt,
            table: r.table,
            sys_id: r.sys_id,
            before_image: r.before_image,
            before_image_sha256: r.before_image_sha256,
            after_image_sha256: r.after_image_sha256,
            created_at: r.created_at,
        })
    }
}

/// One SN mirror row: linkage ids and hashes, never a before-image.
#[derive(Debug, Clone)]
pub struct MirrorEntry {
    pub journal_id: String,
    pub table: String,
    pub sys_id: String,
    pub plan_row_id: i64,
    pub chunk_id: String,
    pub before_image_sha256: Option<String>,
    pub synced_at: DateTime<Utc>,
}

impl From<MirrorRow> for MirrorEntry {
    fn from(m: MirrorRow) -> Self {
        Self {
            journal_id: m.journal_id,
            table: m.table,
            sys_id: m.sys_id,
            plan_row_id: m.plan_row_id,
            chunk_id: m.chunk_id,
            before_image_sha256: m.before_image_sha256,
            synced_at: m.synced_at,
        }
    }
}

/// A page of a job's rollback journal and the mirror rows of the same
/// plan rows.
#[derive(Debug, Clone)]
pub struct JournalPage {
    pub plan_hash: String,
    pub journal: Page<JournalEntry>,
    pub mirror: Vec<MirrorEntry>,
}

fn chunk_view(c: ChunkRow) -> Result<ChunkView, DomainError> {
    Ok(ChunkView {
        status: parse_stored("chunk status", &c.status)?,
        chunk_id: c.chunk_id,
        chunk_index: c.chunk_index,
        row_count: c.row_count,
        fallback_trigger_conflict_ids: c.fallback_trigger_conflict_ids,
    })
}

fn outcome_view(o: OutcomeRow) -> Result<OutcomeView, DomainError> {
    Ok(OutcomeView {
        action: parse_stored("row action", &o.action)?,
        outcome: parse_stored("row outcome", &o.outcome)?,
        reason_code: stored_reason(o.reason_code.as_deref())?,
        plan_row_id: o.plan_row_id,
        chunk_id: o.chunk_id,
        table: o.table,
        sys_id: o.sys_id,
        used_row_fallback: o.used_row_fallback,
        row_attempt: o.row_attempt,
        journal_id: o.journal_id,
    })
}

fn media_view(m: MediaOutcomeRow) -> Result<MediaOutcomeView, DomainError> {
    Ok(MediaOutcomeView {
        outcome: parse_stored("media outcome", &m.outcome)?,
        reason_code: stored_reason(m.reason_code.as_deref())?,
        candidate_id: m.candidate_id,
        media_id: m.media_id,
        attempt_count: m.attempt_count,
        expected_sha256_plain: m.expected_sha256_plain,
        observed_sha256_plain: m.observed_sha256_plain,
    })
}

/// The resumes recorded in an execution row.
pub fn resumes_of(exec: &ExecutionRow) -> Vec<ResumeEntry> {
    serde_json::from_value(exec.resumes.clone()).unwrap_or_default()
}

/// Reads the document with a page of row outcomes.
pub async fn read(
    store: &Store,
    exec: &ExecutionRow,
    page: PageRequest,
) -> Result<ExecutionView, DomainError> {
    let chunks = store
        .execution_chunks(&exec.job_id)
        .await?
        .into_iter()
        .map(chunk_view)
        .collect::<Result<_, _>>()?;
    let outcomes = store
        .row_outcomes_page(&exec.job_id, page.after, page.fetch())
        .await?
        .into_iter()
        .map(outcome_view)
        .collect::<Result<Vec<_>, _>>()?;
    let media_outcomes = store
        .media_outcomes(&exec.job_id)
        .await?
        .into_iter()
        .map(media_view)
        .collect::<Result<_, _>>()?;
    Ok(ExecutionView {
        job_id: exec.job_id.clone(),
        state: parse_stored("execution state", &exec.state)?,
        status_reason_code: stored_reason(exec.status_reason_code.as_deref())?,
        plan_checksum: exec.plan_checksum.clone(),
        precondition_checksum: exec.precondition_checksum.clone(),
        checkpoint: CheckpointView {
            next_chunk_index: exec.next_chunk_index,
            total_chunks: exec.total_chunks,
        },
        chunks,
        row_outcomes: Page::of(outcomes, page, |o| o.plan_row_id),
        media_outcomes,
        resume_metadata: ResumeMetadata {
            resume_count: exec.resume_count,
            resumes: resumes_of(exec),
        },
        promoted_job_ids: None,
    })
}
