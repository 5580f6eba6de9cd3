//! Execution: applying a running job's plan in chunks, with the checks of
//! the contract's order, a lease that keeps the job executing in one place,
//! pauses at chunk boundaries, resume from the checkpoint, the rollback
//! journal, and media after the rows.

pub mod checks;
pub mod checksums;
mod chunk_loop;
mod finish;
pub mod media;
mod resume;
pub mod revalidate;
mod start;
pub mod view;

use crate::domain::ReasonCode;
use crate::domain::RestoreService;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::capability::{Capability, Principal};
use super::evidence::Evidence;
use super::paging::{Page, PageRequest};
use super::DomainError;
use crate::media_store::MediaStore;
use crate::policy::PolicyRegistry;
use crate::store::execution::ExecutionRow;
use crate::store::Store;

pub use checks::Exercise;
pub use chunk_loop::ExecOutcome;
pub use resume::ResumeExpectation;
pub use view::{Checkpoint, ExecutionView, JournalEntry, JournalPage, MirrorEntry};

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

impl RestoreService {
    /// What an execution needs of the process.
    pub(crate) fn exec_context(&self) -> ExecContext {
        let settings = &self.config.execution;
        ExecContext {
            store: self.store.clone(),
            policies: self.policies.clone(),
            media: self.media.clone(),
            evidence: self.evidence.clone(),
            settings: ExecSettings {
                lease: Duration::from_secs(settings.lease_seconds),
                media_attempts: settings.media_attempts,
                media_backoff: Duration::from_millis(settings.media_backoff_ms),
            },
            shutting_down: self.shutting_down.clone(),
            holder: self.instance_id.clone(),
        }
    }

    /// `GET .../execution`: the document with a page of row outcomes;
    /// `404 execution_not_started` before the first execute.
    pub async fn execution(
        &self,
        principal: &Principal,
        job_id: &str,
        page: PageRequest,
    ) -> Result<ExecutionView, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let exec = self
            .execution_row(principal, job_id, ReasonCode::ExecutionNotStarted)
            .await?;
        view::read(&self.store, &exec, page).await
    }

    /// `GET .../checkpoint`: `404 checkpoint_missing` before execution starts.
    pub async fn checkpoint(
        &self,
        principal: &Principal,
        job_id: &str,
    ) -> Result<Checkpoint, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let exec = self
            .execution_row(principal, job_id, ReasonCode::CheckpointMissing)
            .await?;
        Ok(exec.into())
    }

    async fn execution_row(
        &self,
        principal: &Principal,
        job_id: &str,
        missing: ReasonCode,
    ) -> Result<ExecutionRow, DomainError> {
        let job = super::jobs::visible_row(&self.store, principal, job_id).await?;
        self.store.execution(&job.job_id).await?.ok_or_else(|| {
            DomainError::not_found(missing, format!("job {job_id} has not started executing"))
        })
    }

    /// `GET .../rollback-journal`: both lists paged together by `plan_row_id`.
    pub async fn rollback_journal(
        &self,
        principal: &Principal,
        job_id: &str,
        page: PageRequest,
    ) -> Result<JournalPage, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let store = &self.store;
        let job = super::jobs::visible_row(store, principal, job_id).await?;
        let rows = store
            .journal_page(&job.job_id, page.after, page.fetch())
            .await?
            .into_iter()
            .map(JournalEntry::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let journal = Page::of(rows, page, |j| j.plan_row_id);
        let upto = journal.next_after.unwrap_or(i64::MAX);
        let mirror = store
            .mirror_page(&job.job_id, page.after, page.fetch())
            .await?
            .into_iter()
            .filter(|m| m.plan_row_id <= upto)
            .map(MirrorEntry::from)
            .collect();
        Ok(JournalPage {
            plan_hash: job.plan_hash,
            journal,
            mirror,
        })
    }
}
