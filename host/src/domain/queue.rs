//! The lock queue: admission, release and promotion, strictly
//! first-come-first-served per `(tenant_id, instance_id, table)` tuple.
//!
//! Every live job has one lock row per tuple it covers, held or waiting.
//! The first row of a tuple (lowest admission order) is its holder or its
//! first waiter; a job may run exactly when it is first on every one of
//! its tuples. So:
//! - a new job runs at once when none of its tuples has a row (anything
//!   there is a holder or an earlier waiter), else it queues;
//! - when a job ends, only the tuples it released change their first row,
//!   so the candidates are the new first rows of those tuples; each runs
//!   if it is now first everywhere. Promoting one cannot unblock another
//!   (it becomes the holder of tuples it was already first on), so one
//!   pass in admission order finds every job to promote.
//!
//! Each decision runs inside [`Store::lock_queue`]'s transaction, which
//! holds the tenant and instance's guard, so replicas never decide on the
//! same tuples at once, and release and promotion commit together.

use crate::domain::ReasonCode;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::job_states::{ExecutionState, JobEventType, JobStatus, QueueInfo};
use super::DomainError;
use crate::store::evidence_obligations;
use crate::store::job_events::{self, NewEventRow};
use crate::store::job_queue::{JobEnd, LockRow, NewJob, QueueTxn};
use crate::store::jobs::{AheadRow, JobRow};
use crate::store::Store;

/// Who the queue names as the actor of the transitions it makes itself.
pub const QUEUE_ACTOR: &str = "lock_queue";

/// How a job ends.
#[derive(Debug, Clone)]
pub struct JobFinish {
    /// `completed`, `failed` or `cancelled`.
    pub status: JobStatus,
    pub reason_code: ReasonCode,
    pub actor: String,
    /// Merged into the terminal event's details.
    pub details: Map<String, Value>,
    /// Whether the job is owed an automatic evidence package: the
    /// obligation is written in the terminal transition's transaction
    /// (execution ends do; an operator's completion does not).
    pub evidence_owed: bool,
}

/// Admits a new job: it runs at once if none of its tuples is held or
/// wanted, else it queues behind. Returns the stored job.
pub async fn admit(
    store: &Store,
    mut new: NewJob,
    at: DateTime<Utc>,
) -> Result<JobRow, DomainError> {
    let q = store.lock_queue(&new.tenant_id, &new.instance_id).await?;
    let mut ahead = Vec::new();
    for table in &new.tables {
        if let Some(head) = q.head(table).await? {
            ahead.push((table.clone(), head));
        }
    }
    let status = if ahead.is_empty() {
        JobStatus::Running
    } else {
        JobStatus::Queued
    };
    new.status = status.as_str().to_owned();
    new.execution_state = ExecutionState::NotStarted.as_str().to_owned();
    let row = q.insert_job(new, ahead.is_empty()).await?;
    let event = match status {
        JobStatus::Running => started_event(&row.operator_id, json!({"promoted": false}), at),
        _ => queued_event(&row.operator_id, &ahead, at),
    };
    job_events::append_event(q.connection(), row.job_seq, &event).await?;
    q.commit().await?;
    Ok(row)
}

fn started_event(actor: &str, details: Value, at: DateTime<Utc>) -> NewEventRow {
    NewEventRow {
        event_type: JobEventType::JobStarted.as_str().to_owned(),
        at,
        actor: actor.to_owned(),
        reason_code: None,
        details,
    }
}

fn queued_event(actor: &str, ahead: &[(String, LockRow)], at: DateTime<Utc>) -> NewEventRow {
    let behind: Vec<Value> = ahead
        .iter()
        .map(|(table, head)| json!({"table": table, "job_id": head.job_id, "held": head.held}))
        .collect();
    let wait_tables: Vec<&String> = ahead.iter().map(|(table, _)| table).collect();
    NewEventRow {
        event_type: JobEventType::JobQueued.as_str().to_owned(),
        at,
        actor: actor.to_owned(),
        reason_code: Some(ReasonCode::WaitingTableLock.as_str().to_owned()),
        details: json!({"wait_tables": wait_tables, "queued_behind": behind}),
    }
}

/// Ends `job` (read under `q`'s guard) with its terminal event, releases
/// its locks, promotes every queued job that may now run and, when
/// `finish.evidence_owed`, records the evidence obligation, all in `q`'s
/// transaction; the caller commits. Returns the promoted job ids in
/// admission order. `409 job_already_terminal` if the job already ended
/// (then nothing was written).
pub async fn finish_in(
    q: &QueueTxn,
    job: &JobRow,
    finish: &JobFinish,
    at: DateTime<Utc>,
) -> Result<Vec<String>, DomainError> {
    let event_type = finish.status.terminal_event().ok_or_else(|| {
        DomainError::Internal(format!(
            "{} is not a terminal status",
            finish.status.as_str()
        ))
    })?;
    let live: Vec<&str> = JobStatus::LIVE.iter().map(|s| s.as_str()).collect();
    let end = JobEnd {
        from_statuses: &live,
        status: finish.status.as_str(),
        status_reason_code: Some(finish.reason_code.as_str()),
        execution_state: ExecutionState::Terminal.as_str(),
        at,
    };
    let Some(event_seq) = q.end(job.job_seq, &end).await? else {
        return Err(already_terminal(job));
    };
    let released = q.release(job.job_seq).await?;
    let promoted = promote(q, &released, &job.job_id, at).await?;
    let mut details = finish.details.clone();
    details.insert("from_status".into(), json!(job.status));
    details.insert("released_tables".into(), json!(released));
    details.insert("promoted_job_ids".into(), json!(promoted));
    let event = NewEventRow {
        event_type: event_type.as_str().to_owned(),
        at,
        actor: finish.actor.clone(),
        reason_code: Some(finish.reason_code.as_str().to_owned()),
        details: Value::Object(details),
    };
    job_events::insert_event(q.connection(), job.job_seq, event_seq, &event, true).await?;
    if finish.evidence_owed {
        evidence_obligations::owe(q.connection(), &job.job_id, at).await?;
    }
    Ok(promoted)
}

/// `409 job_already_terminal` for a job that has ended.
pub fn already_terminal(job: &JobRow) -> DomainError {
    DomainError::Conflict {
        reason_code: ReasonCode::JobAlreadyTerminal,
        message: format!("job {} already ended ({})", job.job_id, job.status),
        details: Some(json!({"job_id": job.job_id, "status": job.status})),
    }
}

async fn promote(
    q: &QueueTxn,
    released: &[String],
    released_by: &str,
    at: DateTime<Utc>,
) -> Result<Vec<String>, DomainError> {
    let mut candidates = BTreeMap::new();
    for table in released {
        if let Some(head) = q.head(table).await? {
            if !head.held {
                candidates.insert(head.job_seq, head.job_id);
            }
        }
    }
    let mut promoted = Vec::new();
    for (job_seq, job_id) in candidates {
        if !first_everywhere(q, job_seq).await? {
            continue;
        }
        let (queued, running) = (JobStatus::Queued.as_str(), JobStatus::Running.as_str());
        if !q.grant(job_seq, queued, running, at).await? {
            return Err(DomainError::Internal(format!(
                "job {job_id} waits in the lock queue but is not queued"
            )));
        }
        let details = json!({"promoted": true, "released_by": released_by});
        job_events::append_event(
            q.connection(),
            job_seq,
            &started_event(QUEUE_ACTOR, details, at),
        )
        .await?;
        promoted.push(job_id);
    }
    Ok(promoted)
}

async fn first_everywhere(q: &QueueTxn, job_seq: i64) -> Result<bool, DomainError> {
    for table in q.lock_tables(job_seq).await? {
        match q.head(&table).await? {
            Some(head) if head.job_seq == job_seq => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Queue metadata of a queued job from the lock rows ahead of it
/// (`Store::job_locks_ahead`, in admission order).
/// How many of the jobs ahead a queued job's document names: the oldest,
/// which must end before it runs; `blocking_job_count` counts them all.
/// (A 10,000th job on one table would otherwise carry 10,000 ids.)
pub const BLOCKING_JOB_IDS_SHOWN: usize = 20;

pub fn queue_info(ahead: &[AheadRow]) -> QueueInfo {
    let wait_tables: BTreeSet<&String> = ahead.iter().map(|row| &row.table_name).collect();
    let earlier_queued: BTreeSet<i64> = ahead
        .iter()
        .filter(|row| !row.held)
        .map(|row| row.job_seq)
        .collect();
    let blocking: BTreeMap<i64, &String> =
        ahead.iter().map(|row| (row.job_seq, &row.job_id)).collect();
    QueueInfo {
        wait_reason_code: Some(ReasonCode::WaitingTableLock),
        wait_tables: wait_tables.into_iter().cloned().collect(),
        queue_position: Some(1 + earlier_queued.len() as i64),
        blocking_job_count: blocking.len() as i64,
        blocking_job_ids: blocking
            .into_values()
            .take(BLOCKING_JOB_IDS_SHOWN)
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(table: &str, job_seq: i64, held: bool) -> AheadRow {
        AheadRow {
            table_name: table.into(),
            job_seq,
            job_id: format!("job_{job_seq}"),
            held,
        }
    }

    #[test]
    fn queue_info_counts_distinct_earlier_waiters() {
        let info = queue_info(&[
            row("a", 1, true),
            row("a", 2, false),
            row("b", 2, false),
            row("b", 3, false),
        ]);
        assert_eq!(info.wait_reason_code, Some(ReasonCode::WaitingTableLock));
        assert_eq!(info.wait_tables, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(info.queue_position, Some(3));
        assert_eq!(info.blocking_job_ids, vec!["job_1", "job_2", "job_3"]);
    }

    #[test]
    fn only_terminal_statuses_have_terminal_events() {
        for status in <JobStatus as strum::IntoEnumIterator>::iter() {
            assert_eq!(status.is_terminal(), status.terminal_event().is_some());
            if let Some(event) = status.terminal_event() {
                assert!(event.is_terminal());
            }
        }
    }
}
