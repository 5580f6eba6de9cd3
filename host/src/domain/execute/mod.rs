//! Execution: applying a running job's plan in chunks, with the checks of
//! the contract's order, a lease that keeps the job executing in one place,
//! pauses at chunk boundaries, resume from the checkpoint, the rollback
//! journal, and media after the rows.

pub mod checks;
pub mod checksums;
mod chunk_loop;
mod finish;
pub mod media;
mod remote_chunk;
mod resume;
pub mod revalidate;
mod start;
pub mod view;

use crate::domain::ReasonCode;
use crate::domain::RestoreService;

use super::paging::{Page, PageRequest};
use super::principal::{Capability, Principal};
use super::DomainError;
use crate::store::execution::ExecutionRow;

pub use checks::Exercise;
pub use chunk_loop::ExecOutcome;
pub use resume::ResumeExpectation;
pub use view::{Checkpoint, ExecutionView, JournalEntry, JournalPage, MirrorEntry};

impl RestoreService {
    /// How long an execution lease lives without renewal.
    fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.execution.lease_seconds)
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
