//! The read-outs of the operations view, each gathered from the database,
//! evaluated, and published to `/metrics` on the way out; and the task
//! that refreshes them for scrapes between reads.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::controls::{self, Switch};
use super::journal::{self, JournalGrowth};
use super::readiness::{self, Readiness, ReadinessInputs};
use super::slo::{self, SloReport};
use super::{figures, gauges};
use crate::config::{Config, SloConfig};
use crate::domain::drills;
use crate::domain::principal::{Capability, Principal};
use crate::domain::{DomainError, RestoreService};
use crate::policy::PolicyRegistry;
use crate::store::Store;

impl RestoreService {
    /// `GET /v1/admin/ops/slo`: the SLO burn-rate view as of `now`.
    pub async fn slo_report(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<SloReport, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let mut report = slo_report(&self.store, &self.policies, &self.config.slo, now).await?;
        let objective = self.config.drills.recovery_time_objective_seconds;
        report.drill_recovery = Some(drills::recovery::measure(&self.store, objective).await?);
        Ok(report)
    }

    /// `GET /v1/admin/ops/ga-readiness`: the GA gate as of `now`.
    pub async fn ga_readiness(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<Readiness, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        ga_readiness(&self.store, &self.policies, &self.config, now).await
    }

    /// `GET /v1/admin/ops/journal-growth`: journal growth and the
    /// retention backlog as of `now`.
    pub async fn journal_growth(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<JournalGrowth, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let retention_days = self.config.evidence.retention_days;
        let growth = journal::journal_growth(&self.store, retention_days, now).await?;
        gauges::publish_journal(&growth);
        Ok(growth)
    }
}

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
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Readiness, DomainError> {
    let slo = slo_report(store, policies, &config.slo, now).await?;
    let window = config.drills.readiness_window_days;
    let restore_drills = drills::readiness::standing(store, window, now).await?;
    let staging_mode = controls::switch_state(store, Switch::StagingMode).await?;
    let runbooks_signoff = controls::switch_state(store, Switch::RunbooksSignoff).await?;
    let drills = controls::drills(store).await?;
    let verdict = readiness::evaluate(&ReadinessInputs {
        staging_mode: &staging_mode,
        runbooks_signoff: &runbooks_signoff,
        drills: &drills,
        slo: &slo,
        restore_drills: &restore_drills,
    });
    gauges::publish_readiness(&verdict);
    Ok(verdict)
}

/// Refreshes the gauges now and then every `metrics_refresh_seconds`
/// (never when 0) until the returned task is aborted. A failed refresh is
/// logged and retried at the next tick.
pub fn spawn_refresher(
    store: Store,
    policies: PolicyRegistry,
    config: Config,
) -> tokio::task::JoinHandle<()> {
    let cfg = config.slo.clone();
    gauges::describe();
    tokio::spawn(async move {
        if cfg.metrics_refresh_seconds == 0 {
            return;
        }
        let mut ticker = tokio::time::interval(Duration::from_secs(cfg.metrics_refresh_seconds));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = ga_readiness(&store, &policies, &config, Utc::now()).await {
                tracing::warn!(%error, "cannot refresh the operations gauges");
            }
        }
    })
}
