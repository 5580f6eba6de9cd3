//! Executions: the checkpoint row (`job_executions`), the lease that keeps
//! a job executing in one place, the chunk list, and reads of outcomes.
//!
//! The lease is a conditional update: it is taken only when free or
//! expired, and every chunk transaction renews it under the same
//! condition, so a replica that lost its lease cannot commit a chunk.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{FromQueryResult, Value};

use super::job_events::{self, NewEventRow};
use super::jobs::set_execution_state;
use super::sql::{execute, rows_placeholders};
use super::{Store, StoreError};

/// The checkpoint and state of a job's execution.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ExecutionRow {
    pub job_id: String,
    pub plan_id: String,
    pub plan_checksum: String,
    pub precondition_checksum: String,
    pub next_chunk_index: i64,
    pub total_chunks: i64,
    /// `in_progress`, `paused`, `completed` or `failed`.
    pub state: String,
    pub status_reason_code: Option<String>,
    pub lease_holder: Option<String>,
    pub lease_expires_us: Option<i64>,
    pub resume_count: i32,
    /// `[{at, operator_id, from_chunk_index}]`.
    pub resumes: serde_json::Value,
    pub media_done: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One chunk of an execution.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub chunk_index: i64,
    pub chunk_id: String,
    /// `pending`, `applied` or `row_fallback`.
    pub status: String,
    pub row_count: i64,
    pub fallback_trigger_conflict_ids: Vec<i64>,
    pub preconditions_sha256: String,
}

/// One executed row's outcome.
#[derive(Debug, Clone, FromQueryResult)]
pub struct OutcomeRow {
    pub plan_row_id: i64,
    pub chunk_id: String,
    #[sea_orm(from_alias = "table_name")]
    pub table: String,
    pub sys_id: String,
    pub action: String,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub used_row_fallback: bool,
    pub row_attempt: i32,
    pub journal_id: Option<String>,
}

/// One media candidate's outcome.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MediaOutcomeRow {
    pub candidate_id: String,
    pub ordinal: i64,
    pub media_id: String,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub attempt_count: i32,
    pub expected_sha256_plain: String,
    pub observed_sha256_plain: Option<String>,
    /// Whether the execution wrote into the instance (wrote the
    /// attachment, or removed it); null in rows from before it was kept.
    pub wrote: Option<bool>,
}

/// What starting an execution changes on its job, in the transaction that
/// creates the execution row: the job's execution state and the event
/// that records the start.
#[derive(Debug, Clone)]
pub struct ExecutionStart<'a> {
    pub job_seq: i64,
    /// The status the job must still have (else nothing is written).
    pub job_status: &'a str,
    pub execution_state: &'a str,
    pub event: NewEventRow,
}

/// How [`Store::create_execution`] came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionCreated {
    /// Row, chunks, state and event committed together.
    Created,
    /// Another caller created the execution first; nothing was written.
    AlreadyExists,
    /// The job no longer has the expected status; nothing was written.
    JobMoved,
}

const EXECUTION_COLUMNS: &str = "job_id, plan_id, plan_checksum, precondition_checksum, next_chunk_index, total_chunks, \
    state, status_reason_code, lease_holder, lease_expires_us, resume_count, resumes, media_done, created_at, updated_at";

impl Store {
    /// The execution of a job, if it ever started.
    pub async fn execution(&self, job_id: &str) -> Result<Option<ExecutionRow>, StoreError> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM job_executions WHERE job_id = ?");
        self.fetch_one(&sql, vec![job_id.into()]).await
    }

    /// Creates the execution with its chunk list, holding the lease, and
    /// in the same transaction sets the job's execution state and records
    /// the start event: no reader ever sees an execution row without its
    /// event, and a crash anywhere before the commit leaves nothing.
    pub async fn create_execution(
        &self,
        row: &ExecutionRow,
        chunks: &[ChunkRow],
        start: &ExecutionStart<'_>,
    ) -> Result<ExecutionCreated, StoreError> {
        let txn = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO job_executions ({EXECUTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (job_id) DO NOTHING"
        );
        let values: Vec<Value> = vec![
            row.job_id.clone().into(),
            row.plan_id.clone().into(),
            row.plan_checksum.clone().into(),
            row.precondition_checksum.clone().into(),
            row.next_chunk_index.into(),
            row.total_chunks.into(),
            row.state.clone().into(),
            row.status_reason_code.clone().into(),
            row.lease_holder.clone().into(),
            row.lease_expires_us.into(),
            row.resume_count.into(),
            row.resumes.clone().into(),
            row.media_done.into(),
            row.created_at.into(),
            row.updated_at.into(),
        ];
        if execute(&txn, &sql, values).await? == 0 {
            return Ok(ExecutionCreated::AlreadyExists);
        }
        for batch in chunks.chunks(500) {
            let sql = format!(
                "INSERT INTO execution_chunks (job_id, chunk_index, chunk_id, status, row_count, \
                 fallback_trigger_conflict_ids, preconditions_sha256, applied_at) VALUES {}",
                rows_placeholders(batch.len(), 8)
            );
            let mut values: Vec<Value> = Vec::with_capacity(batch.len() * 8);
            for c in batch {
                values.extend([
                    row.job_id.clone().into(),
                    c.chunk_index.into(),
                    c.chunk_id.clone().into(),
                    c.status.clone().into(),
                    c.row_count.into(),
                    serde_json::to_value(&c.fallback_trigger_conflict_ids)?.into(),
                    c.preconditions_sha256.clone().into(),
                    Option::<DateTime<Utc>>::None.into(),
                ]);
            }
            execute(&txn, &sql, values).await?;
        }
        let moved = !set_execution_state(
            &txn,
            &row.job_id,
            start.job_status,
            start.execution_state,
            None,
        )
        .await?;
        if moved {
            return Ok(ExecutionCreated::JobMoved);
        }
        job_events::append_event(&txn, start.job_seq, &start.event).await?;
        txn.commit().await?;
        Ok(ExecutionCreated::Created)
    }

    /// Takes the lease when it is free or expired; false when another
    /// holder's lease is live.
    pub async fn take_lease(
        &self,
        job_id: &str,
        holder: &str,
        now_us: i64,
        expires_us: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE job_executions SET lease_holder = ?, lease_expires_us = ? WHERE job_id = ? \
                   AND (lease_holder IS NULL OR lease_expires_us IS NULL OR lease_expires_us < ? OR lease_holder = ?)";
        let values: Vec<Value> = vec![
            holder.into(),
            expires_us.into(),
            job_id.into(),
            now_us.into(),
            holder.into(),
        ];
        Ok(execute(self.db(), sql, values).await? > 0)
    }

    /// Gives the lease back and records the execution's state.
    pub async fn release_lease(
        &self,
        job_id: &str,
        holder: &str,
        state: &str,
        status_reason_code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql =
            "UPDATE job_executions SET lease_holder = NULL, lease_expires_us = NULL, state = ?, \
                   status_reason_code = ?, updated_at = ? WHERE job_id = ? AND lease_holder = ?";
        let values: Vec<Value> = vec![
            state.into(),
            status_reason_code.into(),
            now.into(),
            job_id.into(),
            holder.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// Records a resume (count, who, from where) under the caller's lease.
    pub async fn record_resume(
        &self,
        job_id: &str,
        holder: &str,
        resumes: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE job_executions SET resume_count = resume_count + 1, resumes = ?, state = 'in_progress', \
                   status_reason_code = NULL, updated_at = ? WHERE job_id = ? AND lease_holder = ?";
        let values: Vec<Value> = vec![
            resumes.clone().into(),
            now.into(),
            job_id.into(),
            holder.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// Marks the media phase done under the caller's lease.
    pub async fn set_media_done(&self, job_id: &str, holder: &str) -> Result<(), StoreError> {
        let sql = "UPDATE job_executions SET media_done = ? WHERE job_id = ? AND lease_holder = ?";
        let values: Vec<Value> = vec![true.into(), job_id.into(), holder.into()];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// Every chunk of an execution, in order.
    pub async fn execution_chunks(&self, job_id: &str) -> Result<Vec<ChunkRow>, StoreError> {
        let sql = "SELECT chunk_index, chunk_id, status, row_count, fallback_trigger_conflict_ids, preconditions_sha256 \
                   FROM execution_chunks WHERE job_id = ? ORDER BY chunk_index";
        #[derive(FromQueryResult)]
        struct Chunk {
            chunk_index: i64,
            chunk_id: String,
            status: String,
            row_count: i64,
            fallback_trigger_conflict_ids: serde_json::Value,
            preconditions_sha256: String,
        }
        let chunks = self.fetch_all::<Chunk>(sql, vec![job_id.into()]).await?;
        chunks
            .into_iter()
            .map(|c| {
                Ok(ChunkRow {
                    chunk_index: c.chunk_index,
                    chunk_id: c.chunk_id,
                    status: c.status,
                    row_count: c.row_count,
                    // Stored as a JSON array (text on SQLite, json on PostgreSQL).
                    fallback_trigger_conflict_ids: serde_json::from_value(
                        c.fallback_trigger_conflict_ids,
                    )?,
                    preconditions_sha256: c.preconditions_sha256,
                })
            })
            .collect()
    }

    /// Up to `limit` row outcomes after `after` (a `plan_row_id`).
    pub async fn row_outcomes_page(
        &self,
        job_id: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<OutcomeRow>, StoreError> {
        let sql = "SELECT plan_row_id, chunk_id, table_name, sys_id, action, outcome, reason_code, used_row_fallback, \
                   row_attempt, journal_id FROM row_outcomes WHERE job_id = ? AND plan_row_id > ? \
                   ORDER BY plan_row_id LIMIT ?";
        let values: Vec<Value> = vec![job_id.into(), after.into(), (limit as i64).into()];
        self.fetch_all(sql, values).await
    }

    /// Stores one media outcome (a repeat for the same candidate is ignored).
    pub async fn insert_media_outcome(
        &self,
        job_id: &str,
        m: &MediaOutcomeRow,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO media_outcomes (job_id, candidate_id, ordinal, media_id, outcome, reason_code, attempt_count, \
                   expected_sha256_plain, observed_sha256_plain, created_at, wrote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                   ON CONFLICT (job_id, candidate_id) DO NOTHING";
        let values: Vec<Value> = vec![
            job_id.into(),
            m.candidate_id.clone().into(),
            m.ordinal.into(),
            m.media_id.clone().into(),
            m.outcome.clone().into(),
            m.reason_code.clone().into(),
            m.attempt_count.into(),
            m.expected_sha256_plain.clone().into(),
            m.observed_sha256_plain.clone().into(),
            now.into(),
            m.wrote.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// Every media outcome of an execution, in candidate order.
    pub async fn media_outcomes(&self, job_id: &str) -> Result<Vec<MediaOutcomeRow>, StoreError> {
        let sql = "SELECT candidate_id, ordinal, media_id, outcome, reason_code, attempt_count, expected_sha256_plain, \
                   observed_sha256_plain, wrote FROM media_outcomes WHERE job_id = ? ORDER BY ordinal";
        let values = vec![job_id.into()];
        self.fetch_all(sql, values).await
    }

    /// The candidates whose outcome wrote into the instance.
    pub async fn media_written(&self, job_id: &str) -> Result<HashSet<String>, StoreError> {
        let sql = "SELECT candidate_id FROM media_outcomes WHERE job_id = ? AND wrote = ?";
        let values: Vec<Value> = vec![job_id.into(), true.into()];
        Ok(self.fetch_texts(sql, values).await?.into_iter().collect())
    }
}
