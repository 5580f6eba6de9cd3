//! `/v1/index`: the CDC sidecar's feed into the backup index — record
//! versions, watermarks and captured media.

use base64::Engine;
use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Union};
use serde::Deserialize;
use std::collections::BTreeMap;

use serde_json::Value;

use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::security::BearerAuth;
use super::types::Timestamp;
use super::ApiTags;
use crate::domain::index::{from_micros, MediaUpload, RecordOp, RecordVersion, Watermark};
use crate::domain::RestoreService;

/// Index ingestion endpoints.
pub struct IndexApi;

/// A version of a record that was written (created or changed).
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsertRecord {
    /// Tenant the record belongs to.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub tenant_id: String,
    /// Instance of the tenant.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub instance_id: String,
    /// Table name, e.g. `incident`.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub table: String,
    /// The record's `sys_id`.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub sys_id: String,
    /// When the change happened in the source instance.
    pub event_time: Timestamp,
    /// The CDC topic the change came from.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub topic: String,
    /// Partition of the topic.
    #[oai(validator(minimum(value = "0"), maximum(value = "2147483647")))]
    pub partition: i32,
    /// Offset within the partition; with tenant, instance, topic and
    /// partition it identifies the version (repeats are duplicates).
    #[oai(validator(minimum(value = "0")))]
    pub offset: i64,
    /// The record's fields after the change.
    pub payload: BTreeMap<String, Value>,
}

/// A deletion of a record.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRecord {
    /// Tenant the record belongs to.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub tenant_id: String,
    /// Instance of the tenant.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub instance_id: String,
    /// Table name.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub table: String,
    /// The record's `sys_id`.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub sys_id: String,
    /// When the deletion happened in the source instance.
    pub event_time: Timestamp,
    /// The CDC topic the change came from.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub topic: String,
    /// Partition of the topic.
    #[oai(validator(minimum(value = "0"), maximum(value = "2147483647")))]
    pub partition: i32,
    /// Offset within the partition.
    #[oai(validator(minimum(value = "0")))]
    pub offset: i64,
    /// Ignored for deletes.
    pub payload: Option<Value>,
}

/// One captured version; `op` says which: `upsert` (with `payload`) or
/// `delete` (payload ignored).
#[derive(Debug, Union, Deserialize)]
#[oai(discriminator_name = "op", one_of)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IndexRecord {
    #[oai(mapping = "upsert")]
    Upsert(UpsertRecord),
    #[oai(mapping = "delete")]
    Delete(DeleteRecord),
}

/// A batch of captured versions.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestRecordsRequest {
    /// The versions; the whole batch is stored or none of it.
    #[oai(validator(max_items = 10000))]
    pub records: Vec<IndexRecord>,
}

/// What an ingestion stored.
#[derive(Debug, Object)]
pub struct IngestRecordsResult {
    /// Versions stored now.
    pub accepted: u64,
    /// Versions already stored under the same offset (ignored).
    pub duplicates: u64,
}

/// A partition's completeness claim.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatermarkIn {
    /// Tenant of the partition's records.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub tenant_id: String,
    /// Instance of the tenant.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub instance_id: String,
    /// The CDC topic.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub topic: String,
    /// Partition of the topic.
    #[oai(validator(minimum(value = "0"), maximum(value = "2147483647")))]
    pub partition: i32,
    /// Every change up to this time has been captured.
    pub watermark_time: Timestamp,
}

/// A batch of watermarks.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishWatermarksRequest {
    /// The watermarks; one lower than the stored one is ignored.
    #[oai(validator(max_items = 10000))]
    pub watermarks: Vec<WatermarkIn>,
}

/// What a watermark publication stored.
#[derive(Debug, Object)]
pub struct PublishWatermarksResult {
    /// Watermarks stored or equal to the stored one.
    pub accepted: u64,
    /// Watermarks behind the stored one (never stored: watermarks only move forward).
    pub ignored_regressions: u64,
}

/// A stored watermark.
#[derive(Debug, Object)]
pub struct WatermarkOut {
    /// Tenant of the partition.
    pub tenant_id: String,
    /// Instance of the tenant.
    pub instance_id: String,
    /// The CDC topic.
    pub topic: String,
    /// Partition of the topic.
    pub partition: i32,
    /// The partition is complete up to this time.
    pub watermark_time: Timestamp,
    /// When the service stored this watermark.
    pub published_at: Timestamp,
}

/// The watermarks of an instance.
#[derive(Debug, Object)]
pub struct WatermarkList {
    /// Every watermark, by topic and partition.
    pub items: Vec<WatermarkOut>,
    /// Always null: the list is complete.
    pub next_cursor: Option<String>,
}

/// A captured attachment with its bytes.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaIn {
    /// Tenant of the parent record.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub tenant_id: String,
    /// Instance of the tenant.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub instance_id: String,
    /// The attachment's id.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub media_id: String,
    /// Table of the record it is attached to.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub parent_table: String,
    /// `sys_id` of the record it is attached to.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub parent_sys_id: String,
    /// File name.
    #[oai(validator(min_length = 1, max_length = 1024))]
    pub file_name: String,
    /// MIME type.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub content_type: String,
    /// When it was captured.
    pub event_time: Timestamp,
    /// The bytes, standard base64.
    #[oai(validator(
        pattern = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
    ))]
    pub content_base64: String,
}

/// A batch of attachments.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestMediaRequest {
    /// The attachments.
    #[oai(validator(max_items = 1000))]
    pub media: Vec<MediaIn>,
}

/// What a media ingestion stored.
#[derive(Debug, Object)]
pub struct IngestMediaResult {
    /// Attachments stored.
    pub accepted: u64,
}

#[derive(ApiResponse)]
enum RecordsResponse {
    /// The batch was stored (duplicates counted, not stored twice).
    #[oai(status = 200)]
    Ok(Json<IngestRecordsResult>),
}

#[derive(ApiResponse)]
enum WatermarksResponse {
    /// The watermarks were applied.
    #[oai(status = 200)]
    Ok(Json<PublishWatermarksResult>),
}

#[derive(ApiResponse)]
enum WatermarkListResponse {
    /// The instance's watermarks.
    #[oai(status = 200)]
    Ok(Json<WatermarkList>),
}

#[derive(ApiResponse)]
enum MediaResponse {
    /// The attachments were stored.
    #[oai(status = 200)]
    Ok(Json<IngestMediaResult>),
}

#[OpenApi(tag = "ApiTags::Index")]
impl IndexApi {
    /// Ingest record versions
    ///
    /// Stores captured versions of records. Idempotent on `(tenant_id,
    /// instance_id, topic, partition, offset)`: a repeat is counted in
    /// `duplicates`. The batch is stored whole or not at all. Needs
    /// `index_write` and every tenant in the token's scope.
    #[oai(
        path = "/v1/index/records",
        method = "post",
        operation_id = "ingest_index_records"
    )]
    async fn ingest_records(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<IngestRecordsRequest>,
    ) -> ApiResult<RecordsResponse> {
        let principal = bearer.principal(&svc).await?;
        let records = body.0.records.into_iter().map(record_version).collect();
        let (accepted, duplicates) = svc.ingest_records(&principal, records, Utc::now()).await?;
        Ok(RecordsResponse::Ok(Json(IngestRecordsResult {
            accepted,
            duplicates,
        })))
    }

    /// Publish watermarks
    ///
    /// Records the sidecar's claim that each partition is complete up to
    /// `watermark_time`. Watermarks never move backwards: a lower one is
    /// counted in `ignored_regressions` and not stored; an equal one is
    /// accepted and changes nothing. Needs `index_write`.
    #[oai(
        path = "/v1/index/watermarks",
        method = "post",
        operation_id = "publish_watermarks"
    )]
    async fn publish_watermarks(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<PublishWatermarksRequest>,
    ) -> ApiResult<WatermarksResponse> {
        let principal = bearer.principal(&svc).await?;
        let watermarks = body
            .0
            .watermarks
            .into_iter()
            .map(|w| Watermark {
                tenant_id: w.tenant_id,
                instance_id: w.instance_id,
                topic: w.topic,
                partition: w.partition,
                watermark_time: w.watermark_time.0,
            })
            .collect();
        let (accepted, ignored_regressions) = svc
            .publish_watermarks(&principal, watermarks, Utc::now())
            .await?;
        Ok(WatermarksResponse::Ok(Json(PublishWatermarksResult {
            accepted,
            ignored_regressions,
        })))
    }

    /// List watermarks
    ///
    /// The stored watermarks of an instance with their `published_at`.
    /// Needs `restore_read`; another tenant's watermarks are not listed.
    #[oai(
        path = "/v1/index/watermarks",
        method = "get",
        operation_id = "list_watermarks"
    )]
    async fn list_watermarks(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Tenant whose watermarks to list.
        tenant_id: Query<String>,
        /// Instance of the tenant.
        instance_id: Query<String>,
    ) -> ApiResult<WatermarkListResponse> {
        let principal = bearer.principal(&svc).await?;
        let rows = svc
            .list_watermarks(&principal, &tenant_id.0, &instance_id.0)
            .await?;
        let items = rows
            .into_iter()
            .map(|w| WatermarkOut {
                tenant_id: w.tenant_id,
                instance_id: w.instance_id,
                topic: w.topic,
                partition: w.partition,
                watermark_time: Timestamp(from_micros(w.watermark_time_us)),
                published_at: Timestamp(w.published_at),
            })
            .collect();
        Ok(WatermarkListResponse::Ok(Json(WatermarkList {
            items,
            next_cursor: None,
        })))
    }

    /// Ingest media
    ///
    /// Stores captured attachments: the bytes go to the media store, and
    /// `size_bytes` and `sha256_plain` (hex sha256 of the bytes) are
    /// recorded in the index. Needs `index_write`.
    #[oai(
        path = "/v1/index/media",
        method = "post",
        operation_id = "ingest_index_media"
    )]
    async fn ingest_media(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<IngestMediaRequest>,
    ) -> ApiResult<MediaResponse> {
        let principal = bearer.principal(&svc).await?;
        let mut uploads = Vec::with_capacity(body.0.media.len());
        for (i, m) in body.0.media.into_iter().enumerate() {
            let content = LENIENT_BASE64.decode(&m.content_base64).map_err(|e| {
                ApiError::invalid(format!("media[{i}].content_base64 is not base64: {e}"))
            })?;
            uploads.push(MediaUpload {
                tenant_id: m.tenant_id,
                instance_id: m.instance_id,
                media_id: m.media_id,
                parent_table: m.parent_table,
                parent_sys_id: m.parent_sys_id,
                file_name: m.file_name,
                content_type: m.content_type,
                event_time: m.event_time.0,
                content,
            });
        }
        let accepted = svc.ingest_media(&principal, uploads, Utc::now()).await?;
        Ok(MediaResponse::Ok(Json(IngestMediaResult { accepted })))
    }
}

/// Standard padded base64 that, like the schema's pattern, accepts any
/// trailing bits in the last group.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

fn record_version(record: IndexRecord) -> RecordVersion {
    match record {
        IndexRecord::Upsert(r) => RecordVersion {
            tenant_id: r.tenant_id,
            instance_id: r.instance_id,
            table: r.table,
            sys_id: r.sys_id,
            op: RecordOp::Upsert,
            event_time: r.event_time.0,
            topic: r.topic,
            partition: r.partition,
            offset: r.offset,
            payload: Some(Value::Object(r.payload.into_iter().collect())),
        },
        IndexRecord::Delete(r) => RecordVersion {
            tenant_id: r.tenant_id,
            instance_id: r.instance_id,
            table: r.table,
            sys_id: r.sys_id,
            op: RecordOp::Delete,
            event_time: r.event_time.0,
            topic: r.topic,
            partition: r.partition,
            offset: r.offset,
            payload: None,
        },
    }
}
