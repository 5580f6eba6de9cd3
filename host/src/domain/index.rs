//! Ingestion from the CDC sidecar into the backup index: record versions,
//! watermarks and media. Every record names its tenant, so each is checked
//! against the token's tenants before anything is written.

use crate::domain::RestoreService;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::canonical::value_sha256;
use super::principal::{Capability, Principal};
use super::DomainError;
use crate::store::index::{IndexMediaRow, IndexRecordRow, WatermarkRow, WatermarkWrite};

/// `upsert` writes a version; `delete` records the record's removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOp {
    Upsert,
    Delete,
}

/// One captured version as the sidecar sends it.
#[derive(Debug, Clone)]
pub struct RecordVersion {
    pub tenant_id: String,
    pub instance_id: String,
    pub table: String,
    pub sys_id: String,
    pub op: RecordOp,
    pub event_time: DateTime<Utc>,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub payload: Option<Value>,
}

/// A partition's completeness claim.
#[derive(Debug, Clone)]
pub struct Watermark {
    pub tenant_id: String,
    pub instance_id: String,
    pub topic: String,
    pub partition: i32,
    pub watermark_time: DateTime<Utc>,
}

/// One captured attachment with its bytes.
#[derive(Debug, Clone)]
pub struct MediaUpload {
    pub tenant_id: String,
    pub instance_id: String,
    pub media_id: String,
    pub parent_table: String,
    pub parent_sys_id: String,
    pub file_name: String,
    pub content_type: String,
    pub event_time: DateTime<Utc>,
    pub content: Vec<u8>,
}

fn check_scope<'a>(
    principal: &Principal,
    tenants: impl Iterator<Item = &'a str>,
) -> Result<(), DomainError> {
    principal.require(&[Capability::IndexWrite])?;
    for tenant in tenants {
        principal.require_tenant(tenant)?;
    }
    Ok(())
}

impl RestoreService {
    /// Stores versions idempotently; returns `(accepted, duplicates)`.
    pub async fn ingest_records(
        &self,
        principal: &Principal,
        records: Vec<RecordVersion>,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), DomainError> {
        let store = &self.store;
        check_scope(principal, records.iter().map(|r| r.tenant_id.as_str()))?;
        let mut rows = Vec::with_capacity(records.len());
        for (i, record) in records.into_iter().enumerate() {
            let (payload, payload_sha256) = match (record.op, record.payload) {
                (RecordOp::Delete, _) => (None, None),
                (RecordOp::Upsert, Some(payload @ Value::Object(_))) => {
                    let sha = value_sha256(&payload)?;
                    (Some(payload), Some(sha))
                }
                (RecordOp::Upsert, _) => {
                    return Err(DomainError::invalid(format!(
                        "records[{i}].payload must be a JSON object for op upsert"
                    )))
                }
            };
            rows.push(IndexRecordRow {
                tenant_id: record.tenant_id,
                instance_id: record.instance_id,
                table: record.table,
                sys_id: record.sys_id,
                op: if record.op == RecordOp::Upsert {
                    "upsert"
                } else {
                    "delete"
                }
                .to_owned(),
                event_time_us: record.event_time.timestamp_micros(),
                topic: record.topic,
                partition: record.partition,
                offset: record.offset,
                payload,
                payload_sha256,
            });
        }
        let total = rows.len() as u64;
        let accepted = store.insert_index_records(&rows, now).await?;
        Ok((accepted, total - accepted))
    }

    /// Stores watermarks that move forward; returns `(accepted, ignored_regressions)`.
    pub async fn publish_watermarks(
        &self,
        principal: &Principal,
        watermarks: Vec<Watermark>,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), DomainError> {
        let store = &self.store;
        check_scope(principal, watermarks.iter().map(|w| w.tenant_id.as_str()))?;
        let (mut accepted, mut regressions) = (0, 0);
        for w in watermarks {
            let row = WatermarkRow {
                tenant_id: w.tenant_id,
                instance_id: w.instance_id,
                topic: w.topic,
                partition: w.partition,
                watermark_time_us: w.watermark_time.timestamp_micros(),
                published_at: now,
            };
            match store.upsert_watermark(&row).await? {
                WatermarkWrite::Advanced | WatermarkWrite::Unchanged => accepted += 1,
                WatermarkWrite::Regression => regressions += 1,
            }
        }
        Ok((accepted, regressions))
    }

    /// The stored watermarks of an instance (reading needs `restore_read`).
    pub async fn list_watermarks(
        &self,
        principal: &Principal,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Vec<WatermarkRow>, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreRead])?;
        if !principal.sees_tenant(tenant_id) {
            return Ok(Vec::new());
        }
        Ok(store.list_watermarks(tenant_id, instance_id).await?)
    }

    /// Stores attachments' bytes in the media store and their metadata (size,
    /// sha256) in the index; returns how many were accepted.
    pub async fn ingest_media(
        &self,
        principal: &Principal,
        uploads: Vec<MediaUpload>,
        now: DateTime<Utc>,
    ) -> Result<u64, DomainError> {
        let store = &self.store;
        let media = &self.media;
        check_scope(principal, uploads.iter().map(|m| m.tenant_id.as_str()))?;
        let mut rows = Vec::with_capacity(uploads.len());
        for upload in uploads {
            let size_bytes = upload.content.len() as i64;
            let (storage_key, sha256_plain) = media
                .put(upload.content.into())
                .await
                .map_err(|e| DomainError::MediaStoreUnavailable(e.to_string()))?;
            rows.push(IndexMediaRow {
                tenant_id: upload.tenant_id,
                instance_id: upload.instance_id,
                media_id: upload.media_id,
                parent_table: upload.parent_table,
                parent_sys_id: upload.parent_sys_id,
                file_name: upload.file_name,
                content_type: upload.content_type,
                event_time_us: upload.event_time.timestamp_micros(),
                size_bytes,
                sha256_plain,
                storage_key,
            });
        }
        let count = rows.len() as u64;
        store.insert_index_media(&rows, now).await?;
        Ok(count)
    }
}

/// Converts stored microseconds back to a timestamp.
pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}
