//! Writing a plan: rows, references, the decision and the header go into
//! one transaction, so a plan exists whole or not at all, and the
//! reference and media queries see the rows just written.

use sea_orm::{DatabaseBackend, DatabaseTransaction, FromQueryResult, Value};

use super::decisions::{insert_decision, DecisionRow};
use super::plan_refs::{dangling_references, RefConflictRow};
use super::plans::PlanHeader;
use super::sql::{execute, rows_placeholders, statement};
use super::{Store, StoreError};

/// One plan row to store.
#[derive(Debug, Clone)]
pub struct PlanRowInsert {
    pub plan_row_id: i64,
    pub chunk_index: Option<i64>,
    pub table: String,
    pub sys_id: String,
    pub action: &'static str,
    pub before_sha256: Option<String>,
    pub after_sha256: Option<String>,
    pub after_payload: Option<serde_json::Value>,
}

/// One reference a restored row makes.
#[derive(Debug, Clone)]
pub struct PlanRefInsert {
    pub plan_row_id: i64,
    pub table: String,
    pub sys_id: String,
    pub field: String,
    pub ref_table: String,
    pub ref_sys_id: String,
}

/// An attachment of a restored record, at the PIT.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MediaCandidateRow {
    pub media_id: String,
    pub parent_table: String,
    pub parent_sys_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256_plain: String,
    pub storage_key: String,
}

/// A plan being written; dropped without `finish`, it leaves nothing.
pub struct PlanWriter {
    txn: DatabaseTransaction,
    /// Whether the transaction took the write lock (SQLite); taken before
    /// its first statement, by then the dry-run's scans have connections.
    locked: tokio::sync::OnceCell<()>,
    backend: DatabaseBackend,
    plan_id: String,
}

const ROW_BATCH: usize = 500;

impl Store {
    /// Starts writing the plan `plan_id`.
    pub async fn plan_writer(&self, plan_id: &str) -> Result<PlanWriter, StoreError> {
        Ok(PlanWriter {
            txn: self.begin_deferred().await?,
            locked: tokio::sync::OnceCell::new(),
            backend: self.backend(),
            plan_id: plan_id.to_owned(),
        })
    }
}

impl PlanWriter {
    /// The transaction, its write lock taken.
    async fn txn(&self) -> Result<&DatabaseTransaction, StoreError> {
        self.locked
            .get_or_try_init(|| super::connection::take_write_lock(&self.txn))
            .await?;
        Ok(&self.txn)
    }

    /// Stores plan rows.
    pub async fn insert_rows(&self, rows: &[PlanRowInsert]) -> Result<(), StoreError> {
        for batch in rows.chunks(ROW_BATCH) {
            let sql = format!(
                "INSERT INTO plan_rows (plan_id, plan_row_id, chunk_index, table_name, sys_id, action, before_sha256, \
                 after_sha256, after_payload) VALUES {}",
                rows_placeholders(batch.len(), 9)
            );
            let mut values: Vec<Value> = Vec::with_capacity(batch.len() * 9);
            for row in batch {
                values.extend([
                    self.plan_id.clone().into(),
                    row.plan_row_id.into(),
                    row.chunk_index.into(),
                    row.table.clone().into(),
                    row.sys_id.clone().into(),
                    row.action.into(),
                    row.before_sha256.clone().into(),
                    row.after_sha256.clone().into(),
                    row.after_payload.clone().into(),
                ]);
            }
            execute(self.txn().await?, &sql, values).await?;
        }
        Ok(())
    }

    /// Stores references made by restored rows.
    pub async fn insert_refs(&self, refs: &[PlanRefInsert]) -> Result<(), StoreError> {
        for batch in refs.chunks(ROW_BATCH) {
            let sql = format!(
                "INSERT INTO plan_refs (plan_id, plan_row_id, table_name, sys_id, field, ref_table, ref_sys_id) VALUES {}",
                rows_placeholders(batch.len(), 7)
            );
            let mut values: Vec<Value> = Vec::with_capacity(batch.len() * 7);
            for r in batch {
                values.extend([
                    self.plan_id.clone().into(),
                    r.plan_row_id.into(),
                    r.table.clone().into(),
                    r.sys_id.clone().into(),
                    r.field.clone().into(),
                    r.ref_table.clone().into(),
                    r.ref_sys_id.clone().into(),
                ]);
            }
            execute(self.txn().await?, &sql, values).await?;
        }
        Ok(())
    }

    /// References of this plan that would dangle against the target now.
    pub async fn dangling_references(
        &self,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Vec<RefConflictRow>, StoreError> {
        dangling_references(self.txn().await?, &self.plan_id, tenant_id, instance_id).await
    }

    /// The attachments (at the PIT) of records the plan restores.
    pub async fn media_candidates(
        &self,
        tenant_id: &str,
        instance_id: &str,
        pit_us: i64,
    ) -> Result<Vec<MediaCandidateRow>, StoreError> {
        let sql = "SELECT m.media_id, m.parent_table, m.parent_sys_id, m.file_name, m.content_type, m.size_bytes, \
                   m.sha256_plain, m.storage_key FROM index_media m JOIN plan_rows p ON p.plan_id = ? \
                   AND p.table_name = m.parent_table AND p.sys_id = m.parent_sys_id \
                   AND p.action IN ('create', 'update', 'unchanged') \
                   WHERE m.tenant_id = ? AND m.instance_id = ? AND m.event_time_us <= ? \
                   ORDER BY m.media_id, m.event_time_us DESC";
        let values: Vec<Value> = vec![
            self.plan_id.clone().into(),
            tenant_id.into(),
            instance_id.into(),
            pit_us.into(),
        ];
        let mut candidates =
            MediaCandidateRow::find_by_statement(statement(self.backend, sql, values))
                .all(self.txn().await?)
                .await?;
        // The latest version of each attachment comes first.
        candidates.dedup_by(|later, kept| later.media_id == kept.media_id);
        Ok(candidates)
    }

    /// References of the plan being written that it does not settle.
    pub async fn open_references(&self) -> Result<Vec<super::plan_refs::OpenRefRow>, StoreError> {
        super::plan_refs::open_references(self.txn().await?, &self.plan_id).await
    }

    /// Records a policy decision about this plan.
    pub async fn insert_decision(&self, decision: &DecisionRow) -> Result<(), StoreError> {
        insert_decision(self.txn().await?, decision).await
    }

    /// Writes the header with the plan's `document` and commits the whole
    /// plan.
    pub async fn finish(
        self,
        header: &PlanHeader,
        document: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO plans (plan_id, tenant_id, instance_id, plan_hash, plan_checksum, pit, executability, \
                   gate_reason_code, tables, rows_total, total_chunks, document, created_at, target_tenant_id, \
                   target_instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let values: Vec<Value> = vec![
            header.plan_id.clone().into(),
            header.tenant_id.clone().into(),
            header.instance_id.clone().into(),
            header.plan_hash.clone().into(),
            header.plan_checksum.clone().into(),
            header.pit.into(),
            header.executability.clone().into(),
            header.gate_reason_code.clone().into(),
            serde_json::to_value(&header.tables)?.into(),
            header.rows_total.into(),
            header.total_chunks.into(),
            document.clone().into(),
            header.created_at.into(),
            header.target_tenant_id.clone().into(),
            header.target_instance_id.clone().into(),
        ];
        execute(self.txn().await?, sql, values).await?;
        self.txn.commit().await?;
        Ok(())
    }
}
