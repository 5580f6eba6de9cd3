//! Journal retention (runbook "Journal Retention Governance"): pruning
//! removes the before-images of a job's rollback journal, and nothing
//! else, only once both hold: the retention window
//! (`evidence.retention_days` after the job ended) has passed, and an
//! evidence package was exported for the job. Every journal row, linkage
//! id and hash stays, and the job's evidence still verifies afterwards
//! (the journal artifact hashes `before_image_sha256`, never the image).
//! A job whose latest package no longer verifies is left alone: its
//! before-images may be what an integrity investigation needs.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::service::verify_row;
use super::store_sources::StoreSources;
use crate::domain::DomainError;
use crate::store::evidence::PruneRunRow;
use crate::store::ops_figures::JournalOfJob;
use crate::store::Store;

/// What a prune did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Audit id; `None` for a dry run (nothing is recorded).
    pub prune_id: Option<String>,
    pub dry_run: bool,
    pub retention_days: u32,
    /// Jobs whose journal still holds before-images.
    pub jobs_examined: i64,
    pub pruned_job_ids: Vec<String>,
    pub before_images_removed: i64,
    pub bytes_removed: i64,
    /// Jobs still inside their retention window (or not ended).
    pub skipped_retention_not_expired: i64,
    /// Expired jobs without an exported package.
    pub skipped_evidence_not_exported: i64,
    /// Expired, exported jobs whose latest package fails verification.
    pub skipped_evidence_verification_failed: Vec<String>,
}

/// Why a job's before-images stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    Prunable,
    RetentionNotExpired,
    EvidenceNotExported,
}

/// Whether a job's before-images may go, as of `now`.
pub fn eligibility(job: &JournalOfJob, retention_days: u32, now: DateTime<Utc>) -> Eligibility {
    let expires = job
        .finished_at
        .map(|ended| ended + Duration::days(i64::from(retention_days)));
    match expires {
        Some(at) if at <= now => {
            if job.exported {
                Eligibility::Prunable
            } else {
                Eligibility::EvidenceNotExported
            }
        }
        _ => Eligibility::RetentionNotExpired,
    }
}

/// Prunes every eligible job (`ops_admin`); a dry run only reports.
pub async fn prune(
    store: &Store,
    retention_days: u32,
    actor: &str,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<PruneReport, DomainError> {
    let mut report = PruneReport {
        dry_run,
        retention_days,
        ..PruneReport::default()
    };
    let holding: Vec<JournalOfJob> = store
        .journal_of_jobs()
        .await?
        .into_iter()
        .filter(|job| job.before_images > 0)
        .collect();
    report.jobs_examined = holding.len() as i64;
    let sources = StoreSources::new(store.clone());
    for job in &holding {
        match eligibility(job, retention_days, now) {
            Eligibility::RetentionNotExpired => report.skipped_retention_not_expired += 1,
            Eligibility::EvidenceNotExported => report.skipped_evidence_not_exported += 1,
            Eligibility::Prunable => {
                prune_job(store, &sources, job, dry_run, now, &mut report).await?
            }
        }
    }
    if !dry_run {
        record(store, actor, now, &mut report).await?;
    }
    tracing::info!(
        actor,
        dry_run,
        pruned = report.pruned_job_ids.len(),
        bytes = report.bytes_removed,
        "journal prune"
    );
    Ok(report)
}

async fn prune_job(
    store: &Store,
    sources: &StoreSources,
    job: &JournalOfJob,
    dry_run: bool,
    now: DateTime<Utc>,
    report: &mut PruneReport,
) -> Result<(), DomainError> {
    let Some(latest) = store.evidence_package(&job.job_id, None).await? else {
        report.skipped_evidence_not_exported += 1;
        return Ok(());
    };
    if !verify_row(store, sources, &latest, now).await?.verified {
        report
            .skipped_evidence_verification_failed
            .push(job.job_id.clone());
        return Ok(());
    }
    let removed = if dry_run {
        job.before_images
    } else {
        i64::try_from(store.prune_before_images(&job.job_id).await?).unwrap_or(i64::MAX)
    };
    report.pruned_job_ids.push(job.job_id.clone());
    report.before_images_removed += removed;
    report.bytes_removed += job.before_image_bytes;
    Ok(())
}

async fn record(
    store: &Store,
    actor: &str,
    now: DateTime<Utc>,
    report: &mut PruneReport,
) -> Result<(), DomainError> {
    let prune_id = format!("prune_{}", uuid::Uuid::new_v4().simple());
    store
        .insert_journal_prune_run(&PruneRunRow {
            prune_id: prune_id.clone(),
            actor: actor.to_owned(),
            retention_days: i64::from(report.retention_days),
            jobs_examined: report.jobs_examined,
            jobs_pruned: report.pruned_job_ids.len() as i64,
            before_images_removed: report.before_images_removed,
            bytes_removed: report.bytes_removed,
            pruned_job_ids: json!(report.pruned_job_ids),
            skipped: json!({
                "retention_not_expired": report.skipped_retention_not_expired,
                "evidence_not_exported": report.skipped_evidence_not_exported,
                "evidence_verification_failed": report.skipped_evidence_verification_failed,
            }),
            pruned_at: now,
        })
        .await?;
    metrics::counter!("rrs_journal_before_images_pruned_total")
        .increment(u64::try_from(report.before_images_removed).unwrap_or(0));
    report.prune_id = Some(prune_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(now: DateTime<Utc>, ended_days_ago: Option<i64>, exported: bool) -> JournalOfJob {
        JournalOfJob {
            job_id: "j".into(),
            rows: 3,
            before_images: 3,
            before_image_bytes: 300,
            finished_at: ended_days_ago.map(|d| now - Duration::days(d)),
            exported,
        }
    }

    #[test]
    fn both_conditions_must_hold() {
        let now = Utc::now();
        assert_eq!(
            eligibility(&job(now, Some(31), true), 30, now),
            Eligibility::Prunable
        );
        assert_eq!(
            eligibility(&job(now, Some(29), true), 30, now),
            Eligibility::RetentionNotExpired
        );
        assert_eq!(
            eligibility(&job(now, Some(31), false), 30, now),
            Eligibility::EvidenceNotExported
        );
        assert_eq!(
            eligibility(&job(now, None, true), 0, now),
            Eligibility::RetentionNotExpired
        );
        assert_eq!(
            eligibility(&job(now, Some(0), true), 0, now),
            Eligibility::Prunable
        );
    }
}
