//! Putting the sandbox back after a drill: every row the drill's job
//! wrote gets its journaled before-image written back through the target
//! (rows the job created are deleted, updated rows get their old content,
//! deleted rows come back). Images are taken only through
//! `verified_before_image`, so an image changed after it was journaled is
//! refused (`failed_evidence_before_image_mismatch`) rather than written.
//!
//! This is deliberately small and drill-only: a sandbox put back as it
//! was before the drill, page by page of the job's journal.

use std::collections::BTreeMap;

use crate::domain::execute::view::JournalEntry;
use crate::domain::journal::{verified_before_image, WriteBack};
use crate::domain::plan::document::RowAction;
use crate::domain::plan::request::InstanceRef;
use crate::domain::{DomainError, RestoreService};
use crate::target::{ChangeKind, RowChange, RowResult, Target};

/// Journal rows read per page.
const PAGE: u64 = 500;

/// Writes the before-images of `job_id`'s journal back into `sandbox`;
/// returns how many records were put back.
pub async fn put_back(
    svc: &RestoreService,
    sandbox: &InstanceRef,
    job_id: &str,
) -> Result<i64, DomainError> {
    let target = svc.targets.get(&sandbox.tenant_id, &sandbox.instance_id);
    let mut after = 0;
    let mut written = 0;
    loop {
        let rows = svc.store.journal_page(job_id, after, PAGE).await?;
        let Some(last) = rows.last().map(|r| r.plan_row_id) else {
            return Ok(written);
        };
        after = last;
        let mut by_table: BTreeMap<String, BTreeMap<i64, RowChange>> = BTreeMap::new();
        for row in rows {
            let entry = JournalEntry::try_from(row)?;
            let change = undo_of(&entry)?;
            // The first attempt at a row holds the image from before the job.
            by_table
                .entry(entry.table.clone())
                .or_default()
                .entry(entry.plan_row_id)
                .or_insert(change);
        }
        for (table, changes) in by_table {
            let batch: Vec<RowChange> = changes.into_values().collect();
            written += write(target.as_ref(), &table, &batch).await?;
        }
    }
}

/// The change that undoes one journaled row.
fn undo_of(entry: &JournalEntry) -> Result<RowChange, DomainError> {
    let back = verified_before_image(entry).map_err(|refusal| refusal.into_error())?;
    let (kind, payload) = match back {
        WriteBack::NoPriorRecord => (ChangeKind::Delete, None),
        WriteBack::Image(image) if entry.action == RowAction::Delete => {
            (ChangeKind::Create, Some(image.clone()))
        }
        WriteBack::Image(image) => (ChangeKind::Update, Some(image.clone())),
    };
    Ok(RowChange {
        plan_row_id: entry.plan_row_id,
        sys_id: entry.sys_id.clone(),
        kind,
        payload,
    })
}

async fn write(target: &dyn Target, table: &str, batch: &[RowChange]) -> Result<i64, DomainError> {
    let Some(schema) = target.describe_table(table).await? else {
        return Err(DomainError::Internal(format!(
            "the sandbox has no table {table}"
        )));
    };
    let mut written = 0;
    for part in batch.chunks(target.promises().max_batch.max(1)) {
        for (change, result) in part.iter().zip(target.apply(table, &schema, part).await?) {
            match result {
                RowResult::Applied { .. } => written += 1,
                other => {
                    return Err(DomainError::Internal(format!(
                        "putting {table}/{} back: {other:?}",
                        change.sys_id
                    )))
                }
            }
        }
    }
    Ok(written)
}
