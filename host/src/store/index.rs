//! The backup index: record versions, watermarks and captured media.
//!
//! Ingestion is idempotent and transactional: a batch is written whole or
//! not at all, and a repeated `(tenant, instance, topic, partition,
//! offset)` is counted as a duplicate instead of stored twice.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::sql::{execute, list_placeholders, rows_placeholders, statement};
use super::{Store, StoreError};

/// One captured version of a record.
#[derive(Debug, Clone)]
pub struct IndexRecordRow {
    pub tenant_id: String,
    pub instance_id: String,
    pub table: String,
    pub sys_id: String,
    /// `upsert` or `delete`.
    pub op: String,
    pub event_time_us: i64,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub payload: Option<serde_json::Value>,
    pub payload_sha256: Option<String>,
}

/// A stored watermark.
#[derive(Debug, Clone, FromQueryResult)]
pub struct WatermarkRow {
    pub tenant_id: String,
    pub instance_id: String,
    pub topic: String,
    pub partition: i32,
    pub watermark_time_us: i64,
    pub published_at: DateTime<Utc>,
}

/// How a watermark upsert went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatermarkWrite {
    /// Stored (new, or later than the stored one).
    Advanced,
    /// Equal to the stored one: accepted, nothing changed.
    Unchanged,
    /// Earlier than the stored one: ignored.
    Regression,
}

/// One captured attachment's metadata (its bytes are in the media store).
#[derive(Debug, Clone)]
pub struct IndexMediaRow {
    pub tenant_id: String,
    pub instance_id: String,
    pub media_id: String,
    pub parent_table: String,
    pub parent_sys_id: String,
    pub file_name: String,
    pub content_type: String,
    pub event_time_us: i64,
    pub size_bytes: i64,
    pub sha256_plain: String,
    pub storage_key: String,
}

const RECORD_BATCH: usize = 400;

impl Store {
    /// Stores record versions in one transaction; returns how many were
    /// new (the rest were duplicates of stored offsets).
    pub async fn insert_index_records(
        &self,
        rows: &[IndexRecordRow],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.begin_write().await?;
        let mut inserted = 0;
        for batch in rows.chunks(RECORD_BATCH) {
            let sql = format!(
                "INSERT INTO index_records (tenant_id, instance_id, table_name, sys_id, op, event_time_us, topic, \
                 \"partition\", \"offset\", payload, payload_sha256, ingested_at) VALUES {} \
                 ON CONFLICT (tenant_id, instance_id, topic, \"partition\", \"offset\") DO NOTHING",
                rows_placeholders(batch.len(), 12)
            );
            let mut values: Vec<Value> = Vec::with_capacity(batch.len() * 12);
            for row in batch {
                values.extend([
                    row.tenant_id.clone().into(),
                    row.instance_id.clone().into(),
                    row.table.clone().into(),
                    row.sys_id.clone().into(),
                    row.op.clone().into(),
                    row.event_time_us.into(),
                    row.topic.clone().into(),
                    row.partition.into(),
                    row.offset.into(),
                    row.payload.clone().into(),
                    row.payload_sha256.clone().into(),
                    now.into(),
                ]);
            }
            inserted += execute(&txn, &sql, values).await?;
            insert_partitions(&txn, batch).await?;
        }
        txn.commit().await?;
        Ok(inserted)
    }

    /// Stores a watermark unless it would move backwards.
    pub async fn upsert_watermark(&self, row: &WatermarkRow) -> Result<WatermarkWrite, StoreError> {
        let sql = "INSERT INTO index_watermarks (tenant_id, instance_id, topic, \"partition\", watermark_time_us, published_at) \
                   VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, instance_id, topic, \"partition\") DO UPDATE \
                   SET watermark_time_us = excluded.watermark_time_us, published_at = excluded.published_at \
                   WHERE index_watermarks.watermark_time_us < excluded.watermark_time_us";
        let values: Vec<Value> = vec![
            row.tenant_id.clone().into(),
            row.instance_id.clone().into(),
            row.topic.clone().into(),
            row.partition.into(),
            row.watermark_time_us.into(),
            row.published_at.into(),
        ];
        if execute(self.db(), sql, values).await? > 0 {
            return Ok(WatermarkWrite::Advanced);
        }
        let stored = self
            .watermark(&row.tenant_id, &row.instance_id, &row.topic, row.partition)
            .await?;
        Ok(match stored {
            Some(stored) if stored.watermark_time_us > row.watermark_time_us => {
                WatermarkWrite::Regression
            }
            _ => WatermarkWrite::Unchanged,
        })
    }

    async fn watermark(
        &self,
        tenant_id: &str,
        instance_id: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<WatermarkRow>, StoreError> {
        let sql = "SELECT tenant_id, instance_id, topic, \"partition\", watermark_time_us, published_at FROM index_watermarks \
                   WHERE tenant_id = ? AND instance_id = ? AND topic = ? AND \"partition\" = ?";
        let values: Vec<Value> = vec![
            tenant_id.into(),
            instance_id.into(),
            topic.into(),
            partition.into(),
        ];
        Ok(
            WatermarkRow::find_by_statement(statement(self.backend(), sql, values))
                .one(self.write_db())
                .await?,
        )
    }

    /// Every watermark of an instance, ordered by topic and partition.
    pub async fn list_watermarks(
        &self,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Vec<WatermarkRow>, StoreError> {
        let sql = "SELECT tenant_id, instance_id, topic, \"partition\", watermark_time_us, published_at FROM index_watermarks \
                   WHERE tenant_id = ? AND instance_id = ? ORDER BY topic, \"partition\"";
        let values = vec![tenant_id.into(), instance_id.into()];
        self.fetch_all(sql, values).await
    }

    /// The `(topic, partition)` pairs carrying records of these tables.
    pub async fn partitions_of_tables(
        &self,
        tenant_id: &str,
        instance_id: &str,
        tables: &[String],
    ) -> Result<Vec<(String, i32)>, StoreError> {
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT topic, \"partition\" FROM index_table_partitions WHERE tenant_id = ? AND instance_id = ? \
             AND table_name IN ({}) ORDER BY topic, \"partition\"",
            list_placeholders(tables.len())
        );
        let mut values: Vec<Value> = vec![tenant_id.into(), instance_id.into()];
        values.extend(tables.iter().map(|t| Value::from(t.clone())));
        #[derive(FromQueryResult)]
        struct Partition {
            topic: String,
            partition: i32,
        }
        let rows = self.fetch_all::<Partition>(&sql, values).await?;
        Ok(rows.into_iter().map(|p| (p.topic, p.partition)).collect())
    }

    /// Stores captured media metadata in one transaction (a repeated
    /// `(media_id, event_time)` is kept once).
    pub async fn insert_index_media(
        &self,
        rows: &[IndexMediaRow],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        for row in rows {
            let sql = "INSERT INTO index_media (tenant_id, instance_id, media_id, parent_table, parent_sys_id, file_name, \
                       content_type, event_time_us, size_bytes, sha256_plain, storage_key, ingested_at) \
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                       ON CONFLICT (tenant_id, instance_id, media_id, event_time_us) DO NOTHING";
            let values: Vec<Value> = vec![
                row.tenant_id.clone().into(),
                row.instance_id.clone().into(),
                row.media_id.clone().into(),
                row.parent_table.clone().into(),
                row.parent_sys_id.clone().into(),
                row.file_name.clone().into(),
                row.content_type.clone().into(),
                row.event_time_us.into(),
                row.size_bytes.into(),
                row.sha256_plain.clone().into(),
                row.storage_key.clone().into(),
                now.into(),
            ];
            execute(&txn, sql, values).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

async fn insert_partitions(
    txn: &impl ConnectionTrait,
    batch: &[IndexRecordRow],
) -> Result<(), StoreError> {
    let mut seen: Vec<(&str, &str, &str, &str, i32)> = batch
        .iter()
        .map(|r| {
            (
                r.tenant_id.as_str(),
                r.instance_id.as_str(),
                r.table.as_str(),
                r.topic.as_str(),
                r.partition,
            )
        })
        .collect();
    seen.sort();
    seen.dedup();
    let sql = format!(
        "INSERT INTO index_table_partitions (tenant_id, instance_id, table_name, topic, \"partition\") VALUES {} \
         ON CONFLICT DO NOTHING",
        rows_placeholders(seen.len(), 5)
    );
    let values: Vec<Value> = seen
        .into_iter()
        .flat_map(|(t, i, tb, tp, p)| [t.into(), i.into(), tb.into(), tp.into(), Value::from(p)])
        .collect();
    execute(txn, &sql, values).await?;
    Ok(())
}
