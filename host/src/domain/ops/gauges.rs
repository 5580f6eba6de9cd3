//! The operations figures on `/metrics`, so an existing Prometheus and its
//! alert rules can use them: set whenever the view is computed, and by a
//! background refresh every `slo.metrics_refresh_seconds`.
//!
//! Gauges (a check with no data is NaN, which no alert comparison matches):
//! - `rrs_slo_status`: 0 `within_budget`, 1 `at_risk`, 2 `breached`;
//! - `rrs_slo_check_observed{check,severity}`, `rrs_slo_check_target{check}`,
//!   `rrs_slo_check_passed{check}` (1 or 0), `rrs_slo_check_samples{check}`;
//! - `rrs_slo_error_budget_burn_rate{window="long"|"short"|"slo"}`,
//!   `rrs_slo_error_budget_remaining`, `rrs_slo_fast_burn` (1 or 0);
//! - `rrs_ga_ready` (1 or 0), `rrs_ga_check_passed{check}`;
//! - journal growth, set when it is read (it scans the journal):
//!   `rrs_journal_rows`, `rrs_journal_before_image_bytes`,
//!   `rrs_journal_rows_per_job_max`, `rrs_journal_retention_backlog_jobs`,
//!   `rrs_journal_retention_backlog_bytes`,
//!   `rrs_journal_retention_awaiting_export_jobs`.

use metrics::{describe_gauge, gauge};

use super::journal::JournalGrowth;
use super::readiness::Readiness;
use super::slo::{Severity, SloReport, SloStatus};

fn flag(value: bool) -> f64 {
    if value {
        1.0
    } else {
        0.0
    }
}

/// Sets the SLO gauges from a computed report.
pub fn publish_slo(report: &SloReport) {
    let status = match report.status {
        SloStatus::WithinBudget => 0.0,
        SloStatus::AtRisk => 1.0,
        SloStatus::Breached => 2.0,
    };
    gauge!("rrs_slo_status").set(status);
    for check in &report.checks {
        let severity = match check.severity {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        };
        gauge!("rrs_slo_check_observed", "check" => check.name, "severity" => severity)
            .set(check.observed.unwrap_or(f64::NAN));
        gauge!("rrs_slo_check_target", "check" => check.name).set(check.target);
        gauge!("rrs_slo_check_passed", "check" => check.name).set(flag(check.passed));
        gauge!("rrs_slo_check_samples", "check" => check.name).set(check.samples as f64);
    }
    let budget = &report.error_budget;
    for window in budget.windows.iter().chain([&budget.slo_window]) {
        gauge!("rrs_slo_error_budget_burn_rate", "window" => window.name)
            .set(window.burn_rate.unwrap_or(f64::NAN));
    }
    gauge!("rrs_slo_error_budget_remaining").set(budget.budget_remaining.unwrap_or(f64::NAN));
    gauge!("rrs_slo_fast_burn").set(flag(budget.fast_burn));
}

/// Sets the GA readiness gauges from a verdict.
pub fn publish_readiness(verdict: &Readiness) {
    gauge!("rrs_ga_ready").set(flag(verdict.ready));
    for check in &verdict.checks {
        gauge!("rrs_ga_check_passed", "check" => check.name).set(flag(check.passed));
    }
}

/// Sets the journal growth gauges.
pub fn publish_journal(growth: &JournalGrowth) {
    let backlog = &growth.retention_backlog;
    gauge!("rrs_journal_rows").set(growth.rows_total as f64);
    gauge!("rrs_journal_before_image_bytes").set(growth.before_image_bytes_total as f64);
    gauge!("rrs_journal_rows_per_job_max").set(growth.rows_per_job.max as f64);
    gauge!("rrs_journal_retention_backlog_jobs").set(backlog.jobs as f64);
    gauge!("rrs_journal_retention_backlog_bytes").set(backlog.before_image_bytes as f64);
    gauge!("rrs_journal_retention_awaiting_export_jobs").set(backlog.awaiting_export as f64);
}

pub fn describe() {
    describe_gauge!(
        "rrs_slo_status",
        "SLO burn-rate status: 0 within_budget, 1 at_risk, 2 breached"
    );
    describe_gauge!(
        "rrs_slo_check_observed",
        "Observed value of an SLO check (NaN: no data)"
    );
    describe_gauge!("rrs_slo_check_target", "Target of an SLO check");
    describe_gauge!(
        "rrs_slo_check_passed",
        "Whether an SLO check passed (1) or failed (0)"
    );
    describe_gauge!(
        "rrs_slo_check_samples",
        "Measurements an SLO check rests on"
    );
    describe_gauge!(
        "rrs_slo_error_budget_burn_rate",
        "Error-budget burn rate of execute success per window"
    );
    describe_gauge!(
        "rrs_slo_error_budget_remaining",
        "Share of the SLO window's error budget left"
    );
    describe_gauge!(
        "rrs_slo_fast_burn",
        "1 when both burn-rate windows exceed the threshold"
    );
    describe_gauge!("rrs_ga_ready", "1 when the GA readiness gate is open");
    describe_gauge!("rrs_ga_check_passed", "Whether a GA readiness check passed");
    describe_gauge!("rrs_journal_rows", "Rollback journal rows of every job");
    describe_gauge!(
        "rrs_journal_before_image_bytes",
        "Bytes of retained before-images"
    );
    describe_gauge!(
        "rrs_journal_rows_per_job_max",
        "Journal rows of the largest job"
    );
    describe_gauge!(
        "rrs_journal_retention_backlog_jobs",
        "Jobs past retention holding before-images"
    );
    describe_gauge!(
        "rrs_journal_retention_backlog_bytes",
        "Before-image bytes past retention"
    );
    describe_gauge!(
        "rrs_journal_retention_awaiting_export_jobs",
        "Backlog jobs without an evidence export"
    );
}
