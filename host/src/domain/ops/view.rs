//! The two read-outs of the operations view, each gathered from the
//! database, evaluated, and published to `/metrics` on the way out.

use chrono::{DateTime, Utc};

use super::controls::{self, Switch};
use super::journal::{self, JournalGrowth};
use super::readiness::{self, Readiness, ReadinessInputs};
use super::slo::{self, SloReport};
use super::{figures, gauges};
use crate::config::SloConfig;
use crate::domain::DomainError;
use crate::policy::PolicyRegistry;
use crate::store::Store;

/// The SLO burn-rate view as of `now`.
pub async fn slo_report(
    store: &Store,
    policies: &PolicyRegistry,
    cfg: &SloConfig,
    now: DateTime<Utc>,
) -> Result<SloReport, DomainError> {
    let max_lag = figures::max_lag_seconds(policies, cfg);
    let measurements = figures::measure(store, cfg, max_lag, now).await?;
    let report = slo::evaluate(&measurements, cfg, now);
    gauges::publish_slo(&report);
    Ok(report)
}

/// The GA readiness gate as of `now`.
pub async fn ga_readiness(
    store: &Store,
    policies: &PolicyRegistry,
    cfg: &SloConfig,
    now: DateTime<Utc>,
) -> Result<Readiness, DomainError> {
    let slo = slo_report(store, policies, cfg, now).await?;
    let staging_mode = controls::switch_state(store, Switch::StagingMode).await?;
    let runbooks_signoff = controls::switch_state(store, Switch::RunbooksSignoff).await?;
    let drills = controls::drills(store).await?;
    let verdict = readiness::evaluate(&ReadinessInputs {
        staging_mode: &staging_mode,
        runbooks_signoff: &runbooks_signoff,
        drills: &drills,
        slo: &slo,
    });
    gauges::publish_readiness(&verdict);
    Ok(verdict)
}

/// Journal growth and the retention backlog as of `now`.
pub async fn journal_growth(
    store: &Store,
    retention_days: u32,
    now: DateTime<Utc>,
) -> Result<JournalGrowth, DomainError> {
    let growth = journal::journal_growth(store, retention_days, now).await?;
    gauges::publish_journal(&growth);
    Ok(growth)
}
