//! Execution: applying a running job's plan in chunks, with the checks of
//! the contract's order, a lease that keeps the job executing in one place,
//! pauses at chunk boundaries, resume from the checkpoint, the rollback
//! journal, and media after the rows.

pub mod checks;
pub mod checksums;
pub mod engine;
pub mod media;
pub mod revalidate;
pub mod view;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::capability::Principal;
use super::evidence::Evidence;
use super::DomainError;
use crate::media_store::MediaStore;
use crate::policy::PolicyRegistry;
use crate::store::Store;

pub use checks::Exercise;
pub use engine::{execute, resume, ExecOutcome, ResumeExpectation};

/// Execution settings (`[execution]`).
#[derive(Debug, Clone, Copy)]
pub struct ExecSettings {
    /// How long a lease lives without renewal (a crashed holder's lease
    /// expires after this).
    pub lease: Duration,
    /// Media store reads per candidate before `failed_media_retry_exhausted`.
    pub media_attempts: u32,
    /// Pause between media retries (multiplied by the attempt number).
    pub media_backoff: Duration,
}

/// What an execution needs of the process.
#[derive(Clone)]
pub struct ExecContext {
    pub store: Store,
    pub policies: PolicyRegistry,
    pub media: MediaStore,
    pub evidence: Arc<Evidence>,
    pub settings: ExecSettings,
    /// Set when the server is shutting down: executions pause at the next
    /// chunk boundary.
    pub shutting_down: Arc<AtomicBool>,
    /// This process's lease holder id.
    pub holder: String,
}

/// `GET .../execution`: the document with a page of row outcomes.
pub async fn read(
    store: &Store,
    principal: &Principal,
    job_id: &str,
    after: i64,
    limit: u64,
) -> Result<view::ExecutionView, DomainError> {
    let job = super::jobs::visible_row(store, principal, job_id).await?;
    let exec = store.execution(&job.job_id).await?.ok_or_else(|| {
        DomainError::not_found(
            "execution_not_started",
            format!("job {job_id} has not started executing"),
        )
    })?;
    view::read(store, &exec, after, limit).await
}

/// `GET .../checkpoint`: `404 checkpoint_missing` before execution starts.
pub async fn checkpoint(
    store: &Store,
    principal: &Principal,
    job_id: &str,
) -> Result<crate::store::execution::ExecutionRow, DomainError> {
    let job = super::jobs::visible_row(store, principal, job_id).await?;
    store.execution(&job.job_id).await?.ok_or_else(|| {
        DomainError::not_found(
            "checkpoint_missing",
            format!("job {job_id} has no checkpoint"),
        )
    })
}

/// A page of a job's rollback journal and SN mirror.
pub struct JournalPage {
    pub plan_hash: String,
    pub journal: Vec<crate::store::journal::JournalRow>,
    pub mirror: Vec<crate::store::journal::MirrorRow>,
    /// The last `plan_row_id` served when more rows follow.
    pub next_after: Option<i64>,
}

/// `GET .../rollback-journal`: both lists paged together by `plan_row_id`.
pub async fn journal(
    store: &Store,
    principal: &Principal,
    job_id: &str,
    after: i64,
    limit: u64,
) -> Result<JournalPage, DomainError> {
    let job = super::jobs::visible_row(store, principal, job_id).await?;
    let mut journal = store.journal_page(&job.job_id, after, limit + 1).await?;
    let next_after = if journal.len() as u64 > limit {
        journal.truncate(limit as usize);
        journal.last().map(|j| j.plan_row_id)
    } else {
        None
    };
    let upto = next_after.unwrap_or(i64::MAX);
    let mirror = store
        .mirror_page(&job.job_id, after, limit + 1)
        .await?
        .into_iter()
        .filter(|m| m.plan_row_id <= upto)
        .collect();
    Ok(JournalPage {
        plan_hash: job.plan_hash,
        journal,
        mirror,
        next_after,
    })
}
