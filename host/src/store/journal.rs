//! Reads of the rollback journal and its SN mirror, paged by `plan_row_id`.

use chrono::{DateTime, Utc};
use sea_orm::{FromQueryResult, Value};

use super::{Store, StoreError};

/// One journal row.
#[derive(Debug, Clone, FromQueryResult)]
pub struct JournalRow {
    pub journal_id: String,
    pub plan_hash: String,
    pub plan_row_id: i64,
    pub chunk_id: String,
    pub row_attempt: i32,
    #[sea_orm(from_alias = "table_name")]
    pub table: String,
    pub sys_id: String,
    pub action: String,
    pub before_image: Option<serde_json::Value>,
    pub before_image_sha256: Option<String>,
    pub after_image_sha256: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A journal row's retained before-image and its hash.
#[derive(Debug, Clone, FromQueryResult)]
pub struct BeforeImageRow {
    pub journal_id: String,
    pub plan_row_id: i64,
    pub before_image: serde_json::Value,
    pub before_image_sha256: Option<String>,
}

/// One mirror row (never a before-image).
#[derive(Debug, Clone, FromQueryResult)]
pub struct MirrorRow {
    pub journal_id: String,
    #[sea_orm(from_alias = "table_name")]
    pub table: String,
    pub sys_id: String,
    pub plan_row_id: i64,
    pub chunk_id: String,
    pub before_image_sha256: Option<String>,
    pub synced_at: DateTime<Utc>,
}

impl Store {
    /// Up to `limit` journal rows of a job after `after`.
    pub async fn journal_page(
        &self,
        job_id: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<JournalRow>, StoreError> {
        let sql = "SELECT journal_id, plan_hash, plan_row_id, chunk_id, row_attempt, table_name, sys_id, action, \
                   before_image, before_image_sha256, after_image_sha256, created_at FROM rollback_journal \
                   WHERE job_id = ? AND plan_row_id > ? ORDER BY plan_row_id LIMIT ?";
        let values: Vec<Value> = vec![job_id.into(), after.into(), (limit as i64).into()];
        self.fetch_all(sql, values).await
    }

    /// Up to `limit` journal rows of a job after `after` that still hold
    /// their before-image.
    pub async fn before_images_page(
        &self,
        job_id: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<BeforeImageRow>, StoreError> {
        let sql = "SELECT journal_id, plan_row_id, before_image, before_image_sha256 FROM rollback_journal \
                   WHERE job_id = ? AND plan_row_id > ? AND before_image IS NOT NULL \
                   ORDER BY plan_row_id LIMIT ?";
        let values: Vec<Value> = vec![job_id.into(), after.into(), (limit as i64).into()];
        self.fetch_all(sql, values).await
    }

    /// Up to `limit` mirror rows of a job after `after`.
    pub async fn mirror_page(
        &self,
        job_id: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<MirrorRow>, StoreError> {
        let sql = "SELECT journal_id, table_name, sys_id, plan_row_id, chunk_id, before_image_sha256, synced_at \
                   FROM sn_mirror WHERE job_id = ? AND plan_row_id > ? ORDER BY plan_row_id LIMIT ?";
        let values: Vec<Value> = vec![job_id.into(), after.into(), (limit as i64).into()];
        self.fetch_all(sql, values).await
    }
}
