//! Reads of the rollback journal and its SN mirror, paged by `plan_row_id`.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, FromQueryResult, Value};

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

/// What an undo reads of one journal row, with the current payload hash
/// of its record in an embedded target (`None` where it is absent).
#[derive(Debug, Clone, FromQueryResult)]
pub struct UndoJournalRow {
    pub plan_row_id: i64,
    pub journal_id: String,
    #[sea_orm(from_alias = "table_name")]
    pub table: String,
    pub sys_id: String,
    pub action: String,
    pub before_image: Option<serde_json::Value>,
    pub before_image_sha256: Option<String>,
    pub after_image_sha256: Option<String>,
    pub current_sha256: Option<String>,
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

    /// Up to `limit` journal rows of a job after `after`, each with its
    /// record as it is now in the embedded target `embedded` (tenant and
    /// instance in this database's `target_records`; `None` for a target
    /// elsewhere, whose hashes the caller asks it for), in one read: an undo compares every journaled row with its record, and
    /// reading the two apart fetched each row twice.
    ///
    /// On SQLite the page comes back as one JSON array (its driver hands
    /// rows over one by one between threads, a few µs a row; see
    /// `Store::plan_chunk_keys`), the before-images inside it as the text
    /// they are stored as, parsed here as the driver would. On PostgreSQL
    /// the record is looked up per journal row (`LATERAL ... LIMIT 1`, as
    /// `target::target_row_join` does, and for the same reason: a grown,
    /// unanalyzed target must not turn the join into a scan of the
    /// instance).
    pub async fn undo_journal_page(
        &self,
        job_id: &str,
        embedded: Option<(&str, &str)>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<UndoJournalRow>, StoreError> {
        const COLUMNS: &str = "plan_row_id, journal_id, table_name, sys_id, action, before_image, \
                               before_image_sha256, after_image_sha256";
        const PAGE: &str =
            "FROM rollback_journal WHERE job_id = ? AND plan_row_id > ? ORDER BY plan_row_id LIMIT ?";
        const KEY: &str = "t.tenant_id = ? AND t.instance_id = ? AND t.table_name = j.table_name \
                           AND t.sys_id = j.sys_id";
        let mut values: Vec<Value> = vec![job_id.into(), after.into(), (limit as i64).into()];
        let postgres = self.backend() == DatabaseBackend::Postgres;
        let (current, join) = match embedded {
            Some((tenant_id, instance_id)) => {
                values.extend([tenant_id.into(), instance_id.into()]);
                let join = if postgres {
                    format!(
                        "LEFT JOIN LATERAL (SELECT t.payload_sha256 FROM target_records t \
                         WHERE {KEY} LIMIT 1) t ON true"
                    )
                } else {
                    format!("LEFT JOIN target_records t ON {KEY}")
                };
                ("t.payload_sha256", join)
            }
            None => ("CAST(NULL AS text)", String::new()),
        };
        if postgres {
            let sql = format!(
                "SELECT j.*, {current} AS current_sha256 FROM (SELECT {COLUMNS} {PAGE}) j {join} \
                 ORDER BY j.plan_row_id"
            );
            return self.fetch_all(&sql, values).await;
        }
        let sql = format!(
            "SELECT json_group_array(json_array(j.plan_row_id, j.journal_id, j.table_name, j.sys_id, j.action, \
             j.before_image, j.before_image_sha256, j.after_image_sha256, {current})) AS page \
             FROM (SELECT {COLUMNS} {PAGE}) j {join}"
        );
        #[derive(FromQueryResult)]
        struct Page {
            page: String,
        }
        let Some(Page { page }) = self.fetch_one(&sql, values).await? else {
            return Ok(Vec::new());
        };
        parse_undo_page(&page, job_id, after)
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

/// An undo journal page read on SQLite as one JSON array, in plan order.
fn parse_undo_page(
    page: &str,
    job_id: &str,
    after: i64,
) -> Result<Vec<UndoJournalRow>, StoreError> {
    type Tuple = (
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let corrupt = |e: serde_json::Error| {
        StoreError::Corrupt(format!("journal page of job {job_id} after {after}: {e}"))
    };
    let tuples: Vec<Tuple> = serde_json::from_str(page).map_err(corrupt)?;
    let mut rows = Vec::with_capacity(tuples.len());
    for (plan_row_id, journal_id, table, sys_id, action, image, before, after_sha, current) in
        tuples
    {
        let before_image = match image {
            Some(text) => Some(serde_json::from_str(&text).map_err(corrupt)?),
            None => None,
        };
        rows.push(UndoJournalRow {
            plan_row_id,
            journal_id,
            table,
            sys_id,
            action,
            before_image,
            before_image_sha256: before,
            after_image_sha256: after_sha,
            current_sha256: current,
        });
    }
    rows.sort_unstable_by_key(|r| r.plan_row_id);
    Ok(rows)
}
