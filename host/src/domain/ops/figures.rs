//! What the SLO is measured on, read from the database: execution outcomes
//! and timings (jobs and executions), the freshness of the sources (index
//! partitions and watermarks) and evidence verifications.
//!
//! Each figure comes from one small store query, so a source of data is
//! plugged in (or swapped) here without touching the rules in
//! [`super::slo`]. Windows end now: nothing is stored in the future.

use chrono::{DateTime, Duration, Utc};

use crate::config::SloConfig;
use crate::domain::DomainError;
use crate::policy::{PolicyKind, PolicyRegistry};
use crate::store::ops_figures::SourceCounts;
use crate::store::Store;

/// Executions that ended in a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Ended `completed`.
    pub completed: i64,
    /// Ended `failed` (cancelled jobs are the operator's choice and are
    /// not counted either way).
    pub failed: i64,
}

impl Outcomes {
    /// Executions that ended, completed or failed.
    pub fn total(&self) -> i64 {
        self.completed + self.failed
    }
}

/// Evidence packages and their failed verifications in a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceCounts {
    /// Packages generated in the window.
    pub packages: i64,
    /// Verifications (on read, export or prune) that failed in the window.
    pub failed: i64,
}

/// Everything the checks and the burn rate rest on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurements {
    /// Over the SLO window.
    pub outcomes: Outcomes,
    /// Over the long burn-rate window.
    pub long: Outcomes,
    /// Over the short burn-rate window.
    pub short: Outcomes,
    /// Seconds from creation to start of the jobs started in the window.
    pub queue_waits_seconds: Vec<f64>,
    /// Seconds from the start of execution to the end, of the executions
    /// that ended in the window.
    pub execute_durations_seconds: Vec<f64>,
    /// Executions that ran in the window.
    pub executions: i64,
    /// Of which paused at least once because the token expired.
    pub auth_paused_executions: i64,
    /// Now, whatever the window.
    pub sources: SourceCounts,
    pub evidence: EvidenceCounts,
}

/// The watermark lag beyond which a source is stale: the gate policy's
/// `max_lag_seconds` setting, else the configured fallback.
pub fn max_lag_seconds(policies: &PolicyRegistry, cfg: &SloConfig) -> u64 {
    policies
        .policy(PolicyKind::Gate)
        .and_then(|info| info.settings.get("max_lag_seconds")?.as_u64())
        .unwrap_or(cfg.max_lag_seconds)
}

/// Reads every figure for the windows ending `now`.
pub async fn measure(
    store: &Store,
    cfg: &SloConfig,
    max_lag_seconds: u64,
    now: DateTime<Utc>,
) -> Result<Measurements, DomainError> {
    let since = |seconds: u64| now - Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX));
    let window_start = since(cfg.window_seconds);
    let timings = job_timings(store, window_start).await?;
    Ok(Measurements {
        outcomes: execution_outcomes(store, window_start).await?,
        long: execution_outcomes(store, since(cfg.burn_rate_long_window_seconds)).await?,
        short: execution_outcomes(store, since(cfg.burn_rate_short_window_seconds)).await?,
        queue_waits_seconds: timings.queue_waits_seconds,
        execute_durations_seconds: timings.execute_durations_seconds,
        executions: timings.executions,
        auth_paused_executions: timings.auth_paused_executions,
        sources: source_counts(store, max_lag_seconds, now).await?,
        evidence: evidence_counts(store, window_start).await?,
    })
}

/// The timing figures of jobs and executions in a window.
#[derive(Debug, Clone, Default)]
struct JobTimings {
    queue_waits_seconds: Vec<f64>,
    execute_durations_seconds: Vec<f64>,
    executions: i64,
    auth_paused_executions: i64,
}

/// Executions (jobs that started) that ended since `since`.
async fn execution_outcomes(store: &Store, since: DateTime<Utc>) -> Result<Outcomes, DomainError> {
    let (completed, failed) = store.ended_job_counts(since).await?;
    Ok(Outcomes { completed, failed })
}

/// Queue waits, execution durations and auth pauses since `since`.
async fn job_timings(store: &Store, since: DateTime<Utc>) -> Result<JobTimings, DomainError> {
    let seconds = |(from, to): &(DateTime<Utc>, DateTime<Utc>)| {
        ((*to - *from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6).max(0.0)
    };
    let waits = store.job_start_times(since).await?;
    let spans = store.execution_spans(since).await?;
    let executions = store.execution_counts(since).await?;
    Ok(JobTimings {
        queue_waits_seconds: waits.iter().map(seconds).collect(),
        execute_durations_seconds: spans.iter().map(seconds).collect(),
        executions: executions.ran,
        auth_paused_executions: executions.auth_paused,
    })
}

/// Evidence packages and failed verifications since `since`.
async fn evidence_counts(
    store: &Store,
    since: DateTime<Utc>,
) -> Result<EvidenceCounts, DomainError> {
    let failed = store
        .count_evidence_verification_failures(Some(since))
        .await?;
    Ok(EvidenceCounts {
        packages: store
            .count_evidence_packages_since(since.timestamp_micros())
            .await?,
        failed: i64::try_from(failed).unwrap_or(i64::MAX),
    })
}

/// Stale or unknown sources as of `now`.
async fn source_counts(
    store: &Store,
    max_lag_seconds: u64,
    now: DateTime<Utc>,
) -> Result<SourceCounts, DomainError> {
    let lag_us = i64::try_from(max_lag_seconds)
        .unwrap_or(i64::MAX / 1_000_000)
        .saturating_mul(1_000_000);
    let cut_off = now.timestamp_micros().saturating_sub(lag_us);
    Ok(store.source_counts(cut_off).await?)
}
