//! The lock queue's storage: a transaction that holds the guard of one
//! `(tenant_id, instance_id)` and the row operations the queue logic
//! (`domain::queue`) is made of.
//!
//! [`Store::lock_queue`] begins a transaction whose first statement
//! upserts the guard row. On PostgreSQL that row lock serialises every
//! admission and release of the tenant and instance across replicas (a
//! second replica waits at the upsert until the first commits, then reads
//! what it committed). On SQLite a transaction that starts with a write is
//! the single writer from its first statement, so it never reads a
//! snapshot it cannot then write from. Lock order, to stay deadlock-free:
//! guard, then the job rows, then lock rows and events.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entities::job::{self, Entity as Jobs};
use super::entities::job_lock::{self, Entity as JobLocks};
use super::entities::job_queue_guard::{self, Entity as JobQueueGuards};
use super::entities::job_table;
use super::job_events::EventSeq;
use super::jobs::{load_job, JobRow};
use super::{Store, StoreError};

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    pub tenant_id: String,
    pub instance_id: String,
    /// Sorted, unique table names.
    pub tables: Vec<String>,
    pub status: String,
    pub execution_state: String,
    pub operator_id: String,
    pub created_at: DateTime<Utc>,
}

/// The first live lock row of a tuple: its holder, or its first waiter.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct LockRow {
    pub job_seq: i64,
    pub job_id: String,
    pub held: bool,
}

/// How a job ends.
#[derive(Debug, Clone)]
pub struct JobEnd<'a> {
    /// The statuses it may end from (the live ones).
    pub from_statuses: &'a [&'a str],
    pub status: &'a str,
    pub status_reason_code: Option<&'a str>,
    pub execution_state: &'a str,
    pub at: DateTime<Utc>,
}

/// A transaction holding the queue guard of one tenant and instance.
/// Dropped without [`QueueTxn::commit`], it rolls back.
pub struct QueueTxn {
    txn: DatabaseTransaction,
    tenant_id: String,
    instance_id: String,
}

impl Store {
    /// Begins a transaction and takes the queue guard of this tenant and
    /// instance (waiting for any other holder to commit).
    pub async fn lock_queue(
        &self,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<QueueTxn, StoreError> {
        let txn = self.begin_write().await?;
        let guard = job_queue_guard::ActiveModel {
            tenant_id: Set(tenant_id.to_owned()),
            instance_id: Set(instance_id.to_owned()),
            decisions: Set(1),
        };
        let bump = Expr::col((JobQueueGuards, job_queue_guard::Column::Decisions)).add(1);
        JobQueueGuards::insert(guard)
            .on_conflict(
                OnConflict::columns([
                    job_queue_guard::Column::TenantId,
                    job_queue_guard::Column::InstanceId,
                ])
                .value(job_queue_guard::Column::Decisions, bump)
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        Ok(QueueTxn {
            txn,
            tenant_id: tenant_id.to_owned(),
            instance_id: instance_id.to_owned(),
        })
    }
}

impl QueueTxn {
    /// The transaction, for other writes that must commit with the queue
    /// decision (they come after it in lock order).
    pub fn connection(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Commits the decision and releases the guard.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().await?;
        Ok(())
    }

    /// The job with this id, read under the guard.
    pub async fn job(&self, job_id: &str) -> Result<Option<JobRow>, StoreError> {
        load_job(&self.txn, job_id).await
    }

    /// The first live lock row of this tenant and instance's `table`.
    pub async fn head(&self, table: &str) -> Result<Option<LockRow>, StoreError> {
        Ok(JobLocks::find()
            .select_only()
            .column(job_lock::Column::JobSeq)
            .column(job_lock::Column::JobId)
            .column(job_lock::Column::Held)
            .filter(job_lock::Column::TenantId.eq(self.tenant_id.as_str()))
            .filter(job_lock::Column::InstanceId.eq(self.instance_id.as_str()))
            .filter(job_lock::Column::TableName.eq(table))
            .order_by_asc(job_lock::Column::JobSeq)
            .into_model::<LockRow>()
            .one(&self.txn)
            .await?)
    }

    /// The tables a live job holds or waits for.
    pub async fn lock_tables(&self, job_seq: i64) -> Result<Vec<String>, StoreError> {
        Ok(JobLocks::find()
            .select_only()
            .column(job_lock::Column::TableName)
            .filter(job_lock::Column::JobSeq.eq(job_seq))
            .order_by_asc(job_lock::Column::TableName)
            .into_tuple::<String>()
            .all(&self.txn)
            .await?)
    }

    /// Inserts a job, its tables and its lock rows (`held`: it runs now,
    /// else it waits); returns the job as stored.
    pub async fn insert_job(&self, new: NewJob, held: bool) -> Result<JobRow, StoreError> {
        let job = job::ActiveModel {
            job_id: Set(new.job_id.clone()),
            plan_id: Set(new.plan_id.clone()),
            plan_hash: Set(new.plan_hash.clone()),
            tenant_id: Set(new.tenant_id.clone()),
            instance_id: Set(new.instance_id.clone()),
            status: Set(new.status.clone()),
            status_reason_code: Set(None),
            execution_state: Set(new.execution_state.clone()),
            operator_id: Set(new.operator_id.clone()),
            event_seq: Set(0),
            created_at: Set(new.created_at),
            started_at: Set(held.then_some(new.created_at)),
            finished_at: Set(None),
            ..Default::default()
        };
        let job_seq = Jobs::insert(job).exec(&self.txn).await?.last_insert_id;
        let stored = JobRow {
            job_seq,
            job_id: new.job_id,
            plan_id: new.plan_id,
            plan_hash: new.plan_hash,
            tenant_id: new.tenant_id,
            instance_id: new.instance_id,
            tables: new.tables,
            status: new.status,
            status_reason_code: None,
            execution_state: new.execution_state,
            operator_id: new.operator_id,
            created_at: new.created_at,
            started_at: held.then_some(new.created_at),
            finished_at: None,
        };
        if stored.tables.is_empty() {
            return Ok(stored);
        }
        job_table::Entity::insert_many(stored.tables.iter().map(|table| job_table::ActiveModel {
            job_seq: Set(job_seq),
            table_name: Set(table.clone()),
        }))
        .exec_without_returning(&self.txn)
        .await?;
        JobLocks::insert_many(stored.tables.iter().map(|table| job_lock::ActiveModel {
            tenant_id: Set(stored.tenant_id.clone()),
            instance_id: Set(stored.instance_id.clone()),
            table_name: Set(table.clone()),
            job_seq: Set(job_seq),
            job_id: Set(stored.job_id.clone()),
            held: Set(held),
        }))
        .exec_without_returning(&self.txn)
        .await?;
        Ok(stored)
    }

    /// Moves a job from `from_status` to `to_status` and makes it the
    /// holder of all its lock rows; false when it was not in `from_status`.
    /// A second holder of a tuple is refused by the database.
    pub async fn grant(
        &self,
        job_seq: i64,
        from_status: &str,
        to_status: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let moved = Jobs::update_many()
            .col_expr(job::Column::Status, Expr::value(to_status))
            .col_expr(job::Column::StartedAt, Expr::value(at))
            .filter(job::Column::JobSeq.eq(job_seq))
            .filter(job::Column::Status.eq(from_status))
            .exec(&self.txn)
            .await?;
        if moved.rows_affected == 0 {
            return Ok(false);
        }
        JobLocks::update_many()
            .col_expr(job_lock::Column::Held, Expr::value(true))
            .filter(job_lock::Column::JobSeq.eq(job_seq))
            .exec(&self.txn)
            .await?;
        Ok(true)
    }

    /// Ends a live job in one conditional update that also takes the
    /// number of its terminal event; `None` when the job was not in one of
    /// `end.from_statuses` (already ended: nothing changed).
    pub async fn end(&self, job_seq: i64, end: &JobEnd<'_>) -> Result<Option<i64>, StoreError> {
        let update = Query::update()
            .table(Jobs)
            .value(job::Column::Status, end.status)
            .value(
                job::Column::StatusReasonCode,
                end.status_reason_code.map(str::to_owned),
            )
            .value(job::Column::ExecutionState, end.execution_state)
            .value(job::Column::FinishedAt, end.at)
            .value(
                job::Column::EventSeq,
                Expr::col(job::Column::EventSeq).add(1),
            )
            .and_where(job::Column::JobSeq.eq(job_seq))
            .and_where(job::Column::Status.is_in(end.from_statuses.iter().copied()))
            .returning_col(job::Column::EventSeq)
            .to_owned();
        let statement = self.txn.get_database_backend().build(&update);
        let taken = EventSeq::find_by_statement(statement)
            .one(&self.txn)
            .await?;
        Ok(taken.map(|t| t.event_seq))
    }

    /// Deletes a job's lock rows; returns the tables it released.
    pub async fn release(&self, job_seq: i64) -> Result<Vec<String>, StoreError> {
        let tables = self.lock_tables(job_seq).await?;
        JobLocks::delete_many()
            .filter(job_lock::Column::JobSeq.eq(job_seq))
            .exec(&self.txn)
            .await?;
        Ok(tables)
    }
}
