//! The SLO burn-rate view: six checks over a configured window and the
//! multi-window error-budget burn rate of the execute success objective.
//!
//! [`evaluate`] is a pure function of [`Measurements`] (what
//! [`super::figures::measure`] read from the database) and the configured
//! targets, so the rules are tested without a database. A check with no
//! samples in the window reports `observed = None` and passes: nothing was
//! measured, so no budget was spent. Count checks always report their
//! count.
//!
//! The burn rate (Google SRE workbook, "Alerting on SLOs"): the error ratio
//! of a window divided by the error budget (one minus the objective). 1
//! spends the budget exactly over the SLO window; a fast burn is signalled
//! only when both the long and the short window exceed the threshold, so a
//! burst that already stopped (long high, short low) does not page and a
//! single failure in a quiet minute (short high, long low) does not either.

use chrono::{DateTime, Utc};

use super::figures::{Measurements, Outcomes};
use crate::config::SloConfig;
use crate::domain::drills::recovery::DrillRecovery;

/// How bad a failed check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// A failed critical check makes the status `breached`.
    Critical,
    /// A failed warning check makes the status `at_risk`.
    Warning,
}

/// Which side of the target passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Passes when `observed >= target`.
    AtLeast,
    /// Passes when `observed <= target`.
    AtMost,
}

/// The overall state of the SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum SloStatus {
    WithinBudget,
    AtRisk,
    Breached,
}

impl SloStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Check names, as on the wire.
pub const EXECUTE_SUCCESS_RATE: &str = "execute_success_rate";
pub const STALE_SOURCE_COUNT: &str = "stale_source_count";
pub const EVIDENCE_VERIFICATION_FAILED: &str = "evidence_verification_failed";
pub const QUEUE_WAIT_P95_SECONDS: &str = "queue_wait_p95_seconds";
pub const EXECUTE_DURATION_P95_SECONDS: &str = "execute_duration_p95_seconds";
pub const AUTH_PAUSE_RATE: &str = "auth_pause_rate";

/// One check of the burn-rate view.
#[derive(Debug, Clone, PartialEq)]
pub struct SloCheck {
    pub name: &'static str,
    pub severity: Severity,
    pub objective: Objective,
    /// None when nothing was measured in the window.
    pub observed: Option<f64>,
    pub target: f64,
    pub passed: bool,
    /// How many measurements the figure rests on.
    pub samples: i64,
}

/// The burn rate over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnWindow {
    /// `long`, `short` or `slo` (the whole SLO window).
    pub name: &'static str,
    pub window_seconds: u64,
    /// Executions that ended in the window.
    pub total: i64,
    /// Of which failed.
    pub failed: i64,
    /// Error ratio over error budget; None without executions.
    pub burn_rate: Option<f64>,
}

/// The error budget of the execute success objective and how fast it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBudget {
    pub objective: &'static str,
    pub target: f64,
    /// One minus the target: the share of executions allowed to fail.
    pub budget: f64,
    pub threshold: f64,
    /// The long and the short window, in that order.
    pub windows: Vec<BurnWindow>,
    /// The burn rate over the whole SLO window.
    pub slo_window: BurnWindow,
    /// Share of the window's budget left (1 - its burn rate; negative once
    /// overspent); None without executions.
    pub budget_remaining: Option<f64>,
    /// Both the long and the short window burn faster than the threshold.
    pub fast_burn: bool,
}

/// The whole burn-rate view.
#[derive(Debug, Clone, PartialEq)]
pub struct SloReport {
    pub window_seconds: u64,
    pub computed_at: DateTime<Utc>,
    pub status: SloStatus,
    pub checks: Vec<SloCheck>,
    pub failed_checks: Vec<&'static str>,
    pub error_budget: ErrorBudget,
    /// What restore drills measured against the recovery time objective
    /// (read beside the checks; it does not change the SLO status).
    pub drill_recovery: Option<DrillRecovery>,
}

impl SloReport {
    /// The check with this name.
    pub fn check(&self, name: &str) -> Option<&SloCheck> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// Applies the targets to the measurements.
pub fn evaluate(m: &Measurements, cfg: &SloConfig, now: DateTime<Utc>) -> SloReport {
    let checks = checks(m, cfg);
    let failed_checks: Vec<&'static str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    let failed = |severity| checks.iter().any(|c| !c.passed && c.severity == severity);
    let status = if failed(Severity::Critical) {
        SloStatus::Breached
    } else if failed(Severity::Warning) {
        SloStatus::AtRisk
    } else {
        SloStatus::WithinBudget
    };
    SloReport {
        window_seconds: cfg.window_seconds,
        computed_at: now,
        status,
        checks,
        failed_checks,
        error_budget: error_budget(m, cfg),
        drill_recovery: None,
    }
}

fn checks(m: &Measurements, cfg: &SloConfig) -> Vec<SloCheck> {
    let o = &m.outcomes;
    vec![
        check(
            EXECUTE_SUCCESS_RATE,
            Severity::Critical,
            Objective::AtLeast,
            ratio(o.completed, o.total()),
            cfg.execute_success_rate_min,
            o.total(),
        ),
        check(
            STALE_SOURCE_COUNT,
            Severity::Critical,
            Objective::AtMost,
            Some((m.sources.unknown + m.sources.stale) as f64),
            cfg.stale_source_count_max as f64,
            m.sources.sources,
        ),
        check(
            EVIDENCE_VERIFICATION_FAILED,
            Severity::Critical,
            Objective::AtMost,
            Some(m.evidence.failed as f64),
            cfg.evidence_verification_failed_max as f64,
            m.evidence.packages,
        ),
        check(
            QUEUE_WAIT_P95_SECONDS,
            Severity::Warning,
            Objective::AtMost,
            p95(&m.queue_waits_seconds),
            cfg.queue_wait_p95_seconds_max,
            m.queue_waits_seconds.len() as i64,
        ),
        check(
            EXECUTE_DURATION_P95_SECONDS,
            Severity::Warning,
            Objective::AtMost,
            p95(&m.execute_durations_seconds),
            cfg.execute_duration_p95_seconds_max,
            m.execute_durations_seconds.len() as i64,
        ),
        check(
            AUTH_PAUSE_RATE,
            Severity::Warning,
            Objective::AtMost,
            ratio(m.auth_paused_executions, m.executions),
            cfg.auth_pause_rate_max,
            m.executions,
        ),
    ]
}

fn check(
    name: &'static str,
    severity: Severity,
    objective: Objective,
    observed: Option<f64>,
    target: f64,
    samples: i64,
) -> SloCheck {
    let passed = match (observed, objective) {
        (None, _) => true,
        (Some(value), Objective::AtLeast) => value >= target,
        (Some(value), Objective::AtMost) => value <= target,
    };
    SloCheck {
        name,
        severity,
        objective,
        observed,
        target,
        passed,
        samples,
    }
}

fn error_budget(m: &Measurements, cfg: &SloConfig) -> ErrorBudget {
    let budget = 1.0 - cfg.execute_success_rate_min;
    let window = |name, window_seconds, o: &Outcomes| BurnWindow {
        name,
        window_seconds,
        total: o.total(),
        failed: o.failed,
        burn_rate: burn_rate(o, budget),
    };
    let long = window("long", cfg.burn_rate_long_window_seconds, &m.long);
    let short = window("short", cfg.burn_rate_short_window_seconds, &m.short);
    let slo_window = window("slo", cfg.window_seconds, &m.outcomes);
    let above = |w: &BurnWindow| w.burn_rate.is_some_and(|r| r > cfg.burn_rate_threshold);
    ErrorBudget {
        objective: EXECUTE_SUCCESS_RATE,
        target: cfg.execute_success_rate_min,
        budget,
        threshold: cfg.burn_rate_threshold,
        fast_burn: above(&long) && above(&short),
        budget_remaining: slo_window.burn_rate.map(|r| 1.0 - r),
        windows: vec![long, short],
        slo_window,
    }
}

/// Error ratio over budget; a zero budget (a 100% objective) is overspent
/// by any failure, which is reported as the number of failures.
fn burn_rate(o: &Outcomes, budget: f64) -> Option<f64> {
    let error_ratio = ratio(o.failed, o.total())?;
    if budget > 0.0 {
        Some(error_ratio / budget)
    } else {
        Some(o.failed as f64)
    }
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The nearest-rank 95th percentile; None for no samples.
pub fn p95(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (0.95 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ops::figures::EvidenceCounts;
    use crate::store::ops_figures::SourceCounts;

    fn quiet() -> Measurements {
        Measurements::default()
    }

    fn report(m: &Measurements) -> SloReport {
        evaluate(m, &SloConfig::default(), Utc::now())
    }

    #[test]
    fn no_data_passes_and_reports_null() {
        let r = report(&quiet());
        assert_eq!(r.status, SloStatus::WithinBudget);
        assert!(r.failed_checks.is_empty());
        let rate = r.check(EXECUTE_SUCCESS_RATE).unwrap();
        assert_eq!((rate.observed, rate.samples, rate.passed), (None, 0, true));
        assert_eq!(r.check(STALE_SOURCE_COUNT).unwrap().observed, Some(0.0));
        assert_eq!(r.error_budget.windows[0].burn_rate, None);
        assert!(!r.error_budget.fast_burn);
    }

    #[test]
    fn failed_critical_breaches_and_failed_warning_is_at_risk() {
        let mut m = quiet();
        m.queue_waits_seconds = vec![1.0, 2.0, 400.0];
        let r = report(&m);
        assert_eq!(r.status, SloStatus::AtRisk);
        assert_eq!(r.failed_checks, vec![QUEUE_WAIT_P95_SECONDS]);
        m.sources = SourceCounts {
            sources: 3,
            unknown: 1,
            stale: 1,
        };
        let r = report(&m);
        assert_eq!(r.status, SloStatus::Breached);
        assert_eq!(
            r.failed_checks,
            vec![STALE_SOURCE_COUNT, QUEUE_WAIT_P95_SECONDS]
        );
        assert_eq!(r.check(STALE_SOURCE_COUNT).unwrap().observed, Some(2.0));
    }

    #[test]
    fn success_rate_and_auth_pauses_against_targets() {
        let mut m = quiet();
        m.outcomes = Outcomes {
            completed: 99,
            failed: 1,
        };
        m.executions = 100;
        m.auth_paused_executions = 5;
        assert_eq!(report(&m).status, SloStatus::WithinBudget);
        m.outcomes.failed = 2;
        m.auth_paused_executions = 6;
        let r = report(&m);
        assert_eq!(r.failed_checks, vec![EXECUTE_SUCCESS_RATE, AUTH_PAUSE_RATE]);
        m.outcomes.failed = 0;
        m.evidence = EvidenceCounts {
            packages: 4,
            failed: 1,
        };
        assert_eq!(report(&m).status, SloStatus::Breached);
    }

    #[test]
    fn fast_burn_needs_both_windows() {
        let mut m = quiet();
        // 20% failing against a 1% budget: burn rate 20 > 14.4.
        m.long = Outcomes {
            completed: 8,
            failed: 2,
        };
        m.short = Outcomes {
            completed: 10,
            failed: 0,
        };
        let r = report(&m);
        let long = r.error_budget.windows[0].burn_rate.unwrap();
        assert!((long - 20.0).abs() < 1e-9, "{long}");
        assert!(!r.error_budget.fast_burn);
        m.short = m.long.clone();
        assert!(report(&m).error_budget.fast_burn);
    }

    #[test]
    fn budget_remaining_goes_negative_when_overspent() {
        let mut m = quiet();
        m.outcomes = Outcomes {
            completed: 97,
            failed: 3,
        };
        let remaining = report(&m).error_budget.budget_remaining.unwrap();
        assert!((remaining + 2.0).abs() < 1e-9, "{remaining}");
    }

    #[test]
    fn p95_is_nearest_rank() {
        assert_eq!(p95(&[]), None);
        assert_eq!(p95(&[3.0]), Some(3.0));
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p95(&hundred), Some(95.0));
        assert_eq!(p95(&[5.0, 1.0]), Some(5.0));
    }
}
