//! Applying one chunk: one transaction over the target rows, the rollback
//! journal, the SN mirror, the row outcomes, the chunk's status and the
//! checkpoint, so a crash loses at most the chunk in flight and the
//! checkpoint is never ahead of what was committed.
//!
//! Every row's current target hash is read first. Rows whose hash no longer
//! matches the plan's `before_sha256` are conflicts: then the chunk runs in
//! row-fallback mode, applying the other rows one by one and skipping the
//! conflicting ones (`skipped_target_changed`) in the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, TransactionTrait, Value};

use super::plans::PlanRowRead;
use super::sql::{list_placeholders, rows_placeholders, statement};
use super::{Store, StoreError};

/// What to apply and under which lease.
#[derive(Debug)]
pub struct ChunkApply<'a> {
    pub job_id: &'a str,
    pub plan_hash: &'a str,
    pub tenant_id: &'a str,
    pub instance_id: &'a str,
    pub chunk_index: i64,
    pub chunk_id: &'a str,
    pub holder: &'a str,
    pub lease_expires_us: i64,
    /// The checkpoint's precondition checksum once this chunk is applied.
    pub next_precondition_checksum: &'a str,
    pub now: DateTime<Utc>,
    /// The chunk's rows that have no outcome yet.
    pub rows: &'a [PlanRowRead],
}

/// How a chunk went.
#[derive(Debug, Clone)]
pub struct ChunkResult {
    /// `applied` or `row_fallback`.
    pub status: &'static str,
    /// Plan row ids whose target changed since planning.
    pub conflicts: Vec<i64>,
    pub applied: usize,
}

/// The journal id of a row applied by a job (deterministic, so a retried
/// chunk cannot journal a row twice).
pub fn journal_id(job_id: &str, plan_row_id: i64) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(
        format!("{job_id}\u{1f}{plan_row_id}").as_bytes(),
    ));
    format!("jr_{}", &digest[..32])
}

struct Current {
    payload: serde_json::Value,
    sha: String,
}

impl Store {
    /// Applies a chunk; `None` when the caller no longer holds the lease
    /// (nothing is written then).
    pub async fn apply_chunk(&self, c: &ChunkApply<'_>) -> Result<Option<ChunkResult>, StoreError> {
        let backend = self.backend();
        let txn = self.db().begin().await?;
        if !advance_checkpoint(&txn, backend, c).await? {
            txn.rollback().await?;
            return Ok(None);
        }
        let current = read_current(&txn, backend, c).await?;
        let conflicts: Vec<i64> = c
            .rows
            .iter()
            .filter(|r| {
                current
                    .get(&(r.table.clone(), r.sys_id.clone()))
                    .map(|x| x.sha.as_str())
                    != r.before_sha256.as_deref()
            })
            .map(|r| r.plan_row_id)
            .collect();
        let fallback = !conflicts.is_empty();
        let applying: Vec<&PlanRowRead> = c
            .rows
            .iter()
            .filter(|r| !conflicts.contains(&r.plan_row_id))
            .collect();
        write_target(&txn, backend, c, &applying).await?;
        write_journal(&txn, backend, c, &applying, &current, fallback).await?;
        write_outcomes(&txn, backend, c, &conflicts, fallback).await?;
        let status = if fallback { "row_fallback" } else { "applied" };
        let sql = "UPDATE execution_chunks SET status = ?, fallback_trigger_conflict_ids = ?, applied_at = ? \
                   WHERE job_id = ? AND chunk_index = ?";
        let values: Vec<Value> = vec![
            status.into(),
            serde_json::to_value(&conflicts)?.into(),
            c.now.into(),
            c.job_id.into(),
            c.chunk_index.into(),
        ];
        txn.execute(statement(backend, sql, values)).await?;
        txn.commit().await?;
        Ok(Some(ChunkResult {
            status,
            conflicts,
            applied: applying.len(),
        }))
    }
}

/// Moves the checkpoint past this chunk and renews the lease, only if the
/// caller holds the lease and the checkpoint is at this chunk.
async fn advance_checkpoint(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE job_executions SET next_chunk_index = ?, precondition_checksum = ?, lease_expires_us = ?, \
               updated_at = ? WHERE job_id = ? AND lease_holder = ? AND next_chunk_index = ?";
    let values: Vec<Value> = vec![
        (c.chunk_index + 1).into(),
        c.next_precondition_checksum.into(),
        c.lease_expires_us.into(),
        c.now.into(),
        c.job_id.into(),
        c.holder.into(),
        c.chunk_index.into(),
    ];
    Ok(txn
        .execute(statement(backend, sql, values))
        .await?
        .rows_affected()
        > 0)
}

async fn read_current(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
) -> Result<HashMap<(String, String), Current>, StoreError> {
    let mut by_table: HashMap<&str, Vec<String>> = HashMap::new();
    for r in c.rows {
        by_table
            .entry(r.table.as_str())
            .or_default()
            .push(r.sys_id.clone());
    }
    let mut out = HashMap::new();
    for (table, ids) in by_table {
        let sql = format!(
            "SELECT sys_id, payload, payload_sha256 FROM target_records WHERE tenant_id = ? AND instance_id = ? \
             AND table_name = ? AND sys_id IN ({})",
            list_placeholders(ids.len())
        );
        let mut values: Vec<Value> = vec![c.tenant_id.into(), c.instance_id.into(), table.into()];
        values.extend(ids.into_iter().map(Value::from));
        for row in txn.query_all(statement(backend, &sql, values)).await? {
            let sys_id: String = row.try_get("", "sys_id")?;
            let current = Current {
                payload: row.try_get("", "payload")?,
                sha: row.try_get("", "payload_sha256")?,
            };
            out.insert((table.to_owned(), sys_id), current);
        }
    }
    Ok(out)
}

async fn write_target(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
    rows: &[&PlanRowRead],
) -> Result<(), StoreError> {
    let upserts: Vec<&&PlanRowRead> = rows.iter().filter(|r| r.action != "delete").collect();
    if !upserts.is_empty() {
        let sql = format!(
            "INSERT INTO target_records (tenant_id, instance_id, table_name, sys_id, payload, payload_sha256, updated_at) \
             VALUES {} ON CONFLICT (tenant_id, instance_id, table_name, sys_id) DO UPDATE SET \
             payload = excluded.payload, payload_sha256 = excluded.payload_sha256, updated_at = excluded.updated_at",
            rows_placeholders(upserts.len(), 7)
        );
        let mut values: Vec<Value> = Vec::with_capacity(upserts.len() * 7);
        for r in upserts {
            values.extend([
                c.tenant_id.into(),
                c.instance_id.into(),
                r.table.clone().into(),
                r.sys_id.clone().into(),
                r.after_payload.clone().into(),
                r.after_sha256.clone().into(),
                c.now.into(),
            ]);
        }
        txn.execute(statement(backend, &sql, values)).await?;
    }
    for r in rows.iter().filter(|r| r.action == "delete") {
        let sql = "DELETE FROM target_records WHERE tenant_id = ? AND instance_id = ? AND table_name = ? AND sys_id = ?";
        let values: Vec<Value> = vec![
            c.tenant_id.into(),
            c.instance_id.into(),
            r.table.clone().into(),
            r.sys_id.clone().into(),
        ];
        txn.execute(statement(backend, sql, values)).await?;
    }
    Ok(())
}

async fn write_journal(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
    rows: &[&PlanRowRead],
    current: &HashMap<(String, String), Current>,
    fallback: bool,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let attempt: i32 = if fallback { 2 } else { 1 };
    let mut journal: Vec<Value> = Vec::with_capacity(rows.len() * 13);
    let mut mirror: Vec<Value> = Vec::with_capacity(rows.len() * 8);
    let mut outcomes: Vec<Value> = Vec::with_capacity(rows.len() * 13);
    for r in rows {
        let id = journal_id(c.job_id, r.plan_row_id);
        let before = current.get(&(r.table.clone(), r.sys_id.clone()));
        let before_sha = before.map(|b| b.sha.clone());
        journal.extend([
            id.clone().into(),
            c.job_id.into(),
            c.plan_hash.into(),
            r.plan_row_id.into(),
            c.chunk_id.into(),
            attempt.into(),
            r.table.clone().into(),
            r.sys_id.clone().into(),
            r.action.clone().into(),
            before.map(|b| b.payload.clone()).into(),
            before_sha.clone().into(),
            r.after_sha256.clone().into(),
            c.now.into(),
        ]);
        mirror.extend([
            id.clone().into(),
            c.job_id.into(),
            r.table.clone().into(),
            r.sys_id.clone().into(),
            r.plan_row_id.into(),
            c.chunk_id.into(),
            before_sha.into(),
            c.now.into(),
        ]);
        outcomes.extend(outcome_values(
            c,
            r,
            "applied",
            None,
            fallback,
            attempt,
            Some(id),
        ));
    }
    let sql = format!(
        "INSERT INTO rollback_journal (journal_id, job_id, plan_hash, plan_row_id, chunk_id, row_attempt, table_name, \
         sys_id, action, before_image, before_image_sha256, after_image_sha256, created_at) VALUES {}",
        rows_placeholders(rows.len(), 13)
    );
    txn.execute(statement(backend, &sql, journal)).await?;
    let sql = format!(
        "INSERT INTO sn_mirror (journal_id, job_id, table_name, sys_id, plan_row_id, chunk_id, before_image_sha256, \
         synced_at) VALUES {}",
        rows_placeholders(rows.len(), 8)
    );
    txn.execute(statement(backend, &sql, mirror)).await?;
    insert_outcomes(txn, backend, rows.len(), outcomes).await
}

async fn write_outcomes(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
    conflicts: &[i64],
    fallback: bool,
) -> Result<(), StoreError> {
    let skipped: Vec<&PlanRowRead> = c
        .rows
        .iter()
        .filter(|r| conflicts.contains(&r.plan_row_id))
        .collect();
    if skipped.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(skipped.len() * 13);
    for r in &skipped {
        values.extend(outcome_values(
            c,
            r,
            "skipped",
            Some("skipped_target_changed"),
            fallback,
            2,
            None,
        ));
    }
    insert_outcomes(txn, backend, skipped.len(), values).await
}

fn outcome_values(
    c: &ChunkApply<'_>,
    r: &PlanRowRead,
    outcome: &str,
    reason: Option<&str>,
    fallback: bool,
    attempt: i32,
    journal_id: Option<String>,
) -> [Value; 13] {
    [
        c.job_id.into(),
        r.plan_row_id.into(),
        c.chunk_id.into(),
        c.chunk_index.into(),
        r.table.clone().into(),
        r.sys_id.clone().into(),
        r.action.clone().into(),
        outcome.into(),
        reason.into(),
        fallback.into(),
        attempt.into(),
        journal_id.into(),
        c.now.into(),
    ]
}

async fn insert_outcomes(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    n: usize,
    values: Vec<Value>,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO row_outcomes (job_id, plan_row_id, chunk_id, chunk_index, table_name, sys_id, action, outcome, \
         reason_code, used_row_fallback, row_attempt, journal_id, created_at) VALUES {}",
        rows_placeholders(n, 13)
    );
    txn.execute(statement(backend, &sql, values)).await?;
    Ok(())
}
