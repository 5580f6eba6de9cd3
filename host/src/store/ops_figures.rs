//! Read-only figures the operations view measures: small aggregate
//! queries over other resources' tables (the index's partitions and
//! watermarks, jobs and their events, evidence), so the SLO computation in
//! the domain stays a pure function of their results.
//!
//! Timestamps of jobs and events are compared in SQL against a bound
//! `DateTime<Utc>`: PostgreSQL compares `timestamptz`; SQLite compares the
//! RFC 3339 UTC text both the rows and the bound value are written as,
//! which orders like the instants it names.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, FromQueryResult};

use super::{Store, StoreError};

/// How fresh the sources (index partitions) are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// Partitions known: those carrying index records plus those with a
    /// watermark.
    pub sources: i64,
    /// Partitions carrying index records without any watermark.
    pub unknown: i64,
    /// Watermarks older than the stale cut-off.
    pub stale: i64,
}

/// Executions that ran and what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecutionCounts {
    /// Jobs with execution activity (started, resumed, a chunk applied, or
    /// paused).
    pub ran: i64,
    /// Of which paused at least once with `paused_auth_expired`.
    pub auth_paused: i64,
}

/// The rollback journal of one job, for the growth figures.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct JournalOfJob {
    pub job_id: String,
    /// Journal rows.
    #[sea_orm(from_alias = "rows_n")]
    pub rows: i64,
    /// Rows still holding a before-image.
    #[sea_orm(from_alias = "images")]
    pub before_images: i64,
    /// Bytes of those before-images (their stored JSON text).
    #[sea_orm(from_alias = "image_bytes")]
    pub before_image_bytes: i64,
    /// When the job ended; None while it runs.
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether an evidence package was exported for it.
    pub exported: bool,
}

const UNKNOWN_SQL: &str = "SELECT COUNT(*) AS n FROM (SELECT DISTINCT p.tenant_id, p.instance_id, \
     p.topic, p.\"partition\" FROM index_table_partitions p WHERE NOT EXISTS (SELECT 1 FROM \
     index_watermarks w WHERE w.tenant_id = p.tenant_id AND w.instance_id = p.instance_id AND \
     w.topic = p.topic AND w.\"partition\" = p.\"partition\")) u";
const WATERMARKS_SQL: &str = "SELECT COUNT(*) AS n FROM index_watermarks";
const STALE_SQL: &str = "SELECT COUNT(*) AS n FROM index_watermarks WHERE watermark_time_us < ?";
const PACKAGES_SQL: &str = "SELECT COUNT(*) AS n FROM evidence_packages WHERE generated_at_us >= ?";
const ENDED_SQL: &str = "SELECT status, COUNT(*) AS n FROM jobs WHERE finished_at >= ? \
     AND started_at IS NOT NULL AND status IN ('completed', 'failed') GROUP BY status";
const STARTED_SQL: &str =
    "SELECT created_at, started_at FROM jobs WHERE started_at >= ? ORDER BY job_seq";
const SPANS_SQL: &str = "SELECT MIN(e.at) AS started, j.finished_at AS finished FROM jobs j \
     JOIN job_events e ON e.job_seq = j.job_seq AND e.event_type = 'execution_started' \
     WHERE j.finished_at >= ? AND j.status IN ('completed', 'failed') \
     GROUP BY j.job_seq, j.finished_at";
const RAN_SQL: &str = "SELECT COUNT(DISTINCT job_seq) AS n FROM job_events WHERE at >= ? AND \
     event_type IN ('execution_started', 'execution_resumed', 'chunk_applied', \
     'chunk_row_fallback', 'execution_paused')";
const AUTH_PAUSED_SQL: &str = "SELECT COUNT(DISTINCT job_seq) AS n FROM job_events WHERE at >= ? \
     AND event_type = 'execution_paused' AND reason_code = 'paused_auth_expired'";

const JOURNAL_SQL: &str = "SELECT r.job_id AS job_id, CAST(COUNT(*) AS BIGINT) AS rows_n, \
     CAST(SUM(CASE WHEN r.before_image IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS images, \
     CAST(SUM(CASE WHEN r.before_image IS NULL THEN 0 ELSE {LEN} END) AS BIGINT) AS image_bytes, \
     j.finished_at AS finished_at, EXISTS (SELECT 1 FROM evidence_packages p \
     WHERE p.job_id = r.job_id AND p.origin = 'export') AS exported \
     FROM rollback_journal r JOIN jobs j ON j.job_id = r.job_id \
     GROUP BY r.job_id, j.finished_at ORDER BY r.job_id";

impl Store {
    /// Counts the source partitions, those without a watermark, and the
    /// watermarks older than `stale_before_us` (microseconds since the
    /// epoch).
    pub async fn source_counts(&self, stale_before_us: i64) -> Result<SourceCounts, StoreError> {
        let unknown = self.count_sql(UNKNOWN_SQL, vec![]).await?;
        let watermarks = self.count_sql(WATERMARKS_SQL, vec![]).await?;
        let stale = self
            .count_sql(STALE_SQL, vec![stale_before_us.into()])
            .await?;
        Ok(SourceCounts {
            sources: unknown + watermarks,
            unknown,
            stale,
        })
    }

    /// Evidence packages generated at or after `since_us`.
    pub async fn count_evidence_packages_since(&self, since_us: i64) -> Result<i64, StoreError> {
        self.count_sql(PACKAGES_SQL, vec![since_us.into()]).await
    }

    /// Every job with journal rows, with its rows, retained before-images
    /// and their bytes.
    pub async fn journal_of_jobs(&self) -> Result<Vec<JournalOfJob>, StoreError> {
        let length = match self.backend() {
            DatabaseBackend::Postgres => "octet_length(r.before_image::text)",
            _ => "length(CAST(r.before_image AS BLOB))",
        };
        let sql = JOURNAL_SQL.replace("{LEN}", length);
        self.fetch_all(&sql, vec![]).await
    }

    /// Jobs that started and then ended `completed` or `failed` at or after
    /// `since`: `(completed, failed)`.
    pub async fn ended_job_counts(&self, since: DateTime<Utc>) -> Result<(i64, i64), StoreError> {
        #[derive(FromQueryResult)]
        struct Ended {
            status: String,
            n: i64,
        }
        let (mut completed, mut failed) = (0, 0);
        for Ended { status, n } in self.fetch_all(ENDED_SQL, vec![since.into()]).await? {
            match status.as_str() {
                "completed" => completed = n,
                _ => failed = n,
            }
        }
        Ok((completed, failed))
    }

    /// `(created_at, started_at)` of the jobs started at or after `since`.
    pub async fn job_start_times(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, StoreError> {
        #[derive(FromQueryResult)]
        struct Started {
            created_at: DateTime<Utc>,
            started_at: DateTime<Utc>,
        }
        let rows: Vec<Started> = self.fetch_all(STARTED_SQL, vec![since.into()]).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.created_at, r.started_at))
            .collect())
    }

    /// `(first execution_started, finished_at)` of the executions whose job
    /// ended `completed` or `failed` at or after `since`.
    pub async fn execution_spans(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, StoreError> {
        #[derive(FromQueryResult)]
        struct Span {
            started: DateTime<Utc>,
            finished: DateTime<Utc>,
        }
        let rows: Vec<Span> = self.fetch_all(SPANS_SQL, vec![since.into()]).await?;
        Ok(rows.into_iter().map(|r| (r.started, r.finished)).collect())
    }

    /// Jobs with execution activity at or after `since`, and those of them
    /// paused by an expired token.
    pub async fn execution_counts(
        &self,
        since: DateTime<Utc>,
    ) -> Result<ExecutionCounts, StoreError> {
        Ok(ExecutionCounts {
            ran: self.count_sql(RAN_SQL, vec![since.into()]).await?,
            auth_paused: self.count_sql(AUTH_PAUSED_SQL, vec![since.into()]).await?,
        })
    }
}
