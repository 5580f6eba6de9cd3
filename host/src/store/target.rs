//! The embedded target instance: table schemas, live rows and restored
//! attachments, kept in the service database.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Value};

use super::plans::PlanRowKey;
use super::sql::{execute, statement};
use super::{Store, StoreError};

/// A target table's schema and permission.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TargetTableRow {
    pub tenant_id: String,
    pub instance_id: String,
    #[sea_orm(from_alias = "table_name")]
    pub table: String,
    /// The column list as given (`[{name, type, reference_table?}]`).
    pub columns: serde_json::Value,
    /// sha256 of the canonical column list; execution revalidates it.
    pub schema_sha256: String,
    pub write_allowed: bool,
    pub updated_at: DateTime<Utc>,
}

/// A live row of the target.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TargetRecordRow {
    pub sys_id: String,
    pub payload: serde_json::Value,
    pub payload_sha256: String,
    pub updated_at: DateTime<Utc>,
}

/// A restored attachment.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TargetMediaRow {
    pub media_id: String,
    pub parent_sys_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256_plain: String,
    pub restored_at: DateTime<Utc>,
}

impl Store {
    /// Creates or replaces a table's schema and permission.
    pub async fn put_target_table(&self, row: &TargetTableRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO target_tables (tenant_id, instance_id, table_name, columns, schema_sha256, write_allowed, updated_at) \
                   VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, instance_id, table_name) DO UPDATE SET \
                   columns = excluded.columns, schema_sha256 = excluded.schema_sha256, \
                   write_allowed = excluded.write_allowed, updated_at = excluded.updated_at";
        let values: Vec<Value> = vec![
            row.tenant_id.clone().into(),
            row.instance_id.clone().into(),
            row.table.clone().into(),
            row.columns.clone().into(),
            row.schema_sha256.clone().into(),
            row.write_allowed.into(),
            row.updated_at.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// A table's schema, if it was set up.
    pub async fn target_table(
        &self,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
    ) -> Result<Option<TargetTableRow>, StoreError> {
        let sql = "SELECT tenant_id, instance_id, table_name, columns, schema_sha256, write_allowed, updated_at \
                   FROM target_tables WHERE tenant_id = ? AND instance_id = ? AND table_name = ?";
        let values: Vec<Value> = vec![tenant_id.into(), instance_id.into(), table.into()];
        self.fetch_one(sql, values).await
    }

    /// Creates or replaces a live row (a user's change in the target).
    pub async fn put_target_record(
        &self,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
        row: &TargetRecordRow,
    ) -> Result<(), StoreError> {
        put_record(self.write_db(), tenant_id, instance_id, table, row).await
    }

    /// Deletes a live row; false when there was none.
    pub async fn delete_target_record(
        &self,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
        sys_id: &str,
    ) -> Result<bool, StoreError> {
        let sql = "DELETE FROM target_records WHERE tenant_id = ? AND instance_id = ? AND table_name = ? AND sys_id = ?";
        let values: Vec<Value> = vec![
            tenant_id.into(),
            instance_id.into(),
            table.into(),
            sys_id.into(),
        ];
        Ok(self.write_sql(sql, values).await? > 0)
    }

    /// A live row, if present.
    pub async fn target_record(
        &self,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
        sys_id: &str,
    ) -> Result<Option<TargetRecordRow>, StoreError> {
        let sql = "SELECT sys_id, payload, payload_sha256, updated_at FROM target_records \
                   WHERE tenant_id = ? AND instance_id = ? AND table_name = ? AND sys_id = ?";
        let values: Vec<Value> = vec![
            tenant_id.into(),
            instance_id.into(),
            table.into(),
            sys_id.into(),
        ];
        self.fetch_one(sql, values).await
    }

    /// A restored attachment's metadata, if present.
    pub async fn target_media(
        &self,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
        media_id: &str,
    ) -> Result<Option<TargetMediaRow>, StoreError> {
        let sql = "SELECT media_id, parent_sys_id, file_name, content_type, size_bytes, sha256_plain, restored_at \
                   FROM target_media WHERE tenant_id = ? AND instance_id = ? AND table_name = ? AND media_id = ?";
        let values: Vec<Value> = vec![
            tenant_id.into(),
            instance_id.into(),
            table.into(),
            media_id.into(),
        ];
        self.fetch_one(sql, values).await
    }

    /// Removes a restored attachment's metadata (its blob stays: blobs are
    /// shared by content).
    pub async fn delete_target_media(
        &self,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
        media_id: &str,
    ) -> Result<(), StoreError> {
        let sql =
            "DELETE FROM target_media WHERE tenant_id = ? AND instance_id = ? AND table_name = ? \
                   AND media_id = ?";
        let values: Vec<Value> = vec![
            tenant_id.into(),
            instance_id.into(),
            table.into(),
            media_id.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// Creates or replaces a restored attachment's metadata.
    pub async fn put_target_media(
        &self,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
        m: &TargetMediaRow,
        storage_key: &str,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO target_media (tenant_id, instance_id, table_name, media_id, parent_sys_id, file_name, \
                   content_type, size_bytes, sha256_plain, storage_key, restored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                   ON CONFLICT (tenant_id, instance_id, table_name, media_id) DO UPDATE SET parent_sys_id = excluded.parent_sys_id, \
                   file_name = excluded.file_name, content_type = excluded.content_type, size_bytes = excluded.size_bytes, \
                   sha256_plain = excluded.sha256_plain, storage_key = excluded.storage_key, restored_at = excluded.restored_at";
        let values: Vec<Value> = vec![
            tenant_id.into(),
            instance_id.into(),
            table.into(),
            m.media_id.clone().into(),
            m.parent_sys_id.clone().into(),
            m.file_name.clone().into(),
            m.content_type.clone().into(),
            m.size_bytes.into(),
            m.sha256_plain.clone().into(),
            storage_key.into(),
            m.restored_at.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }
}

/// Upserts a live row on any connection or transaction (execution applies
/// rows inside its chunk transaction).
pub async fn put_record(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    instance_id: &str,
    table: &str,
    row: &TargetRecordRow,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO target_records (tenant_id, instance_id, table_name, sys_id, payload, payload_sha256, updated_at) \
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, instance_id, table_name, sys_id) DO UPDATE SET \
               payload = excluded.payload, payload_sha256 = excluded.payload_sha256, updated_at = excluded.updated_at";
    let values: Vec<Value> = vec![
        tenant_id.into(),
        instance_id.into(),
        table.into(),
        row.sys_id.clone().into(),
        row.payload.clone().into(),
        row.payload_sha256.clone().into(),
        row.updated_at.into(),
    ];
    execute(conn, sql, values).await?;
    Ok(())
}

impl Store {
    /// The target's current payload hash of each of a plan chunk's rows,
    /// in order (None where the record is absent).
    pub async fn target_hashes(
        &self,
        tenant_id: &str,
        instance_id: &str,
        plan_id: &str,
        chunk_index: i64,
        rows: &[PlanRowKey],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let found = chunk_target_hashes(
            self.db(),
            tenant_id,
            instance_id,
            plan_id,
            chunk_index,
            RowLock::None,
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| found.get(&r.plan_row_id).cloned())
            .collect())
    }
}

/// Whether a read of target rows locks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLock {
    None,
    /// Until the transaction ends (`FOR UPDATE` on PostgreSQL; SQLite's
    /// write transaction already excludes every other writer).
    ForUpdate,
}

/// `plan_rows p` joined (`join`: `JOIN` or `LEFT JOIN`) to its record in
/// the target, `t`, with `columns` of it, locked as `lock` says; binds the
/// tenant and instance.
///
/// On PostgreSQL the record is looked up per plan row, through a `LATERAL`
/// subquery that `LIMIT 1` keeps the planner from flattening: a target
/// table that grew since it was last analyzed has no column statistics,
/// the planner then takes "tenant and instance" for one row and joins the
/// chunk against all of them (measured: 100 ms per 500-row chunk on a
/// 20,000-row target, growing with it). SQLite always probes the unique
/// index.
pub(crate) fn target_row_join(
    backend: DatabaseBackend,
    join: &str,
    columns: &str,
    lock: RowLock,
) -> String {
    let key = "t.tenant_id = ? AND t.instance_id = ? AND t.table_name = p.table_name AND t.sys_id = p.sys_id";
    let lock = match lock {
        RowLock::None => "",
        RowLock::ForUpdate => " FOR UPDATE",
    };
    match backend {
        DatabaseBackend::Postgres => format!(
            "{join} LATERAL (SELECT {columns} FROM target_records t WHERE {key} LIMIT 1{lock}) t ON true"
        ),
        _ => format!("{join} target_records t ON {key}"),
    }
}

/// A plan row the chunk deletes, whose record PostgreSQL's delete locks
/// and re-checks itself.
const DELETE_ROW: &str = "(p.action = 'delete' AND p.before_sha256 IS NOT NULL)";

/// The plan row ids of a chunk whose record's current payload hash in the
/// target is not the plan's `before_sha256` (a record absent where the plan
/// saw one, present where it saw none, or changed), read on the chunk's
/// transaction with every existing record of the chunk locked (`FOR
/// UPDATE` inside the per-row lookup on PostgreSQL, so rows the comparison
/// drops are locked too, except the deletes, which the delete itself locks
/// and re-checks; SQLite's write transaction excludes every other writer). The comparison is the execution domain's conflict rule, made
/// in SQL so that the rows that still match (all of them, normally) never
/// travel: an undo of 100,000 rows otherwise reads back 100,000 hashes.
pub async fn chunk_conflicts<C: ConnectionTrait>(
    conn: &C,
    tenant_id: &str,
    instance_id: &str,
    plan_id: &str,
    chunk_index: i64,
) -> Result<Vec<i64>, StoreError> {
    let backend = conn.get_database_backend();
    let (sql, mut values): (String, Vec<Value>) = match backend {
        // Two lookups, of which each row takes one (the other's condition
        // is on the plan row alone: PostgreSQL skips it without probing):
        // a locked one for the rows the chunk writes, an unlocked one for
        // the deletes, which lock and re-check their rows as they delete
        // them (`chunk_apply::delete_and_journal`).
        DatabaseBackend::Postgres => {
            let key = "t.tenant_id = ? AND t.instance_id = ? AND t.table_name = p.table_name \
                       AND t.sys_id = p.sys_id";
            let sql = format!(
                "SELECT p.plan_row_id AS plan_row_id FROM plan_rows p \
                 LEFT JOIN LATERAL (SELECT t.payload_sha256 FROM target_records t WHERE {key} \
                 AND NOT {DELETE_ROW} LIMIT 1 FOR UPDATE) w ON true \
                 LEFT JOIN LATERAL (SELECT t.payload_sha256 FROM target_records t WHERE {key} \
                 AND {DELETE_ROW} LIMIT 1) d ON true \
                 WHERE p.plan_id = ? AND p.chunk_index = ? \
                 AND COALESCE(w.payload_sha256, d.payload_sha256) IS DISTINCT FROM p.before_sha256 \
                 ORDER BY p.plan_row_id"
            );
            let values = vec![
                tenant_id.into(),
                instance_id.into(),
                tenant_id.into(),
                instance_id.into(),
            ];
            (sql, values)
        }
        _ => {
            let sql = format!(
                "SELECT p.plan_row_id AS plan_row_id FROM plan_rows p {} \
                 WHERE p.plan_id = ? AND p.chunk_index = ? AND t.payload_sha256 IS NOT p.before_sha256 \
                 ORDER BY p.plan_row_id",
                target_row_join(backend, "LEFT JOIN", "t.payload_sha256", RowLock::ForUpdate)
            );
            (sql, vec![tenant_id.into(), instance_id.into()])
        }
    };
    values.extend([plan_id.into(), chunk_index.into()]);
    #[derive(FromQueryResult)]
    struct Conflict {
        plan_row_id: i64,
    }
    let rows = Conflict::find_by_statement(statement(backend, &sql, values))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.plan_row_id).collect())
}

/// The current payload hash of each row of a plan chunk whose record
/// exists in the target, by plan row id, read on `conn` (a chunk's
/// transaction reads them under its own writes, with
/// [`RowLock::ForUpdate`] so that none of them changes between this read
/// and the chunk's write).
pub async fn chunk_target_hashes<C: ConnectionTrait>(
    conn: &C,
    tenant_id: &str,
    instance_id: &str,
    plan_id: &str,
    chunk_index: i64,
    lock: RowLock,
) -> Result<HashMap<i64, String>, StoreError> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "SELECT p.plan_row_id AS plan_row_id, t.payload_sha256 AS payload_sha256 FROM plan_rows p {} \
         WHERE p.plan_id = ? AND p.chunk_index = ?",
        target_row_join(backend, "JOIN", "t.payload_sha256", lock)
    );
    let values: Vec<Value> = vec![
        tenant_id.into(),
        instance_id.into(),
        plan_id.into(),
        chunk_index.into(),
    ];
    #[derive(FromQueryResult)]
    struct Hash {
        plan_row_id: i64,
        payload_sha256: String,
    }
    let hashes = Hash::find_by_statement(statement(backend, &sql, values))
        .all(conn)
        .await?;
    Ok(hashes
        .into_iter()
        .map(|h| (h.plan_row_id, h.payload_sha256))
        .collect())
}
