//! `/v1/targets`: set-up of the embedded target instance (table schemas,
//! live changes to rows) and reads of its rows and restored media.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use std::collections::BTreeMap;

use serde_json::Value;

use super::body::JsonBody;
use super::error::ApiResult;
use super::security::BearerAuth;
use super::types::Timestamp;
use super::ApiTags;
use crate::domain::target::{self, Column, ColumnType};
use crate::domain::RestoreService;
use crate::target::settings::TargetKind;
use crate::target::TargetInfo;

/// Target set-up endpoints.
pub struct TargetsApi;

/// A column's type: `string`, `integer`, `boolean`, `datetime`,
/// `reference` (holds the `sys_id` of a record of `reference_table`) or `json`.
#[derive(Debug, Clone, Copy, Enum, Deserialize)]
#[oai(rename_all = "snake_case", remote = "ColumnType")]
#[serde(rename_all = "snake_case")]
pub enum ColumnTypeName {
    String,
    Integer,
    Boolean,
    Datetime,
    Reference,
    Json,
}

/// One column of a target table.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(remote = "Column")]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Column name (unique within the table).
    #[oai(validator(min_length = 1, max_length = 256))]
    pub name: String,
    /// The column's type.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub column_type: ColumnTypeName,
    /// For `reference` columns: the table the `sys_id` refers to (a
    /// reference column without it is never checked); ignored for other
    /// types.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub reference_table: Option<String>,
}

/// A table's schema and write permission.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutTableRequest {
    /// The columns; a repeated name keeps its last definition.
    #[oai(validator(max_items = 1000))]
    pub columns: Vec<ColumnSpec>,
    /// Whether restores may write this table.
    pub write_allowed: bool,
}

/// A table's stored schema.
#[derive(Debug, Object)]
pub struct TargetTable {
    /// Tenant of the instance.
    pub tenant_id: String,
    /// Instance.
    pub instance_id: String,
    /// Table name.
    pub table: String,
    /// The columns.
    pub columns: Vec<ColumnSpec>,
    /// sha256 of the canonical column list; execution revalidates it.
    pub schema_sha256: String,
    /// Whether restores may write this table.
    pub write_allowed: bool,
    /// When the schema was last set.
    pub updated_at: Timestamp,
}

/// A live change to a row.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutRecordRequest {
    /// The row's fields.
    pub payload: BTreeMap<String, Value>,
}

/// A live row of the target.
#[derive(Debug, Object)]
pub struct TargetRecord {
    /// The row's `sys_id`.
    pub sys_id: String,
    /// The row's fields.
    pub payload: BTreeMap<String, Value>,
    /// sha256 of the canonical (RFC 8785) payload; plans record it as `before_sha256`.
    pub payload_sha256: String,
    /// When the row was last written.
    pub updated_at: Timestamp,
}

/// A restored attachment's metadata.
#[derive(Debug, Object)]
#[oai(remote = "target::RestoredMedia")]
pub struct TargetMedia {
    /// The attachment's id.
    pub media_id: String,
    /// `sys_id` of the record it is attached to.
    pub parent_sys_id: String,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size of the bytes.
    pub size_bytes: i64,
    /// Hex sha256 of the bytes.
    pub sha256_plain: String,
    /// When it was restored.
    pub restored_at: Timestamp,
}

/// Which connector serves an instance: `embedded` (tables in this
/// service's database) or `servicenow` (a ServiceNow instance over its REST
/// Table and Attachment APIs).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "TargetKind")]
pub enum TargetKindName {
    Embedded,
    Servicenow,
}

/// A configured target instance. Credentials are never shown.
#[derive(Debug, Object)]
#[oai(remote = "TargetInfo")]
pub struct ConfiguredTarget {
    /// Tenant of the instance.
    pub tenant_id: String,
    /// The instance.
    pub instance_id: String,
    /// Its connector.
    pub kind: TargetKindName,
    /// The instance's URL; null for the embedded target.
    pub url: Option<String>,
    /// Whether it answered with the service's credentials just now.
    pub reachable: bool,
    /// Why it did not; null when it did.
    pub problem: Option<String>,
}

/// The configured targets; every instance not listed is embedded.
#[derive(Debug, Object)]
pub struct TargetList {
    /// The configured targets of the caller's tenants.
    pub items: Vec<ConfiguredTarget>,
    /// Always null: the list is never paged.
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
enum TargetsResponse {
    /// The configured targets.
    #[oai(status = 200)]
    Ok(Json<TargetList>),
}

#[derive(ApiResponse)]
enum TableResponse {
    /// The table's schema.
    #[oai(status = 200)]
    Ok(Json<TargetTable>),
}

#[derive(ApiResponse)]
enum RecordResponse {
    /// The row.
    #[oai(status = 200)]
    Ok(Json<TargetRecord>),
}

#[derive(ApiResponse)]
enum DeletedResponse {
    /// The row was deleted.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
enum MediaResponse {
    /// The restored attachment's metadata.
    #[oai(status = 200)]
    Ok(Json<TargetMedia>),
}

// Every path parameter of these routes is its own handler argument.
#[allow(clippy::too_many_arguments)]
#[OpenApi(tag = "ApiTags::Targets")]
impl TargetsApi {
    /// List target instances
    ///
    /// The configured target instances of the token's tenants, each with
    /// its connector, URL and whether it answers with the service's
    /// credentials now (asked within 5 s). An instance not listed is the
    /// embedded one. Credentials are never shown. Needs `restore_read`.
    #[oai(path = "/v1/targets", method = "get", operation_id = "list_targets")]
    async fn list_targets(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<TargetsResponse> {
        let principal = bearer.principal(&svc).await?;
        let targets = svc.list_targets(&principal).await?;
        Ok(TargetsResponse::Ok(Json(TargetList {
            items: targets.into_iter().map(Into::into).collect(),
            next_cursor: None,
        })))
    }

    /// Set a target table's schema
    ///
    /// Creates or replaces the schema and write permission of a table of
    /// the embedded target. Execution revalidates the schema's hash and
    /// `write_allowed` before writing. Needs `index_write`.
    #[oai(
        path = "/v1/targets/:tenant_id/:instance_id/tables/:table",
        method = "put",
        operation_id = "put_target_table"
    )]
    async fn put_table(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Tenant of the instance.
        tenant_id: Path<String>,
        /// Instance.
        instance_id: Path<String>,
        /// Table name.
        table: Path<String>,
        body: JsonBody<PutTableRequest>,
    ) -> ApiResult<TableResponse> {
        let principal = bearer.principal(&svc).await?;
        let columns = body.0.columns.into_iter().map(Into::into).collect();
        let row = svc
            .put_target_table(
                &principal,
                (&tenant_id, &instance_id, &table),
                columns,
                body.0.write_allowed,
                Utc::now(),
            )
            .await?;
        Ok(TableResponse::Ok(Json(row.into())))
    }

    /// Get a target table's schema
    ///
    /// The stored schema, its hash and write permission. Needs
    /// `restore_read`; `404 target_table_not_found` when never set up.
    #[oai(
        path = "/v1/targets/:tenant_id/:instance_id/tables/:table",
        method = "get",
        operation_id = "get_target_table"
    )]
    async fn get_table(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Tenant of the instance.
        tenant_id: Path<String>,
        /// Instance.
        instance_id: Path<String>,
        /// Table name.
        table: Path<String>,
    ) -> ApiResult<TableResponse> {
        let principal = bearer.principal(&svc).await?;
        let row = svc
            .get_target_table(&principal, &tenant_id, &instance_id, &table)
            .await?;
        Ok(TableResponse::Ok(Json(row.into())))
    }

    /// Write a target row
    ///
    /// A live change in the target (what users of the instance do while a
    /// restore is planned): creates or replaces the row. The table must be
    /// set up first (`404 target_table_not_found`). Needs `index_write`.
    #[oai(
        path = "/v1/targets/:tenant_id/:instance_id/tables/:table/records/:sys_id",
        method = "put",
        operation_id = "put_target_record"
    )]
    async fn put_record(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Tenant of the instance.
        tenant_id: Path<String>,
        /// Instance.
        instance_id: Path<String>,
        /// Table name.
        table: Path<String>,
        /// The row's `sys_id`.
        sys_id: Path<String>,
        body: JsonBody<PutRecordRequest>,
    ) -> ApiResult<RecordResponse> {
        let principal = bearer.principal(&svc).await?;
        let row = svc
            .put_target_record(
                &principal,
                (&tenant_id, &instance_id, &table, &sys_id),
                Value::Object(body.0.payload.into_iter().collect()),
                Utc::now(),
            )
            .await?;
        Ok(RecordResponse::Ok(Json(row.into())))
    }

    /// Delete a target row
    ///
    /// A live deletion in the target. `404 record_not_found` when absent.
    /// Needs `index_write`.
    #[oai(
        path = "/v1/targets/:tenant_id/:instance_id/tables/:table/records/:sys_id",
        method = "delete",
        operation_id = "delete_target_record"
    )]
    async fn delete_record(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Tenant of the instance.
        tenant_id: Path<String>,
        /// Instance.
        instance_id: Path<String>,
        /// Table name.
        table: Path<String>,
        /// The row's `sys_id`.
        sys_id: Path<String>,
    ) -> ApiResult<DeletedResponse> {
        let principal = bearer.principal(&svc).await?;
        svc.delete_target_record(&principal, (&tenant_id, &instance_id, &table, &sys_id))
            .await?;
        Ok(DeletedResponse::Deleted)
    }

    /// Read a target row
    ///
    /// The row with its `payload_sha256`, or `404 record_not_found`. Needs
    /// `restore_read`.
    #[oai(
        path = "/v1/targets/:tenant_id/:instance_id/tables/:table/records/:sys_id",
        method = "get",
        operation_id = "get_target_record"
    )]
    async fn get_record(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Tenant of the instance.
        tenant_id: Path<String>,
        /// Instance.
        instance_id: Path<String>,
        /// Table name.
        table: Path<String>,
        /// The row's `sys_id`.
        sys_id: Path<String>,
    ) -> ApiResult<RecordResponse> {
        let principal = bearer.principal(&svc).await?;
        let row = svc
            .get_target_record(&principal, (&tenant_id, &instance_id, &table, &sys_id))
            .await?;
        Ok(RecordResponse::Ok(Json(row.into())))
    }

    /// Read a restored attachment
    ///
    /// Metadata of an attachment restored into the target (`sha256_plain`,
    /// `size_bytes`), or `404 media_not_found`. Needs `restore_read`.
    #[oai(
        path = "/v1/targets/:tenant_id/:instance_id/tables/:table/media/:media_id",
        method = "get",
        operation_id = "get_target_media"
    )]
    async fn get_media(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Tenant of the instance.
        tenant_id: Path<String>,
        /// Instance.
        instance_id: Path<String>,
        /// Table of the parent record.
        table: Path<String>,
        /// The attachment's id.
        media_id: Path<String>,
    ) -> ApiResult<MediaResponse> {
        let principal = bearer.principal(&svc).await?;
        let media = svc
            .get_target_media(&principal, (&tenant_id, &instance_id, &table, &media_id))
            .await?;
        Ok(MediaResponse::Ok(Json(media.into())))
    }
}

impl From<target::TargetTable> for TargetTable {
    fn from(t: target::TargetTable) -> Self {
        Self {
            tenant_id: t.tenant_id,
            instance_id: t.instance_id,
            table: t.table,
            columns: t.columns.into_iter().map(Into::into).collect(),
            schema_sha256: t.schema_sha256,
            write_allowed: t.write_allowed,
            updated_at: Timestamp(t.updated_at),
        }
    }
}

impl From<target::TargetRecord> for TargetRecord {
    fn from(r: target::TargetRecord) -> Self {
        let payload = match r.payload {
            Value::Object(map) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        Self {
            sys_id: r.sys_id,
            payload,
            payload_sha256: r.payload_sha256,
            updated_at: Timestamp(r.updated_at),
        }
    }
}
