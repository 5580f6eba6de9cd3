//! Journal growth for the operations view (runbook "Journal Retention
//! Governance"): rows and before-image bytes per job, and the retention
//! backlog — jobs whose retention window (`evidence.retention_days` after
//! the job ended) has passed while their journal still holds
//! before-images. Of those, the ones with an exported evidence package
//! can be pruned now; the others wait for their export first.

use chrono::{DateTime, Duration, Utc};

use crate::domain::DomainError;
use crate::store::ops_figures::JournalOfJob;
use crate::store::Store;

/// Average and largest of a per-job figure.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PerJob {
    pub avg: f64,
    pub max: i64,
}

/// What the backlog holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Jobs past retention still holding before-images.
    pub jobs: i64,
    /// Their before-images.
    pub before_images: i64,
    /// Their before-image bytes.
    pub before_image_bytes: i64,
    /// Of the jobs, those without an exported evidence package (pruning
    /// waits for the export).
    pub awaiting_export: i64,
}

/// Journal growth as of `computed_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalGrowth {
    pub computed_at: DateTime<Utc>,
    pub retention_days: u32,
    /// Jobs with journal rows.
    pub jobs: i64,
    pub rows_total: i64,
    pub before_image_bytes_total: i64,
    pub rows_per_job: PerJob,
    pub before_image_bytes_per_job: PerJob,
    pub retention_backlog: Backlog,
}

/// Reads the journal figures of every job.
pub async fn journal_growth(
    store: &Store,
    retention_days: u32,
    now: DateTime<Utc>,
) -> Result<JournalGrowth, DomainError> {
    let jobs = store.journal_of_jobs().await?;
    Ok(summarise(&jobs, retention_days, now))
}

/// The figures of a set of jobs' journals.
pub fn summarise(jobs: &[JournalOfJob], retention_days: u32, now: DateTime<Utc>) -> JournalGrowth {
    let expired_before = now - Duration::days(i64::from(retention_days));
    let mut backlog = Backlog::default();
    for job in jobs {
        let expired = job.finished_at.is_some_and(|at| at <= expired_before);
        if expired && job.before_images > 0 {
            backlog.jobs += 1;
            backlog.before_images += job.before_images;
            backlog.before_image_bytes += job.before_image_bytes;
            backlog.awaiting_export += i64::from(!job.exported);
        }
    }
    JournalGrowth {
        computed_at: now,
        retention_days,
        jobs: jobs.len() as i64,
        rows_total: jobs.iter().map(|j| j.rows).sum(),
        before_image_bytes_total: jobs.iter().map(|j| j.before_image_bytes).sum(),
        rows_per_job: per_job(jobs.iter().map(|j| j.rows)),
        before_image_bytes_per_job: per_job(jobs.iter().map(|j| j.before_image_bytes)),
        retention_backlog: backlog,
    }
}

fn per_job(values: impl Iterator<Item = i64> + Clone) -> PerJob {
    let count = values.clone().count();
    if count == 0 {
        return PerJob::default();
    }
    PerJob {
        avg: values.clone().sum::<i64>() as f64 / count as f64,
        max: values.max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(
        id: &str,
        rows: i64,
        images: i64,
        bytes: i64,
        ended_days_ago: Option<i64>,
        exported: bool,
    ) -> JournalOfJob {
        JournalOfJob {
            job_id: id.into(),
            rows,
            before_images: images,
            before_image_bytes: bytes,
            finished_at: ended_days_ago.map(|d| Utc::now() - Duration::days(d)),
            exported,
        }
    }

    #[test]
    fn backlog_is_expired_jobs_still_holding_before_images() {
        let jobs = [
            job("old-exported", 10, 4, 400, Some(40), true),
            job("old-unexported", 6, 2, 100, Some(31), false),
            job("old-pruned", 8, 0, 0, Some(90), true),
            job("young", 20, 20, 2000, Some(1), true),
            job("running", 2, 2, 50, None, false),
        ];
        let growth = summarise(&jobs, 30, Utc::now());
        assert_eq!(growth.jobs, 5);
        assert_eq!(growth.rows_total, 46);
        assert_eq!(growth.before_image_bytes_total, 2550);
        assert_eq!(growth.rows_per_job, PerJob { avg: 9.2, max: 20 });
        assert_eq!(
            growth.retention_backlog,
            Backlog {
                jobs: 2,
                before_images: 6,
                before_image_bytes: 500,
                awaiting_export: 1
            }
        );
    }

    #[test]
    fn no_journal_is_all_zero() {
        let growth = summarise(&[], 365, Utc::now());
        assert_eq!(growth.rows_per_job, PerJob::default());
        assert_eq!(growth.retention_backlog, Backlog::default());
    }
}
