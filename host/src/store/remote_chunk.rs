//! A chunk written to a target whose writes are not atomic with this
//! database (a remote instance), in two commits around the writes: first
//! the intents (each row's before-image and hashes, under the job's lease),
//! then, once the target answered, each row's outcome, the journal and
//! mirror rows of the applied ones, the chunk's status and event and the
//! checkpoint, in one transaction that also removes the intents. Intents
//! left by a crash between the two are what a resume reads back.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, FromQueryResult, Value};

use super::chunk_apply::{
    advance_checkpoint, job_still, journal_id, record_chunk, ChunkApply, ChunkOutcome, ChunkResult,
};
use super::sql::{execute, rows_placeholders};
use super::{Store, StoreError};

/// What a row is about to overwrite, and what it will hold after.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Intent {
    pub plan_row_id: i64,
    pub before_image: Option<serde_json::Value>,
    pub before_image_sha256: Option<String>,
    pub after_image_sha256: Option<String>,
}

/// How one row of the chunk ended.
#[derive(Debug, Clone)]
pub struct RemoteOutcome {
    pub plan_row_id: i64,
    /// `applied`, `skipped` or `failed`.
    pub outcome: &'static str,
    pub reason_code: Option<&'static str>,
    /// For an applied row: what it overwrote (its journal row).
    pub journal: Option<Intent>,
}

/// Whether the caller still holds the lease with the checkpoint at this
/// chunk; renews the lease.
async fn lease_held(txn: &DatabaseTransaction, c: &ChunkApply<'_>) -> Result<bool, StoreError> {
    let sql = "UPDATE job_executions SET lease_expires_us = ?, updated_at = ? \
               WHERE job_id = ? AND lease_holder = ? AND next_chunk_index = ?";
    let values: Vec<Value> = vec![
        c.lease_expires_us.into(),
        c.now.into(),
        c.job_id.into(),
        c.holder.into(),
        c.chunk_index.into(),
    ];
    Ok(execute(txn, sql, values).await? > 0)
}

impl Store {
    /// Commits the intents of the rows about to be written (replacing any
    /// earlier intent of the same rows), under the lease.
    pub async fn record_intents(
        &self,
        c: &ChunkApply<'_>,
        intents: &[Intent],
    ) -> Result<Option<ChunkOutcome>, StoreError> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        if !lease_held(&txn, c).await? {
            txn.rollback().await?;
            return Ok(Some(ChunkOutcome::LeaseLost));
        }
        if !job_still(&txn, backend, c).await? {
            txn.rollback().await?;
            return Ok(Some(ChunkOutcome::JobEnded));
        }
        let sql = "DELETE FROM journal_intents WHERE job_id = ? AND chunk_index = ?";
        let values: Vec<Value> = vec![c.job_id.into(), c.chunk_index.into()];
        execute(&txn, sql, values).await?;
        for batch in intents.chunks(500) {
            insert_intents(&txn, c, batch).await?;
        }
        txn.commit().await?;
        Ok(None)
    }

    /// The intents of a chunk that have no outcome yet.
    pub async fn chunk_intents(
        &self,
        job_id: &str,
        chunk_index: i64,
    ) -> Result<Vec<Intent>, StoreError> {
        let sql = "SELECT plan_row_id, before_image, before_image_sha256, after_image_sha256 \
                   FROM journal_intents WHERE job_id = ? AND chunk_index = ? ORDER BY plan_row_id";
        let values: Vec<Value> = vec![job_id.into(), chunk_index.into()];
        self.fetch_all(sql, values).await
    }

    /// Commits how each row of the chunk ended, with the journal and
    /// mirror rows of the applied ones, the chunk's status and event and
    /// the checkpoint past it, and removes its intents.
    pub async fn commit_remote_chunk(
        &self,
        c: &ChunkApply<'_>,
        outcomes: &[RemoteOutcome],
        result: &ChunkResult,
    ) -> Result<ChunkOutcome, StoreError> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        if !advance_checkpoint(&txn, c).await? {
            txn.rollback().await?;
            return Ok(ChunkOutcome::LeaseLost);
        }
        if !job_still(&txn, backend, c).await? {
            txn.rollback().await?;
            return Ok(ChunkOutcome::JobEnded);
        }
        let fallback = !result.conflicts.is_empty();
        for batch in outcomes.chunks(200) {
            insert_journal(&txn, c, batch, fallback).await?;
            insert_outcomes(&txn, c, batch, fallback).await?;
        }
        let sql = "DELETE FROM journal_intents WHERE job_id = ? AND chunk_index = ?";
        let values: Vec<Value> = vec![c.job_id.into(), c.chunk_index.into()];
        execute(&txn, sql, values).await?;
        record_chunk(&txn, c, result).await?;
        txn.commit().await?;
        Ok(ChunkOutcome::Applied(result.clone()))
    }
}

async fn insert_intents(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    intents: &[Intent],
) -> Result<(), StoreError> {
    if intents.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(intents.len() * 7);
    for i in intents {
        values.extend([
            c.job_id.into(),
            i.plan_row_id.into(),
            c.chunk_index.into(),
            i.before_image.clone().into(),
            i.before_image_sha256.clone().into(),
            i.after_image_sha256.clone().into(),
            c.now.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO journal_intents (job_id, plan_row_id, chunk_index, before_image, before_image_sha256, \
         after_image_sha256, created_at) VALUES {}",
        rows_placeholders(intents.len(), 7)
    );
    execute(txn, &sql, values).await?;
    Ok(())
}

/// The row of `plan_row_id` in the chunk's rows.
fn key<'a>(
    c: &'a ChunkApply<'_>,
    plan_row_id: i64,
) -> Result<&'a super::plans::PlanRowKey, StoreError> {
    c.rows
        .iter()
        .find(|r| r.plan_row_id == plan_row_id)
        .ok_or_else(|| StoreError::Corrupt(format!("plan row {plan_row_id} is not in the chunk")))
}

fn attempt(fallback: bool) -> i32 {
    if fallback {
        2
    } else {
        1
    }
}

async fn insert_journal(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    outcomes: &[RemoteOutcome],
    fallback: bool,
) -> Result<(), StoreError> {
    let applied: Vec<(&RemoteOutcome, &Intent)> = outcomes
        .iter()
        .filter_map(|o| o.journal.as_ref().map(|j| (o, j)))
        .collect();
    if applied.is_empty() {
        return Ok(());
    }
    let (mut journal, mut mirror): (Vec<Value>, Vec<Value>) = (Vec::new(), Vec::new());
    for (o, j) in &applied {
        let row = key(c, o.plan_row_id)?;
        let id = journal_id(c.job_id, o.plan_row_id);
        journal.extend([
            id.clone().into(),
            c.job_id.into(),
            c.plan_hash.into(),
            o.plan_row_id.into(),
            c.chunk_id.into(),
            attempt(fallback).into(),
            row.table.clone().into(),
            row.sys_id.clone().into(),
            row.action.clone().into(),
            j.before_image.clone().into(),
            j.before_image_sha256.clone().into(),
            j.after_image_sha256.clone().into(),
            c.now.into(),
        ]);
        mirror.extend(mirror_values(c, row, &id, j, c.now));
    }
    let sql = format!(
        "INSERT INTO rollback_journal (journal_id, job_id, plan_hash, plan_row_id, chunk_id, row_attempt, table_name, \
         sys_id, action, before_image, before_image_sha256, after_image_sha256, created_at) VALUES {}",
        rows_placeholders(applied.len(), 13)
    );
    execute(txn, &sql, journal).await?;
    let sql = format!(
        "INSERT INTO sn_mirror (journal_id, job_id, table_name, sys_id, plan_row_id, chunk_id, \
         before_image_sha256, synced_at) VALUES {}",
        rows_placeholders(applied.len(), 8)
    );
    execute(txn, &sql, mirror).await?;
    Ok(())
}

fn mirror_values(
    c: &ChunkApply<'_>,
    row: &super::plans::PlanRowKey,
    journal_id: &str,
    intent: &Intent,
    at: DateTime<Utc>,
) -> [Value; 8] {
    [
        journal_id.into(),
        c.job_id.into(),
        row.table.clone().into(),
        row.sys_id.clone().into(),
        row.plan_row_id.into(),
        c.chunk_id.into(),
        intent.before_image_sha256.clone().into(),
        at.into(),
    ]
}

async fn insert_outcomes(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    outcomes: &[RemoteOutcome],
    fallback: bool,
) -> Result<(), StoreError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(outcomes.len() * 13);
    for o in outcomes {
        let row = key(c, o.plan_row_id)?;
        let journal = o
            .journal
            .as_ref()
            .map(|_| journal_id(c.job_id, o.plan_row_id));
        values.extend([
            c.job_id.into(),
            o.plan_row_id.into(),
            c.chunk_id.into(),
            c.chunk_index.into(),
            row.table.clone().into(),
            row.sys_id.clone().into(),
            row.action.clone().into(),
            o.outcome.into(),
            o.reason_code.map(str::to_owned).into(),
            fallback.into(),
            attempt(fallback).into(),
            journal.into(),
            c.now.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO row_outcomes (job_id, plan_row_id, chunk_id, chunk_index, table_name, sys_id, action, outcome, \
         reason_code, used_row_fallback, row_attempt, journal_id, created_at) VALUES {}",
        rows_placeholders(outcomes.len(), 13)
    );
    execute(txn, &sql, values).await?;
    Ok(())
}
