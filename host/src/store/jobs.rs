//! Queries on `jobs` and `job_tables`: reading and listing jobs, the lock
//! rows ahead of a queued job, and the execution state the engine sets.
//! Status changes that touch the queue go through [`super::job_queue`].

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entities::job::{self, Entity as Jobs};
use super::entities::job_table::{self, Entity as JobTables};
use super::{sql, Store, StoreError};

/// The lock rows of other jobs on a job's tuples, earlier in admission
/// order (`job_seq` bound twice).
const LOCKS_AHEAD: &str = "FROM job_locks mine \
     JOIN job_locks other ON other.tenant_id = mine.tenant_id \
       AND other.instance_id = mine.instance_id AND other.table_name = mine.table_name \
     WHERE mine.job_seq = ? AND other.job_seq < ?";

/// A job as stored, with its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Admission order (internal; never on the wire).
    pub job_seq: i64,
    pub job_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    pub tenant_id: String,
    pub instance_id: String,
    /// Table names, sorted.
    pub tables: Vec<String>,
    pub status: String,
    pub status_reason_code: Option<String>,
    pub execution_state: String,
    pub operator_id: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    fn from_model(model: job::Model, tables: Vec<String>) -> Self {
        Self {
            job_seq: model.job_seq,
            job_id: model.job_id,
            plan_id: model.plan_id,
            plan_hash: model.plan_hash,
            tenant_id: model.tenant_id,
            instance_id: model.instance_id,
            tables,
            status: model.status,
            status_reason_code: model.status_reason_code,
            execution_state: model.execution_state,
            operator_id: model.operator_id,
            created_at: model.created_at,
            started_at: model.started_at,
            finished_at: model.finished_at,
        }
    }
}

/// Which jobs to list; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct JobListFilter {
    pub status: Option<String>,
    pub tenant_id: Option<String>,
    pub instance_id: Option<String>,
    pub table: Option<String>,
    /// Only these tenants; `None` means every tenant.
    pub tenants: Option<Vec<String>>,
    /// Only jobs admitted after this one (the page cursor).
    pub after_seq: Option<i64>,
    /// At most this many rows.
    pub limit: u64,
}

/// A live lock row on a tuple shared with a queued job, ahead of it: a
/// holder, or an earlier waiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AheadRow {
    pub table_name: String,
    pub job_seq: i64,
    pub job_id: String,
    pub held: bool,
}

/// The job with this id, read on any connection or transaction.
pub async fn load_job<C: ConnectionTrait>(
    conn: &C,
    job_id: &str,
) -> Result<Option<JobRow>, StoreError> {
    let Some(model) = Jobs::find()
        .filter(job::Column::JobId.eq(job_id))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let mut rows = with_tables(conn, vec![model]).await?;
    Ok(rows.pop())
}

async fn with_tables<C: ConnectionTrait>(
    conn: &C,
    models: Vec<job::Model>,
) -> Result<Vec<JobRow>, StoreError> {
    let seqs: Vec<i64> = models.iter().map(|m| m.job_seq).collect();
    let mut tables: std::collections::HashMap<i64, Vec<String>> = Default::default();
    if !seqs.is_empty() {
        for row in JobTables::find()
            .filter(job_table::Column::JobSeq.is_in(seqs))
            .all(conn)
            .await?
        {
            tables.entry(row.job_seq).or_default().push(row.table_name);
        }
    }
    Ok(models
        .into_iter()
        .map(|m| {
            // Sorted here: PostgreSQL's collation need not be bytewise.
            let mut names = tables.remove(&m.job_seq).unwrap_or_default();
            names.sort();
            JobRow::from_model(m, names)
        })
        .collect())
}

/// Sets a job's execution state and status reason, only while the job is
/// in `expected_status`; returns whether it changed.
pub async fn set_execution_state<C: ConnectionTrait>(
    conn: &C,
    job_id: &str,
    expected_status: &str,
    execution_state: &str,
    status_reason_code: Option<&str>,
) -> Result<bool, StoreError> {
    let result = Jobs::update_many()
        .col_expr(job::Column::ExecutionState, Expr::value(execution_state))
        .col_expr(
            job::Column::StatusReasonCode,
            Expr::value(status_reason_code.map(str::to_owned)),
        )
        .filter(job::Column::JobId.eq(job_id))
        .filter(job::Column::Status.eq(expected_status))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

impl Store {
    /// The job with this id, if any.
    pub async fn job(&self, job_id: &str) -> Result<Option<JobRow>, StoreError> {
        load_job(self.db(), job_id).await
    }

    /// Jobs matching the filter, oldest first.
    pub async fn jobs(&self, filter: &JobListFilter) -> Result<Vec<JobRow>, StoreError> {
        let mut query = Jobs::find().order_by_asc(job::Column::JobSeq);
        if let Some(status) = &filter.status {
            query = query.filter(job::Column::Status.eq(status.as_str()));
        }
        if let Some(tenant) = &filter.tenant_id {
            query = query.filter(job::Column::TenantId.eq(tenant.as_str()));
        }
        if let Some(instance) = &filter.instance_id {
            query = query.filter(job::Column::InstanceId.eq(instance.as_str()));
        }
        if let Some(tenants) = &filter.tenants {
            query = query.filter(job::Column::TenantId.is_in(tenants.iter().map(String::as_str)));
        }
        if let Some(after) = filter.after_seq {
            query = query.filter(job::Column::JobSeq.gt(after));
        }
        if let Some(table) = &filter.table {
            let covering = Query::select()
                .column(job_table::Column::JobSeq)
                .from(JobTables)
                .and_where(job_table::Column::TableName.eq(table.as_str()))
                .to_owned();
            query = query.filter(job::Column::JobSeq.in_subquery(covering));
        }
        let models = query.limit(filter.limit).all(self.db()).await?;
        with_tables(self.db(), models).await
    }

    /// The live lock rows ahead of a job on its tuples, in admission
    /// order: holders of its tables and earlier waiters for them. A holder
    /// is always the earliest live row of its tuple (it was first in line
    /// when granted, and later jobs get later sequence numbers), so
    /// "ahead" is one index range per tuple.
    ///
    /// The rows come back aggregated into one row, whatever the depth of
    /// the queue: the SQLite driver hands rows over one by one between
    /// threads, which made reading a 10,000-deep queue row by row cost
    /// ~40 ms, and deduplicating in SQL costs temporary B-trees. SQLite
    /// aggregates into a JSON array; PostgreSQL into one row per table with
    /// an array per column, which it builds and sends in binary ~4x faster
    /// than `json_agg(json_build_array(..))` (10,000 rows: ~2.4 ms against
    /// ~10 ms).
    pub async fn job_locks_ahead(&self, job_seq: i64) -> Result<Vec<AheadRow>, StoreError> {
        let mut ahead = match self.backend() {
            DatabaseBackend::Postgres => self.locks_ahead_arrays(job_seq).await?,
            _ => self.locks_ahead_json(job_seq).await?,
        };
        ahead.sort_by(|a, b| (a.job_seq, &a.table_name).cmp(&(b.job_seq, &b.table_name)));
        Ok(ahead)
    }

    async fn locks_ahead_arrays(&self, job_seq: i64) -> Result<Vec<AheadRow>, StoreError> {
        let sql = format!(
            "SELECT other.table_name AS table_name, array_agg(other.job_seq) AS seqs, \
             array_agg(other.held) AS held, array_agg(other.job_id::text) AS ids {LOCKS_AHEAD} \
             GROUP BY other.table_name"
        );
        #[derive(FromQueryResult)]
        struct TableAhead {
            table_name: String,
            seqs: Vec<i64>,
            held: Vec<bool>,
            ids: Vec<String>,
        }
        let statement = sql::statement(self.backend(), &sql, vec![job_seq.into(), job_seq.into()]);
        let mut ahead = Vec::new();
        let tables = TableAhead::find_by_statement(statement)
            .all(self.db())
            .await?;
        for TableAhead {
            table_name,
            seqs,
            held,
            ids,
        } in tables
        {
            if [held.len(), ids.len()] != [seqs.len(); 2] {
                return Err(StoreError::Corrupt(format!(
                    "lock rows ahead of job {job_seq} on {table_name}: arrays of unequal length"
                )));
            }
            ahead.extend(
                seqs.into_iter()
                    .zip(held)
                    .zip(ids)
                    .map(|((job_seq, held), job_id)| AheadRow {
                        table_name: table_name.clone(),
                        job_seq,
                        job_id,
                        held,
                    }),
            );
        }
        Ok(ahead)
    }

    async fn locks_ahead_json(&self, job_seq: i64) -> Result<Vec<AheadRow>, StoreError> {
        let sql = format!(
            "SELECT json_group_array(json_array(other.table_name, other.job_seq, other.held, \
             other.job_id)) AS ahead {LOCKS_AHEAD}"
        );
        #[derive(FromQueryResult)]
        struct Ahead {
            ahead: String,
        }
        let statement = sql::statement(self.backend(), &sql, vec![job_seq.into(), job_seq.into()]);
        let Some(Ahead { ahead: json }) =
            Ahead::find_by_statement(statement).one(self.db()).await?
        else {
            return Ok(Vec::new());
        };
        let tuples: Vec<(String, i64, i64, String)> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("lock rows ahead of job {job_seq}: {e}")))?;
        Ok(tuples
            .into_iter()
            .map(|(table_name, job_seq, held, job_id)| AheadRow {
                table_name,
                job_seq,
                job_id,
                // SQLite stores booleans as 0 or 1.
                held: held == 1,
            })
            .collect())
    }

    /// Sets a job's execution state (see [`set_execution_state`]).
    pub async fn set_job_execution_state(
        &self,
        job_id: &str,
        expected_status: &str,
        execution_state: &str,
        status_reason_code: Option<&str>,
    ) -> Result<bool, StoreError> {
        set_execution_state(
            self.write_db(),
            job_id,
            expected_status,
            execution_state,
            status_reason_code,
        )
        .await
    }
}
