//! The embedded target instance's set-up API: table schemas (whose hash and
//! `write_allowed` execution revalidates), live changes to rows, and reads
//! of rows and restored media.

use crate::domain::ReasonCode;
use crate::domain::RestoreService;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::{canonical_sha256, value_sha256};
use super::principal::{Capability, Principal};
use super::DomainError;
use crate::store::target::{TargetMediaRow, TargetRecordRow, TargetTableRow};
use crate::store::Store;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    String,
    Integer,
    Boolean,
    Datetime,
    Reference,
    Json,
}

/// One column of a target table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_table: Option<String>,
}

/// The schema hash: sha256 of the canonical column list sorted by name, so
/// reordering columns is not a schema change but any other edit is.
pub fn schema_sha256(columns: &[Column]) -> Result<String, DomainError> {
    let mut sorted = columns.to_vec();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    canonical_sha256(&sorted)
}

/// Normalises a column list: a repeated name keeps its last definition
/// (like a JSON object's keys), and `reference_table` is kept only on
/// `reference` columns. A `reference` column without `reference_table` is
/// stored but never checked for dangling references.
fn normalise_columns(columns: Vec<Column>) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::with_capacity(columns.len());
    for mut column in columns {
        if column.column_type != ColumnType::Reference {
            column.reference_table = None;
        }
        match out.iter_mut().find(|c| c.name == column.name) {
            Some(existing) => *existing = column,
            None => out.push(column),
        }
    }
    out
}

/// A table of the embedded target: its schema, the schema's hash and
/// whether restores may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetTable {
    pub tenant_id: String,
    pub instance_id: String,
    pub table: String,
    pub columns: Vec<Column>,
    pub schema_sha256: String,
    pub write_allowed: bool,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<TargetTableRow> for TargetTable {
    type Error = DomainError;

    fn try_from(row: TargetTableRow) -> Result<Self, DomainError> {
        Ok(Self {
            columns: columns_of(&row)?,
            tenant_id: row.tenant_id,
            instance_id: row.instance_id,
            table: row.table,
            schema_sha256: row.schema_sha256,
            write_allowed: row.write_allowed,
            updated_at: row.updated_at,
        })
    }
}

/// A live record of the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRecord {
    pub sys_id: String,
    pub payload: Value,
    pub payload_sha256: String,
    pub updated_at: DateTime<Utc>,
}

impl From<TargetRecordRow> for TargetRecord {
    fn from(row: TargetRecordRow) -> Self {
        Self {
            sys_id: row.sys_id,
            payload: row.payload,
            payload_sha256: row.payload_sha256,
            updated_at: row.updated_at,
        }
    }
}

/// An attachment a restore wrote into the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredMedia {
    pub media_id: String,
    pub parent_sys_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256_plain: String,
    pub restored_at: DateTime<Utc>,
}

impl From<TargetMediaRow> for RestoredMedia {
    fn from(row: TargetMediaRow) -> Self {
        Self {
            media_id: row.media_id,
            parent_sys_id: row.parent_sys_id,
            file_name: row.file_name,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            sha256_plain: row.sha256_plain,
            restored_at: row.restored_at,
        }
    }
}

impl RestoreService {
    /// Creates or replaces a table's schema; returns the stored table.
    pub async fn put_target_table(
        &self,
        principal: &Principal,
        key: (&str, &str, &str),
        columns: Vec<Column>,
        write_allowed: bool,
        now: DateTime<Utc>,
    ) -> Result<TargetTable, DomainError> {
        let store = &self.store;
        let (tenant_id, instance_id, table) = key;
        principal.require(&[Capability::IndexWrite])?;
        principal.require_tenant(tenant_id)?;
        let columns = normalise_columns(columns);
        let row = TargetTableRow {
            tenant_id: tenant_id.to_owned(),
            instance_id: instance_id.to_owned(),
            table: table.to_owned(),
            schema_sha256: schema_sha256(&columns)?,
            columns: serde_json::to_value(&columns)
                .map_err(|e| DomainError::Internal(e.to_string()))?,
            write_allowed,
            updated_at: now,
        };
        store.put_target_table(&row).await?;
        row.try_into()
    }

    /// A table's schema; `404 target_table_not_found` when it was never set up.
    pub async fn get_target_table(
        &self,
        principal: &Principal,
        tenant_id: &str,
        instance_id: &str,
        table: &str,
    ) -> Result<TargetTable, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreRead])?;
        let missing = || {
            DomainError::not_found(
                ReasonCode::TargetTableNotFound,
                format!("no target table {table}"),
            )
        };
        if !principal.sees_tenant(tenant_id) {
            return Err(missing());
        }
        store
            .target_table(tenant_id, instance_id, table)
            .await?
            .ok_or_else(missing)?
            .try_into()
    }
}

/// The parsed columns of a stored table.
pub fn columns_of(row: &TargetTableRow) -> Result<Vec<Column>, DomainError> {
    serde_json::from_value(row.columns.clone())
        .map_err(|e| DomainError::Internal(format!("stored columns: {e}")))
}

impl RestoreService {
    /// A live change in the target: creates or replaces a row.
    pub async fn put_target_record(
        &self,
        principal: &Principal,
        key: (&str, &str, &str, &str),
        payload: Value,
        now: DateTime<Utc>,
    ) -> Result<TargetRecord, DomainError> {
        let store = &self.store;
        let (tenant_id, instance_id, table, sys_id) = key;
        principal.require(&[Capability::IndexWrite])?;
        principal.require_tenant(tenant_id)?;
        if !payload.is_object() {
            return Err(DomainError::invalid("payload must be a JSON object"));
        }
        require_table(store, tenant_id, instance_id, table).await?;
        let row = TargetRecordRow {
            sys_id: sys_id.to_owned(),
            payload_sha256: value_sha256(&payload)?,
            payload,
            updated_at: now,
        };
        store
            .put_target_record(tenant_id, instance_id, table, &row)
            .await?;
        Ok(row.into())
    }

    /// A live deletion in the target; `404 record_not_found` when absent.
    pub async fn delete_target_record(
        &self,
        principal: &Principal,
        key: (&str, &str, &str, &str),
    ) -> Result<(), DomainError> {
        let store = &self.store;
        let (tenant_id, instance_id, table, sys_id) = key;
        principal.require(&[Capability::IndexWrite])?;
        principal.require_tenant(tenant_id)?;
        if store
            .delete_target_record(tenant_id, instance_id, table, sys_id)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::not_found(
                ReasonCode::RecordNotFound,
                format!("no record {sys_id} in {table}"),
            ))
        }
    }

    /// A live row; `404 record_not_found` when absent or outside the scope.
    pub async fn get_target_record(
        &self,
        principal: &Principal,
        key: (&str, &str, &str, &str),
    ) -> Result<TargetRecord, DomainError> {
        let store = &self.store;
        let (tenant_id, instance_id, table, sys_id) = key;
        principal.require(&[Capability::RestoreRead])?;
        let missing = || {
            DomainError::not_found(
                ReasonCode::RecordNotFound,
                format!("no record {sys_id} in {table}"),
            )
        };
        if !principal.sees_tenant(tenant_id) {
            return Err(missing());
        }
        store
            .target_record(tenant_id, instance_id, table, sys_id)
            .await?
            .map(TargetRecord::from)
            .ok_or_else(missing)
    }

    /// A restored attachment; `404 media_not_found` when absent.
    pub async fn get_target_media(
        &self,
        principal: &Principal,
        key: (&str, &str, &str, &str),
    ) -> Result<RestoredMedia, DomainError> {
        let store = &self.store;
        let (tenant_id, instance_id, table, media_id) = key;
        principal.require(&[Capability::RestoreRead])?;
        let missing = || {
            DomainError::not_found(
                ReasonCode::MediaNotFound,
                format!("no restored media {media_id} in {table}"),
            )
        };
        if !principal.sees_tenant(tenant_id) {
            return Err(missing());
        }
        store
            .target_media(tenant_id, instance_id, table, media_id)
            .await?
            .map(RestoredMedia::from)
            .ok_or_else(missing)
    }
}

async fn require_table(
    store: &Store,
    tenant_id: &str,
    instance_id: &str,
    table: &str,
) -> Result<(), DomainError> {
    match store.target_table(tenant_id, instance_id, table).await? {
        Some(_) => Ok(()),
        None => Err(DomainError::not_found(
            ReasonCode::TargetTableNotFound,
            format!("target table {table} is not set up; PUT its schema first"),
        )),
    }
}

impl RestoreService {
    /// `GET /v1/targets`: the configured target instances of the caller's
    /// tenants with their kind, URL and whether they answer now; never a
    /// credential.
    pub async fn list_targets(
        &self,
        principal: &Principal,
    ) -> Result<Vec<crate::target::TargetInfo>, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let wait = std::time::Duration::from_secs(5);
        let mut targets = self.targets.list(wait).await;
        targets.retain(|t| principal.sees_tenant(&t.tenant_id));
        Ok(targets)
    }
}
