//! The embedded target: tables kept in the service's own database, set up
//! through `/v1/targets/...`. The only target that can promise a batch
//! atomic with the rollback journal (both are in one database), so the
//! domain applies its chunks set-wise in one transaction; the row-by-row
//! methods here serve everything else (dry-run scans, reads, attachments).

use async_trait::async_trait;
use chrono::Utc;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::{
    AttachmentKey, AttachmentRef, ChangeKind, NewAttachment, Promises, RecordKey, RecordState,
    RowChange, RowResult, TableSchema, Target, TargetColumn, TargetError,
};
use crate::domain::canonical::value_sha256;
use crate::store::plan_scan::ScanScope;
use crate::store::target::{TargetMediaRow, TargetRecordRow};
use crate::store::{Store, StoreError};

/// One instance of the embedded target.
#[derive(Clone)]
pub struct EmbeddedTarget {
    store: Store,
    tenant_id: String,
    instance_id: String,
}

impl EmbeddedTarget {
    pub fn new(store: Store, tenant_id: &str, instance_id: &str) -> Self {
        Self {
            store,
            tenant_id: tenant_id.to_owned(),
            instance_id: instance_id.to_owned(),
        }
    }
}

impl From<StoreError> for TargetError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => TargetError::Unavailable(cause),
            other => TargetError::Protocol(other.to_string()),
        }
    }
}

/// The stored column list (`[{name, type, reference_table?}]`).
fn columns_of(stored: &Value) -> Vec<TargetColumn> {
    stored
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| TargetColumn {
            name: c["name"].as_str().unwrap_or_default().to_owned(),
            column_type: c["type"].as_str().unwrap_or_default().to_owned(),
            reference_table: c["reference_table"].as_str().map(str::to_owned),
        })
        .collect()
}

#[async_trait]
impl Target for EmbeddedTarget {
    fn promises(&self) -> Promises {
        Promises {
            atomic_with_journal: true,
            max_batch: usize::MAX,
            concurrency: 1,
        }
    }

    fn stores_payload_verbatim(&self) -> bool {
        true
    }

    /// The whole payload is the record: the target stores it verbatim.
    fn content_hash(&self, _schema: &TableSchema, payload: &Value) -> String {
        value_sha256(payload).unwrap_or_default()
    }

    async fn describe_table(&self, table: &str) -> Result<Option<TableSchema>, TargetError> {
        let row = self
            .store
            .target_table(&self.tenant_id, &self.instance_id, table)
            .await?;
        Ok(row.map(|row| TableSchema {
            columns: columns_of(&row.columns),
            write_allowed: row.write_allowed,
            schema_sha256: row.schema_sha256,
        }))
    }

    fn scan<'a>(
        &'a self,
        table: &'a str,
        _schema: &'a TableSchema,
        sys_ids: Option<&'a [String]>,
    ) -> BoxStream<'a, Result<RecordKey, TargetError>> {
        let scope = ScanScope {
            tenant_id: &self.tenant_id,
            instance_id: &self.instance_id,
            table,
            sys_ids,
        };
        futures::stream::once(async move { self.store.scan_target_keys(scope).await })
            .map_ok(|rows| rows.map_err(TargetError::from))
            .map_err(TargetError::from)
            .try_flatten()
            .map_ok(|row| RecordKey {
                sys_id: row.sys_id,
                content_sha256: row.payload_sha256,
            })
            .boxed()
    }

    async fn read(
        &self,
        table: &str,
        _schema: &TableSchema,
        sys_ids: &[String],
    ) -> Result<Vec<RecordState>, TargetError> {
        let mut out = Vec::with_capacity(sys_ids.len());
        for sys_id in sys_ids {
            let row = self
                .store
                .target_record(&self.tenant_id, &self.instance_id, table, sys_id)
                .await?;
            out.extend(row.map(|r| RecordState {
                sys_id: r.sys_id,
                payload: r.payload,
                content_sha256: r.payload_sha256,
            }));
        }
        Ok(out)
    }

    async fn apply(
        &self,
        table: &str,
        _schema: &TableSchema,
        batch: &[RowChange],
    ) -> Result<Vec<RowResult>, TargetError> {
        let (tenant, instance) = (&self.tenant_id, &self.instance_id);
        let mut out = Vec::with_capacity(batch.len());
        for change in batch {
            let content_sha256 = match (change.kind, &change.payload) {
                (ChangeKind::Delete, _) => {
                    let store = &self.store;
                    store
                        .delete_target_record(tenant, instance, table, &change.sys_id)
                        .await?;
                    None
                }
                (_, payload) => {
                    let payload = payload.clone().unwrap_or(Value::Null);
                    let row = TargetRecordRow {
                        sys_id: change.sys_id.clone(),
                        payload_sha256: value_sha256(&payload).unwrap_or_default(),
                        payload,
                        updated_at: Utc::now(),
                    };
                    self.store
                        .put_target_record(tenant, instance, table, &row)
                        .await?;
                    Some(row.payload_sha256)
                }
            };
            out.push(RowResult::Applied { content_sha256 });
        }
        Ok(out)
    }

    async fn write_attachment(
        &self,
        attachment: NewAttachment<'_>,
    ) -> Result<AttachmentRef, TargetError> {
        let key = &attachment.key;
        let row = TargetMediaRow {
            media_id: key.media_id.to_owned(),
            parent_sys_id: key.parent_sys_id.to_owned(),
            file_name: key.file_name.to_owned(),
            content_type: attachment.content_type.to_owned(),
            size_bytes: attachment.bytes.len() as i64,
            sha256_plain: attachment.sha256_plain.to_owned(),
            restored_at: Utc::now(),
        };
        let blob = crate::media_store::blob_key(attachment.sha256_plain);
        self.store
            .put_target_media(
                &self.tenant_id,
                &self.instance_id,
                key.parent_table,
                &row,
                &blob,
            )
            .await?;
        Ok(AttachmentRef {
            id: row.media_id,
            size_bytes: row.size_bytes,
            sha256_plain: row.sha256_plain,
        })
    }

    async fn delete_attachment(
        &self,
        key: &AttachmentKey<'_>,
        _held: &AttachmentRef,
    ) -> Result<(), TargetError> {
        let (tenant, instance) = (&self.tenant_id, &self.instance_id);
        self.store
            .delete_target_media(tenant, instance, key.parent_table, key.media_id)
            .await?;
        Ok(())
    }

    async fn find_attachment(
        &self,
        key: &AttachmentKey<'_>,
    ) -> Result<Option<AttachmentRef>, TargetError> {
        let (tenant, instance) = (&self.tenant_id, &self.instance_id);
        let row = self
            .store
            .target_media(tenant, instance, key.parent_table, key.media_id)
            .await?;
        Ok(row.map(|m| AttachmentRef {
            id: m.media_id,
            size_bytes: m.size_bytes,
            sha256_plain: m.sha256_plain,
        }))
    }

    async fn reachable(&self) -> Result<(), TargetError> {
        self.store.ready().await?;
        Ok(())
    }
}
