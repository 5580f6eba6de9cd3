//! `job_events`: the insert-only history of each job.
//!
//! An event's `seq` is taken from `jobs.event_seq` by one atomic
//! `UPDATE ... RETURNING`, so appends from several replicas to one job get
//! dense, distinct numbers. These functions take any connection or
//! transaction, so an engine can write an event in the same transaction as
//! the work it records.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

use super::entities::job::{self, Entity as Jobs};
use super::entities::job_event::{self, Entity as JobEvents};
use super::{Store, StoreError};

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEventRow {
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub reason_code: Option<String>,
    pub details: Value,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub seq: i64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub reason_code: Option<String>,
    pub details: Value,
    pub terminal: bool,
}

impl From<job_event::Model> for EventRow {
    fn from(model: job_event::Model) -> Self {
        Self {
            seq: model.seq,
            event_type: model.event_type,
            at: model.at,
            actor: model.actor,
            reason_code: model.reason_code,
            details: model.details,
            terminal: model.terminal,
        }
    }
}

/// The event number an `UPDATE jobs ... RETURNING event_seq` took.
#[derive(FromQueryResult)]
pub(super) struct EventSeq {
    pub(super) event_seq: i64,
}

/// Takes the job's next event number; `None` when the job does not exist.
pub async fn next_event_seq<C: ConnectionTrait>(
    conn: &C,
    job_seq: i64,
) -> Result<Option<i64>, StoreError> {
    let update = Query::update()
        .table(Jobs)
        .value(
            job::Column::EventSeq,
            Expr::col(job::Column::EventSeq).add(1),
        )
        .and_where(job::Column::JobSeq.eq(job_seq))
        .returning_col(job::Column::EventSeq)
        .to_owned();
    let statement = conn.get_database_backend().build(&update);
    let taken = EventSeq::find_by_statement(statement).one(conn).await?;
    Ok(taken.map(|t| t.event_seq))
}

/// Records an event under a number taken with [`next_event_seq`] (or by
/// the terminal transition). `terminal` marks the job's one terminal
/// event; a second one is refused by the database as a duplicate.
pub async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    job_seq: i64,
    seq: i64,
    event: &NewEventRow,
    terminal: bool,
) -> Result<(), StoreError> {
    job_event::ActiveModel {
        job_seq: Set(job_seq),
        seq: Set(seq),
        event_type: Set(event.event_type.clone()),
        at: Set(event.at),
        actor: Set(event.actor.clone()),
        reason_code: Set(event.reason_code.clone()),
        details: Set(event.details.clone()),
        terminal: Set(terminal),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Appends a non-terminal event; returns its `seq`, or `None` when the job
/// does not exist. Run it inside a transaction (or use
/// [`Store::append_job_event`]) so a failed insert does not leave a gap.
pub async fn append_event<C: ConnectionTrait>(
    conn: &C,
    job_seq: i64,
    event: &NewEventRow,
) -> Result<Option<i64>, StoreError> {
    let Some(seq) = next_event_seq(conn, job_seq).await? else {
        return Ok(None);
    };
    insert_event(conn, job_seq, seq, event, false).await?;
    Ok(Some(seq))
}

impl Store {
    /// Appends a non-terminal event in its own transaction.
    pub async fn append_job_event(
        &self,
        job_seq: i64,
        event: &NewEventRow,
    ) -> Result<Option<i64>, StoreError> {
        let txn = self.begin_write().await?;
        let seq = append_event(&txn, job_seq, event).await?;
        txn.commit().await?;
        Ok(seq)
    }

    /// A page of a job's events, oldest first, after `after_seq`.
    pub async fn job_events(
        &self,
        job_seq: i64,
        after_seq: Option<i64>,
        limit: u64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let mut query = JobEvents::find()
            .filter(job_event::Column::JobSeq.eq(job_seq))
            .order_by_asc(job_event::Column::Seq);
        if let Some(after) = after_seq {
            query = query.filter(job_event::Column::Seq.gt(after));
        }
        let rows = query.limit(limit).all(self.db()).await?;
        Ok(rows.into_iter().map(EventRow::from).collect())
    }
}
