//! The before-image check of a verification: every before-image the
//! journal still holds must hash to its row's `before_image_sha256`, the
//! hash the signed journal artifact covers (see `domain::journal`).
//! Pruned images (null after retention) are not checked: pruning is not
//! tampering.
//!
//! The service checks the images as stored. A package file never carries
//! the images themselves (they are prunable record data and must not
//! outlive retention in downloaded copies); it carries, for each image the
//! service held when it wrote the file, the image's observed hash
//! (`before_image_digests`), and the offline verifier checks each against
//! the journal artifact in the same file, whose hash the signature covers.
//! So a file downloaded after a before-image was changed fails offline as
//! it fails in the service; a file written before the change cannot show
//! it.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::artifact::{Output, PAGE_ROWS};
use super::sources::{EvidenceSources, RetainedBeforeImage};
use super::verify::BeforeImageFindings;
use crate::domain::canonical::{write_raw, write_value};
use crate::domain::journal::before_image_sha256;
use crate::domain::DomainError;

/// One member of a package file's `before_image_digests`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BeforeImageDigest {
    pub journal_id: String,
    pub plan_row_id: Option<i64>,
    /// sha256 of the stored image's canonical JSON when the file was written.
    pub sha256: String,
}

/// Calls `each` on every retained before-image of the job, in journal order.
async fn for_each(
    sources: &dyn EvidenceSources,
    job_id: &str,
    mut each: impl FnMut(&RetainedBeforeImage) -> Result<(), DomainError> + Send,
) -> Result<(), DomainError> {
    let mut after = 0;
    loop {
        let page = sources
            .retained_before_images(job_id, after, PAGE_ROWS)
            .await?;
        for image in &page {
            each(image)?;
        }
        match page.last() {
            Some(last) if page.len() as u64 >= PAGE_ROWS => after = last.plan_row_id,
            _ => return Ok(()),
        }
    }
}

/// Checks every retained before-image of the job as stored.
pub async fn check_stored(
    sources: &dyn EvidenceSources,
    job_id: &str,
) -> Result<BeforeImageFindings, DomainError> {
    let mut findings = BeforeImageFindings::default();
    for_each(sources, job_id, |image| {
        let observed = before_image_sha256(&image.before_image)?;
        findings.record(
            &image.journal_id,
            Some(image.plan_row_id),
            image.before_image_sha256.as_deref(),
            &observed,
        );
        Ok(())
    })
    .await?;
    Ok(findings)
}

/// Writes the `before_image_digests` list of a package file: the observed
/// hash of every retained before-image, never the image.
pub async fn write_digests<W: Output>(
    sources: &dyn EvidenceSources,
    job_id: &str,
    out: &mut W,
) -> Result<(), DomainError> {
    let mut after = 0;
    let mut written = 0u64;
    write_raw(out, b"[")?;
    loop {
        let page = sources
            .retained_before_images(job_id, after, PAGE_ROWS)
            .await?;
        for image in &page {
            let sha256 = before_image_sha256(&image.before_image)?;
            if written > 0 {
                write_raw(out, b",")?;
            }
            written += 1;
            let digest = json!({"journal_id": image.journal_id,
                "plan_row_id": image.plan_row_id, "sha256": sha256});
            write_value(out, &digest)?;
        }
        out.page_done().await?;
        match page.last() {
            Some(last) if page.len() as u64 >= PAGE_ROWS => after = last.plan_row_id,
            _ => break,
        }
    }
    write_raw(out, b"]")
}

/// Checks a package file's `before_image_digests` against the
/// `before_image_sha256` of the journal rows in its `rollback_journal`
/// artifact. A digest naming no journal row is a mismatch too.
pub fn check_file(
    journal_artifact: Option<&Value>,
    digests: &[BeforeImageDigest],
) -> BeforeImageFindings {
    let rows = journal_artifact
        .and_then(|a| a.get("rollback_journal"))
        .and_then(Value::as_array);
    let expected: HashMap<&str, Option<&str>> = rows
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let id = row.get("journal_id")?.as_str()?;
            Some((id, row.get("before_image_sha256").and_then(Value::as_str)))
        })
        .collect();
    let mut findings = BeforeImageFindings::default();
    for digest in digests {
        let signed = expected.get(digest.journal_id.as_str()).copied().flatten();
        findings.record(
            &digest.journal_id,
            digest.plan_row_id,
            signed,
            &digest.sha256,
        );
    }
    findings
}
