//! Applying one chunk: one transaction over the target rows, the rollback
//! journal, the SN mirror, the row outcomes, the chunk's status and the
//! checkpoint, so a crash loses at most the chunk in flight and the
//! checkpoint is never ahead of what was committed.
//!
//! The rows whose current target hash is no longer the plan's are read
//! first, locking every record of the chunk that exists (`FOR UPDATE` on
//! PostgreSQL; SQLite's write transaction excludes every other writer), so
//! no target write lands between that read and the chunk's write. On
//! PostgreSQL the records the chunk deletes are the exception: the delete
//! locks each one as it removes it, journals it only if its hash is still
//! the plan's, and a chunk that finds one changed meanwhile is tried
//! again, as below. The rows that changed are the conflicts
//! ([`ChunkTxn::conflicts`], then [`ChunkTxn::write`]); they are skipped
//! (`skipped_target_changed`) and the others applied as their second
//! attempt (`row_attempt` 2, `used_row_fallback`), in the same
//! transaction. A record the chunk creates has no row to lock:
//! if one appears meanwhile, the chunk's insert finds it, nothing is
//! written, and the domain tries the chunk again.
//!
//! The chunk's event (`chunk_applied` or `chunk_row_fallback`) is written
//! in the same transaction, so the job's history never lacks a committed
//! chunk or names one that was rolled back.
//!
//! The rows are written set-wise, in SQL, from the plan's rows: the journal
//! from `plan_rows` joined to the target as it is before the write (its
//! before-images), the SN mirror and the applied outcomes from the journal
//! rows just written, the target from `plan_rows`' after-payloads. Payloads
//! never travel to the service and back, and values common to a chunk are
//! bound once instead of once per row: this is what lets a restore run at
//! a useful fraction of the database's raw insert rate (see the restore
//! bench).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, FromQueryResult, Value};

use super::job_events::{self, NewEventRow};
use super::plans::PlanRowKey;
use super::sql::{execute, list_placeholders, rows_placeholders, statement};
use super::target::{chunk_conflicts, target_row_join, RowLock};
use super::{Store, StoreError};

/// What to apply and under which lease.
pub struct ChunkApply<'a> {
    pub job_id: &'a str,
    pub job_seq: i64,
    pub plan_id: &'a str,
    pub plan_hash: &'a str,
    pub tenant_id: &'a str,
    pub instance_id: &'a str,
    pub chunk_index: i64,
    pub chunk_id: &'a str,
    pub holder: &'a str,
    pub lease_expires_us: i64,
    /// The status the job must still have for the chunk to apply
    /// (`running`: only a running job holds its table locks).
    pub job_status: &'a str,
    /// The checkpoint's precondition checksum once this chunk is applied.
    pub next_precondition_checksum: &'a str,
    pub now: DateTime<Utc>,
    /// The chunk's rows (all of them: a chunk applies as a whole or not).
    pub rows: &'a [PlanRowKey],
    /// The chunk's event, from how it went (the domain decides its type
    /// and details).
    pub event: &'a (dyn Fn(&ChunkResult) -> NewEventRow + Send + Sync),
}

/// What became of a request to apply a chunk.
#[derive(Debug, Clone)]
pub enum ChunkOutcome {
    /// Committed.
    Applied(ChunkResult),
    /// The caller no longer holds the lease, or the checkpoint moved on:
    /// nothing was written.
    LeaseLost,
    /// The job no longer has the status the execution needs (an operator
    /// completed it meanwhile; its table locks are gone): nothing was
    /// written.
    JobEnded,
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

/// The journal id of a row applied by a job: `jr_`, 16 hex digits of the
/// sha256 of the job id, then the plan row id as 16 hex digits.
/// Deterministic, so a retried chunk cannot journal a row twice, and
/// ascending within a job, so a chunk's journal rows append to the
/// primary-key index instead of landing at random places in it.
pub fn journal_id(job_id: &str, plan_row_id: i64) -> String {
    format!("{}{plan_row_id:016x}", journal_prefix(job_id))
}

fn journal_prefix(job_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(job_id.as_bytes());
    format!("jr_{}", hex::encode(&digest[..8]))
}

/// SQL computing [`journal_id`] from its prefix (bound) and `column`.
fn journal_id_sql(backend: DatabaseBackend, column: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("? || lpad(to_hex({column}), 16, '0')"),
        _ => format!("? || printf('%016x', {column})"),
    }
}

/// The chunk's rows in `plan_rows` (alias `p`), less the conflicting ones:
/// a `WHERE` body and its values.
struct ChunkFilter {
    sql: String,
    values: Vec<Value>,
}

impl ChunkFilter {
    fn new(c: &ChunkApply<'_>, conflicts: &[i64]) -> Self {
        let mut sql = String::from("p.plan_id = ? AND p.chunk_index = ?");
        let mut values: Vec<Value> = vec![c.plan_id.into(), c.chunk_index.into()];
        if !conflicts.is_empty() {
            sql.push_str(&format!(
                " AND p.plan_row_id NOT IN ({})",
                list_placeholders(conflicts.len())
            ));
            values.extend(conflicts.iter().map(|id| Value::from(*id)));
        }
        Self { sql, values }
    }

    /// PostgreSQL: the plan rows `ids` (of one chunk), found by the plan's
    /// primary key. Not by chunk with the others excluded: an extra
    /// condition on a plan whose rows are too new for statistics let the
    /// planner read every row of the plan through another index (35 ms a
    /// chunk at 100,000 rows).
    fn rows(c: &ChunkApply<'_>, ids: Vec<i64>) -> Self {
        Self {
            sql: "p.plan_id = ? AND p.plan_row_id = ANY(CAST(? AS bigint[]))".to_owned(),
            values: vec![c.plan_id.into(), ids.into()],
        }
    }
}

/// A chunk's transaction, begun under the lease: the domain reads the
/// target's current hashes through it, decides which rows conflict, and
/// has it write the rest.
pub struct ChunkTxn<'c, 'a> {
    txn: DatabaseTransaction,
    backend: DatabaseBackend,
    c: &'c ChunkApply<'a>,
}

/// How a chunk's transaction began.
pub enum ChunkStart<'c, 'a> {
    /// Under the lease, the job running: go on.
    Begun(ChunkTxn<'c, 'a>),
    /// Nothing to do: nothing was written.
    Stopped(ChunkOutcome),
}

impl Store {
    /// Begins a chunk's transaction: the checkpoint moved past it under
    /// the caller's lease, the job's row checked (and locked).
    pub async fn begin_chunk<'c, 'a>(
        &self,
        c: &'c ChunkApply<'a>,
    ) -> Result<ChunkStart<'c, 'a>, StoreError> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        if !advance_checkpoint(&txn, c).await? {
            txn.rollback().await?;
            return Ok(ChunkStart::Stopped(ChunkOutcome::LeaseLost));
        }
        if !job_still(&txn, backend, c).await? {
            txn.rollback().await?;
            return Ok(ChunkStart::Stopped(ChunkOutcome::JobEnded));
        }
        Ok(ChunkStart::Begun(ChunkTxn { txn, backend, c }))
    }
}

impl ChunkTxn<'_, '_> {
    /// Whether [`ChunkTxn::write`] can find the chunk's conflicts itself,
    /// so that a first try need not read them ([`ChunkTxn::conflicts`]):
    /// normally there are none, and the read is a fifth of a chunk's
    /// database time. Such a write journals a row only while its record
    /// still hashes to the plan row's `before_sha256` (absent for a
    /// create), and answers `None`, nothing written, when any row falls
    /// short; the next try reads the conflicts. On SQLite every chunk (its
    /// write transaction excludes every other writer, so the journal's
    /// check is the conflict read); on PostgreSQL a chunk of deletes only,
    /// whose delete locks and checks each row as it removes it (the rows a
    /// chunk writes must be locked by the read first).
    pub fn write_checks_conflicts(&self) -> bool {
        match self.backend {
            DatabaseBackend::Postgres => {
                !self.c.rows.is_empty()
                    && self
                        .c
                        .rows
                        .iter()
                        .all(|r| r.action == "delete" && r.before_sha256.is_some())
            }
            _ => true,
        }
    }

    /// The chunk's rows whose target record changed since planning: its
    /// current hash is not the plan row's `before_sha256`. Locked: a
    /// target write racing the chunk either commits first (and its row
    /// is listed here) or waits for the chunk to commit; it is never
    /// overwritten unseen, with a stale before-image journaled.
    pub async fn conflicts(&self) -> Result<Vec<i64>, StoreError> {
        let c = self.c;
        chunk_conflicts(
            &self.txn,
            c.tenant_id,
            c.instance_id,
            c.plan_id,
            c.chunk_index,
        )
        .await
    }

    /// Writes the chunk less `conflicts` (skipped as
    /// `skipped_target_changed`; any conflict makes it a row-fallback
    /// chunk) and commits; `None` for conflicts not read, where
    /// [`ChunkTxn::write_checks_conflicts`]. `None` when a record the chunk
    /// creates was created in the target meanwhile, or a record changed
    /// that was not read as a conflict: nothing was written, try again.
    pub async fn write(
        self,
        conflicts: Option<Vec<i64>>,
    ) -> Result<Option<ChunkResult>, StoreError> {
        let (txn, backend, c) = (self.txn, self.backend, self.c);
        let unread = conflicts.is_none();
        let conflicts = conflicts.unwrap_or_default();
        let fallback = !conflicts.is_empty();
        let applying: Vec<&PlanRowKey> = c
            .rows
            .iter()
            .filter(|r| !conflicts.contains(&r.plan_row_id))
            .collect();
        let filter = ChunkFilter::new(c, &conflicts);
        let attempt: i32 = if fallback { 2 } else { 1 };
        // On PostgreSQL each delete is journaled by the statement that
        // deletes it (see `delete_and_journal`); the other rows are
        // journaled from the target as it is now.
        let deleting: Vec<&PlanRowKey> = match backend {
            DatabaseBackend::Postgres => applying
                .iter()
                .copied()
                .filter(|r| r.action == "delete" && r.before_sha256.is_some())
                .collect(),
            _ => Vec::new(),
        };
        // (An undo's chunk is often all deletes: then there is nothing
        // else to journal, and no statement to plan and run for it.)
        let mut journaled = if deleting.is_empty() {
            write_journal(&txn, backend, c, &filter, attempt, unread).await?
        } else if deleting.len() < applying.len() {
            let others: Vec<i64> = applying
                .iter()
                .filter(|r| !(r.action == "delete" && r.before_sha256.is_some()))
                .map(|r| r.plan_row_id)
                .collect();
            let others = ChunkFilter::rows(c, others);
            write_journal(&txn, backend, c, &others, attempt, unread).await?
        } else {
            0
        };
        // A chunk of deletes only writes its mirror and outcome rows in the
        // deleting statement too.
        let folded = !deleting.is_empty() && deleting.len() == applying.len();
        if !deleting.is_empty() {
            let outcomes = folded.then_some(fallback);
            let deleted = delete_and_journal(&txn, c, &deleting, attempt, outcomes).await?;
            if deleted != deleting.len() as u64 {
                // A record changed or went between the conflict read and
                // the delete: nothing stays written, and the next try
                // reads it as a conflict.
                txn.rollback().await?;
                return Ok(None);
            }
            journaled += deleted;
        }
        if journaled != applying.len() as u64 && unread {
            // A row's record is not as planned: a conflict not read.
            txn.rollback().await?;
            return Ok(None);
        }
        if journaled != applying.len() as u64 {
            return Err(StoreError::Corrupt(format!(
                "chunk {} of job {}: {journaled} journal rows for {} applied rows",
                c.chunk_index,
                c.job_id,
                applying.len()
            )));
        }
        if let (Some(first), Some(last), false) = (applying.first(), applying.last(), folded) {
            let range = (first.plan_row_id, last.plan_row_id);
            write_mirror(&txn, c, range).await?;
            write_applied_outcomes(&txn, c, range, fallback).await?;
        }
        if !write_target(&txn, c, &filter, &applying, !deleting.is_empty()).await? {
            txn.rollback().await?;
            return Ok(None);
        }
        write_skipped_outcomes(&txn, c, &conflicts).await?;
        let status = if fallback { "row_fallback" } else { "applied" };
        let result = ChunkResult {
            status,
            conflicts,
            applied: applying.len(),
        };
        record_chunk(&txn, c, &result).await?;
        txn.commit().await?;
        Ok(Some(result))
    }
}

/// The chunk's status and its event, in the chunk's transaction.
pub(super) async fn record_chunk(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    result: &ChunkResult,
) -> Result<(), StoreError> {
    let sql = "UPDATE execution_chunks SET status = ?, fallback_trigger_conflict_ids = ?, applied_at = ? \
               WHERE job_id = ? AND chunk_index = ?";
    let values: Vec<Value> = vec![
        result.status.into(),
        serde_json::to_value(&result.conflicts)?.into(),
        c.now.into(),
        c.job_id.into(),
        c.chunk_index.into(),
    ];
    execute(txn, sql, values).await?;
    if job_events::append_event(txn, c.job_seq, &(c.event)(result))
        .await?
        .is_none()
    {
        return Err(StoreError::Corrupt(format!(
            "job {} vanished while chunk {} applied",
            c.job_id, c.chunk_index
        )));
    }
    Ok(())
}

/// Moves the checkpoint past this chunk and renews the lease, only if the
/// caller holds the lease and the checkpoint is at this chunk.
pub(super) async fn advance_checkpoint(
    txn: &DatabaseTransaction,
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
    Ok(execute(txn, sql, values).await? > 0)
}

/// Whether the job still has `c.job_status`, its row locked until the
/// chunk commits: on PostgreSQL `FOR UPDATE`, so an operator's complete
/// (which updates the row) waits for the chunk or the chunk sees it
/// ended; on SQLite the transaction already holds the database's write
/// lock from [`advance_checkpoint`].
pub(super) async fn job_still(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
) -> Result<bool, StoreError> {
    let lock = match backend {
        DatabaseBackend::Postgres => " FOR UPDATE",
        _ => "",
    };
    #[derive(FromQueryResult)]
    struct Status {
        status: String,
    }
    let sql = format!("SELECT status FROM jobs WHERE job_seq = ?{lock}");
    let job = Status::find_by_statement(statement(backend, &sql, vec![c.job_seq.into()]))
        .one(txn)
        .await?;
    Ok(job.is_some_and(|j| j.status == c.job_status))
}

/// One journal row per row of `filter`, its before-image and hash read
/// from the target as it is now (before [`write_target`]); when `checked`,
/// only rows whose record still hashes to the plan row's `before_sha256`
/// (absent for none). Returns the number of rows written.
async fn write_journal(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
    filter: &ChunkFilter,
    attempt: i32,
    checked: bool,
) -> Result<u64, StoreError> {
    let check = match (checked, backend) {
        (false, _) => "",
        (true, DatabaseBackend::Postgres) => {
            " AND t.payload_sha256 IS NOT DISTINCT FROM p.before_sha256"
        }
        (true, _) => " AND t.payload_sha256 IS p.before_sha256",
    };
    let sql = format!(
        "INSERT INTO rollback_journal ({JOURNAL_COLUMNS}) \
         SELECT {}, ?, ?, p.plan_row_id, ?, ?, p.table_name, p.sys_id, p.action, t.payload, t.payload_sha256, \
         p.after_sha256, ? FROM plan_rows p {} WHERE {}{check}",
        journal_id_sql(backend, "p.plan_row_id"),
        target_row_join(backend, "LEFT JOIN", "t.payload, t.payload_sha256", RowLock::None),
        filter.sql
    );
    let mut values: Vec<Value> = journal_values(c, attempt).to_vec();
    values.extend([c.tenant_id.into(), c.instance_id.into()]);
    values.extend(filter.values.iter().cloned());
    execute(txn, &sql, values).await
}

/// The values every journal insert binds, in its order: the journal id
/// prefix, job, plan hash, chunk, attempt and time.
fn journal_values(c: &ChunkApply<'_>, attempt: i32) -> [Value; 6] {
    [
        journal_prefix(c.job_id).into(),
        c.job_id.into(),
        c.plan_hash.into(),
        c.chunk_id.into(),
        attempt.into(),
        c.now.into(),
    ]
}

const JOURNAL_COLUMNS: &str =
    "journal_id, job_id, plan_hash, plan_row_id, chunk_id, row_attempt, table_name, \
     sys_id, action, before_image, before_image_sha256, after_image_sha256, created_at";

/// PostgreSQL: deletes the chunk's `deleting` records and journals each
/// one, its before-image the row the delete returned, in one statement per
/// table (a data-modifying `WITH`): the delete locks, reads and removes
/// each row in one pass, where the undo of a restore that created 100,000
/// records otherwise locks each one (`FOR UPDATE`), reads it again for the
/// journal, then deletes it. The records are found by the target's primary
/// key with `sys_id = ANY(...)`, which the planner answers with one index
/// scan whatever its statistics say (a join against the keys was planned as
/// a hash join over the whole table). Only a record whose hash is still the
/// plan's `before_sha256` is journaled (under READ COMMITTED the delete
/// reads the newest committed version of a row it waited for), so the
/// count falls short when one changed or went since the chunk's conflict
/// read: the caller then rolls the whole chunk back and tries again. A
/// delete's plan row has no after-image (the diff and the undo plan both
/// leave its `after_sha256` empty), so neither has its journal row, and
/// `plan_rows` is not read again (looked up per key, its fresh rows had no
/// statistics and the planner scanned the whole plan for each one).
///
/// With `outcomes` (the chunk's fallback flag), the chunk deletes and
/// nothing else: the same statement also writes each journal row's mirror
/// row and `applied` outcome from the journal rows it inserts, which
/// [`write_mirror`] and [`write_applied_outcomes`] would otherwise read
/// back (wide rows, the before-images among them: a fifth of such a chunk).
async fn delete_and_journal(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    deleting: &[&PlanRowKey],
    attempt: i32,
    outcomes: Option<bool>,
) -> Result<u64, StoreError> {
    let mut tables: Vec<&str> = deleting.iter().map(|r| r.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    let journal = format!(
        "INSERT INTO rollback_journal ({JOURNAL_COLUMNS}) \
         SELECT {}, ?, ?, k.plan_row_id, ?, ?, d.table_name, d.sys_id, 'delete', d.payload, d.payload_sha256, \
         NULL, ? FROM d JOIN unnest(CAST(? AS bigint[]), CAST(? AS text[]), CAST(? AS text[])) \
         AS k(plan_row_id, sys_id, before_sha256) ON k.sys_id = d.sys_id AND k.before_sha256 = d.payload_sha256",
        journal_id_sql(DatabaseBackend::Postgres, "k.plan_row_id"),
    );
    let delete = "d AS (DELETE FROM target_records t WHERE t.tenant_id = ? AND t.instance_id = ? \
         AND t.table_name = ? AND t.sys_id = ANY(CAST(? AS text[])) \
         RETURNING t.table_name, t.sys_id, t.payload, t.payload_sha256)";
    let sql = match outcomes {
        None => format!("WITH {delete} {journal}"),
        Some(_) => format!(
            "WITH {delete}, j AS ({journal} RETURNING journal_id, job_id, table_name, sys_id, plan_row_id, \
             chunk_id, action, before_image_sha256, row_attempt, created_at), \
             m AS (INSERT INTO sn_mirror (journal_id, job_id, table_name, sys_id, plan_row_id, chunk_id, \
             before_image_sha256, synced_at) \
             SELECT journal_id, job_id, table_name, sys_id, plan_row_id, chunk_id, before_image_sha256, created_at \
             FROM j) \
             INSERT INTO row_outcomes ({OUTCOME_COLUMNS}) \
             SELECT job_id, plan_row_id, chunk_id, ?, table_name, sys_id, action, 'applied', NULL, ?, row_attempt, \
             journal_id, created_at FROM j"
        ),
    };
    let mut journaled = 0;
    for table in tables {
        let rows: Vec<&&PlanRowKey> = deleting.iter().filter(|r| r.table == table).collect();
        let sys_ids: Vec<String> = rows.iter().map(|r| r.sys_id.clone()).collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.plan_row_id).collect();
        let hashes: Vec<String> = rows
            .iter()
            .map(|r| r.before_sha256.clone().unwrap_or_default())
            .collect();
        let mut values: Vec<Value> = vec![
            c.tenant_id.into(),
            c.instance_id.into(),
            table.into(),
            sys_ids.clone().into(),
        ];
        values.extend(journal_values(c, attempt));
        values.extend([ids.into(), sys_ids.into(), hashes.into()]);
        if let Some(fallback) = outcomes {
            values.extend([c.chunk_index.into(), fallback.into()]);
        }
        journaled += execute(txn, &sql, values).await?;
    }
    Ok(journaled)
}

/// The chunk's journal rows, found by the job's `(job_id, plan_row_id)`
/// index over `range` (the first and last applied plan row ids); binds
/// [`journal_rows_values`].
const CHUNK_JOURNAL_ROWS: &str =
    "FROM rollback_journal WHERE job_id = ? AND plan_row_id BETWEEN ? AND ? AND chunk_id = ?";

fn journal_rows_values(c: &ChunkApply<'_>, range: (i64, i64)) -> [Value; 4] {
    [
        c.job_id.into(),
        range.0.into(),
        range.1.into(),
        c.chunk_id.into(),
    ]
}

/// The SN mirror rows of the chunk's journal rows: linkage ids and
/// hashes, never a before-image.
async fn write_mirror(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    range: (i64, i64),
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO sn_mirror (journal_id, job_id, table_name, sys_id, plan_row_id, chunk_id, \
         before_image_sha256, synced_at) \
         SELECT journal_id, job_id, table_name, sys_id, plan_row_id, chunk_id, before_image_sha256, created_at \
         {CHUNK_JOURNAL_ROWS}"
    );
    let values = journal_rows_values(c, range).to_vec();
    execute(txn, &sql, values).await?;
    Ok(())
}

const OUTCOME_COLUMNS: &str =
    "job_id, plan_row_id, chunk_id, chunk_index, table_name, sys_id, action, outcome, reason_code, \
     used_row_fallback, row_attempt, journal_id, created_at";

/// An `applied` outcome for each of the chunk's journal rows.
async fn write_applied_outcomes(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    range: (i64, i64),
    fallback: bool,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO row_outcomes ({OUTCOME_COLUMNS}) \
         SELECT job_id, plan_row_id, chunk_id, ?, table_name, sys_id, action, 'applied', NULL, ?, row_attempt, \
         journal_id, created_at {CHUNK_JOURNAL_ROWS}"
    );
    let mut values: Vec<Value> = vec![c.chunk_index.into(), fallback.into()];
    values.extend(journal_rows_values(c, range));
    execute(txn, &sql, values).await?;
    Ok(())
}

/// The target rows from the plan's after-payloads: updates of the rows the
/// chunk locked, creates only where the record is still absent, and the
/// deletes, all set-wise (an undo deletes as many rows as its restore
/// created). Returns false, having
/// written only part, when a record the chunk creates was created in the
/// target after the chunk's read (no lock covers an absent row): the
/// caller rolls back and tries again, and that try sees it as a conflict.
async fn write_target(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    filter: &ChunkFilter,
    applying: &[&PlanRowKey],
    deleted: bool,
) -> Result<bool, StoreError> {
    let writes = |r: &&&PlanRowKey| r.action != "delete";
    let creates = applying
        .iter()
        .filter(writes)
        .filter(|r| r.before_sha256.is_none())
        .count();
    let updates = applying
        .iter()
        .filter(writes)
        .filter(|r| r.before_sha256.is_some())
        .count();
    // SQLite needs the WHERE before ON CONFLICT to parse an upsert from a
    // SELECT; the filter always has one.
    let insert = "INSERT INTO target_records (tenant_id, instance_id, table_name, sys_id, payload, payload_sha256, \
                  updated_at) SELECT ?, ?, p.table_name, p.sys_id, p.after_payload, p.after_sha256, ? FROM plan_rows p";
    let values = || {
        let mut values: Vec<Value> = vec![c.tenant_id.into(), c.instance_id.into(), c.now.into()];
        values.extend(filter.values.iter().cloned());
        values
    };
    if creates > 0 {
        let sql = format!(
            "{insert} WHERE {} AND p.action <> 'delete' AND p.before_sha256 IS NULL \
             ON CONFLICT (tenant_id, instance_id, table_name, sys_id) DO NOTHING",
            filter.sql
        );
        let created = execute(txn, &sql, values()).await?;
        if created != creates as u64 {
            return Ok(false);
        }
    }
    if updates > 0 {
        let sql = format!(
            "{insert} WHERE {} AND p.action <> 'delete' AND p.before_sha256 IS NOT NULL \
             ON CONFLICT (tenant_id, instance_id, table_name, sys_id) DO UPDATE SET \
             payload = excluded.payload, payload_sha256 = excluded.payload_sha256, updated_at = excluded.updated_at",
            filter.sql
        );
        execute(txn, &sql, values()).await?;
    }
    // Already deleted by `delete_and_journal` when `deleted`.
    let deletes: Vec<&PlanRowKey> = applying
        .iter()
        .copied()
        .filter(|r| r.action == "delete" && !(deleted && r.before_sha256.is_some()))
        .collect();
    if !deletes.is_empty() {
        let (sql, values) = delete_statement(txn.get_database_backend(), c, filter, &deletes);
        execute(txn, &sql, values).await?;
    }
    Ok(true)
}

/// The chunk's deletes as one statement that finds each row by the
/// target's primary key, whatever the number of rows in the instance.
///
/// On PostgreSQL the keys are bound as two arrays and joined through
/// `unnest`: the planner sees a few hundred keys and probes the primary
/// key for each. The row-value `IN (SELECT ... FROM plan_rows ...)` form
/// that SQLite answers by index was planned there as a semi-join over all
/// of the instance's rows, once per chunk: an undo of 100,000 rows took
/// four times its restore.
fn delete_statement(
    backend: DatabaseBackend,
    c: &ChunkApply<'_>,
    filter: &ChunkFilter,
    deletes: &[&PlanRowKey],
) -> (String, Vec<Value>) {
    match backend {
        DatabaseBackend::Postgres => {
            let tables: Vec<String> = deletes.iter().map(|r| r.table.clone()).collect();
            let sys_ids: Vec<String> = deletes.iter().map(|r| r.sys_id.clone()).collect();
            let sql =
                "DELETE FROM target_records t USING unnest(CAST(? AS text[]), CAST(? AS text[])) \
                       AS d(table_name, sys_id) WHERE t.tenant_id = ? AND t.instance_id = ? \
                       AND t.table_name = d.table_name AND t.sys_id = d.sys_id";
            let values = vec![
                tables.into(),
                sys_ids.into(),
                c.tenant_id.into(),
                c.instance_id.into(),
            ];
            (sql.to_owned(), values)
        }
        _ => {
            let sql = format!(
                "DELETE FROM target_records WHERE tenant_id = ? AND instance_id = ? AND (table_name, sys_id) IN \
                 (SELECT p.table_name, p.sys_id FROM plan_rows p WHERE {} AND p.action = 'delete')",
                filter.sql
            );
            let mut values: Vec<Value> = vec![c.tenant_id.into(), c.instance_id.into()];
            values.extend(filter.values.iter().cloned());
            (sql, values)
        }
    }
}

/// A `skipped_target_changed` outcome for each conflicting row.
async fn write_skipped_outcomes(
    txn: &DatabaseTransaction,
    c: &ChunkApply<'_>,
    conflicts: &[i64],
) -> Result<(), StoreError> {
    let skipped: Vec<&PlanRowKey> = c
        .rows
        .iter()
        .filter(|r| conflicts.contains(&r.plan_row_id))
        .collect();
    if skipped.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(skipped.len() * 13);
    for r in &skipped {
        values.extend([
            c.job_id.into(),
            r.plan_row_id.into(),
            c.chunk_id.into(),
            c.chunk_index.into(),
            r.table.clone().into(),
            r.sys_id.clone().into(),
            r.action.clone().into(),
            "skipped".into(),
            "skipped_target_changed".into(),
            true.into(),
            2i32.into(),
            Option::<String>::None.into(),
            c.now.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO row_outcomes (job_id, plan_row_id, chunk_id, chunk_index, table_name, sys_id, action, outcome, \
         reason_code, used_row_fallback, row_attempt, journal_id, created_at) VALUES {}",
        rows_placeholders(skipped.len(), 13)
    );
    execute(txn, &sql, values).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_ids_are_deterministic_and_ascend_within_a_job() {
        let a = journal_id("job_a", 7);
        assert_eq!(a, journal_id("job_a", 7));
        assert_eq!(a.len(), "jr_".len() + 32);
        assert!(journal_id("job_a", 8) > a);
        assert!(journal_id("job_a", 300) > journal_id("job_a", 16));
        assert_ne!(journal_id("job_b", 7), a);
        assert!(a.starts_with(&journal_prefix("job_a")));
        assert!(a.ends_with("0000000000000007"));
    }
}
