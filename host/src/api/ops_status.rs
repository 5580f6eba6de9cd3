//! `/v1/admin/ops/slo`, `/v1/admin/ops/ga-readiness` and
//! `/v1/admin/ops/journal-growth`: whether the service is healthy, ready
//! for general availability, and how its rollback journal grows, computed
//! from its own data on every call. `ops_admin`.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;

use super::error::ApiResult;
use super::security::BearerAuth;
use super::types::Timestamp;
use super::ApiTags;
use crate::domain::drills::recovery::DrillRecovery;
use crate::domain::ops::journal::{Backlog, JournalGrowth, PerJob};
use crate::domain::ops::readiness::{Readiness, ReadinessCheck};
use crate::domain::ops::slo::{
    BurnWindow, ErrorBudget, Objective, Severity, SloCheck, SloReport, SloStatus,
};
use crate::domain::RestoreService;

/// Operations status endpoints.
pub struct OpsStatusApi;

/// The SLO's state: `within_budget` (every check passed), `at_risk` (a
/// warning check failed, no critical one) or `breached` (a critical check
/// failed).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "SloStatus")]
pub enum SloStatusName {
    WithinBudget,
    AtRisk,
    Breached,
}

/// How bad a failed check is: `critical` makes the status `breached`,
/// `warning` makes it `at_risk`.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "Severity")]
pub enum SeverityName {
    Critical,
    Warning,
}

/// Which side of the target passes: `at_least` (observed >= target) or
/// `at_most` (observed <= target).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "Objective")]
pub enum ObjectiveName {
    AtLeast,
    AtMost,
}

/// One check of the SLO.
///
/// Critical: `execute_success_rate` (share of executions that ended
/// `completed` among those that ended `completed` or `failed` in the
/// window; cancelled jobs do not count), `stale_source_count` (source
/// partitions, now, whose watermark lags by more than the gate policy's
/// `max_lag_seconds` or that carry index records but have no watermark),
/// `evidence_verification_failed` (evidence package verifications that
/// failed in the window). Warning: `queue_wait_p95_seconds` (p95 of
/// creation-to-start of jobs started in the window),
/// `execute_duration_p95_seconds` (p95 of start-to-end of executions that
/// ended in the window), `auth_pause_rate` (share of executions in the
/// window paused by an expired token).
///
/// No data: a rate or percentile check with nothing to measure in the
/// window reports `observed = null`, `samples = 0` and `passed = true`
/// (nothing was measured, so no budget was spent). The count checks
/// (`stale_source_count`, `evidence_verification_failed`) always report
/// their count, 0 when there is nothing to count.
#[derive(Debug, Object)]
pub struct SloCheckBody {
    /// The check.
    pub name: String,
    /// How bad its failure is.
    pub severity: SeverityName,
    /// Which side of the target passes.
    pub objective: ObjectiveName,
    /// The measured value; null when there was nothing to measure.
    pub observed: Option<f64>,
    /// The configured target.
    pub target: f64,
    /// Whether the check passed.
    pub passed: bool,
    /// How many things the value rests on: executions that ended
    /// (`execute_success_rate`, `execute_duration_p95_seconds`), source
    /// partitions known (`stale_source_count`), evidence packages generated
    /// (`evidence_verification_failed`), jobs started
    /// (`queue_wait_p95_seconds`), executions that ran (`auth_pause_rate`).
    pub samples: i64,
}

/// The error-budget burn rate over one window.
#[derive(Debug, Object)]
pub struct BurnWindowBody {
    /// `long`, `short`, or `slo` (the whole SLO window).
    pub name: String,
    /// Length of the window, ending now.
    pub window_seconds: u64,
    /// Executions that ended (`completed` or `failed`) in the window.
    pub total: i64,
    /// Of which ended `failed`.
    pub failed: i64,
    /// Error ratio divided by the error budget: 1 spends the budget exactly
    /// over the SLO window, 14.4 spends 2% of a 30-day budget in an hour.
    /// Null when no execution ended in the window.
    pub burn_rate: Option<f64>,
}

/// How fast the error budget of `execute_success_rate` goes, in the manner
/// of multi-window burn-rate alerting: a fast burn is signalled only when
/// both the long and the short window burn faster than `threshold`.
#[derive(Debug, Object)]
pub struct ErrorBudgetBody {
    /// The objective the budget belongs to (`execute_success_rate`).
    pub objective: String,
    /// The objective's target.
    pub target: f64,
    /// One minus the target: the share of executions allowed to fail.
    pub budget: f64,
    /// The burn rate both windows must exceed for `fast_burn`.
    pub threshold: f64,
    /// The long and the short window, in that order.
    pub windows: Vec<BurnWindowBody>,
    /// The burn rate over the whole SLO window.
    pub slo_window: BurnWindowBody,
    /// Share of the SLO window's budget left: 1 minus its burn rate,
    /// negative once overspent; null when no execution ended in it.
    pub budget_remaining: Option<f64>,
    /// Both windows burn faster than the threshold: page someone.
    pub fast_burn: bool,
}

/// The burn-rate verdict.
#[derive(Debug, Object)]
pub struct BurnRateBody {
    /// `breached` if a critical check failed, else `at_risk` if a warning
    /// check failed, else `within_budget`.
    pub status: SloStatusName,
    /// Every check, critical first.
    pub checks: Vec<SloCheckBody>,
    /// Names of the checks that failed.
    pub failed_checks: Vec<String>,
    /// The error budget and its multi-window burn rate.
    pub error_budget: ErrorBudgetBody,
}

/// The SLO view.
#[derive(Debug, Object)]
pub struct SloView {
    /// The window the checks are measured over (configuration
    /// `slo.window_seconds`), ending at `computed_at`.
    pub window_seconds: u64,
    /// When the figures were read.
    pub computed_at: Timestamp,
    /// The verdict and its checks.
    pub burn_rate: BurnRateBody,
    /// The recovery time restore drills measured, against the configured
    /// objective (`drills.recovery_time_objective_seconds`); informational,
    /// it does not change `burn_rate.status`.
    pub drill_recovery_time: Option<DrillRecoveryBody>,
}

/// What restore drills measured against the recovery time objective.
#[derive(Debug, Object)]
pub struct DrillRecoveryBody {
    /// The configured objective, in seconds.
    pub objective_seconds: f64,
    /// Whether every tenant's latest measured restore met it.
    pub within_objective: bool,
    /// Each tenant's latest drill that restored (passed or failed).
    pub tenants: Vec<TenantRecoveryBody>,
}

/// One tenant's latest measured drill restore.
#[derive(Debug, Object)]
pub struct TenantRecoveryBody {
    /// The tenant.
    pub tenant_id: String,
    /// The drill run.
    pub run_id: String,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// Measured recovery time: the restore's wall time, in seconds.
    pub restore_seconds: f64,
    /// Rows restored per second.
    pub rows_per_second: Option<f64>,
    /// Measured recovery point: the watermark lag of the PIT, in seconds.
    pub recovery_point_seconds: Option<f64>,
    /// Whether `restore_seconds` is within the objective.
    pub within_objective: bool,
}

impl From<DrillRecovery> for DrillRecoveryBody {
    fn from(r: DrillRecovery) -> Self {
        Self {
            objective_seconds: r.objective_seconds,
            within_objective: r.within_objective,
            tenants: r
                .tenants
                .into_iter()
                .map(|t| TenantRecoveryBody {
                    tenant_id: t.tenant_id,
                    run_id: t.run_id,
                    finished_at: t.finished_at.map(Into::into),
                    restore_seconds: t.restore_seconds,
                    rows_per_second: t.rows_per_second,
                    recovery_point_seconds: t.recovery_point_seconds,
                    within_objective: t.within_objective,
                })
                .collect(),
        }
    }
}

/// One condition of the GA gate.
#[derive(Debug, Object)]
pub struct GaCheckBody {
    /// `staging_mode_enabled`, `slo_within_budget`, `runbooks_signed_off`,
    /// `failure_drills_passed`, `evidence_verification_failures_zero` or
    /// `restore_drills_passed`.
    pub name: String,
    /// Whether the condition holds.
    pub passed: bool,
    /// What was seen: a boolean for the switches, the SLO status, an object
    /// of each drill's latest status by drill id, the number of evidence
    /// verification failures in the SLO window, or, by tenant, the latest
    /// restore drill that passed or failed (`outcome`, `reason_code`,
    /// `finished_at`, `run_id`, `passed`; `outcome: none` without one).
    pub observed: Value,
}

/// The GA readiness gate.
#[derive(Debug, Object)]
pub struct GaReadiness {
    /// True only when every check passed.
    pub ready: bool,
    /// Every condition, in a fixed order.
    pub checks: Vec<GaCheckBody>,
    /// The names of the failed checks: what to fix before GA.
    pub blocked_reasons: Vec<String>,
}

/// Average and largest of a per-job figure.
#[derive(Debug, Object)]
#[oai(remote = "PerJob")]
pub struct PerJobBody {
    /// Average over the jobs with journal rows (0 without any).
    pub avg: f64,
    /// The largest job's figure.
    pub max: i64,
}

/// Jobs whose retention window has passed while their journal still holds
/// before-images: what pruning can free.
#[derive(Debug, Object)]
#[oai(remote = "Backlog")]
pub struct RetentionBacklogBody {
    /// Jobs past retention still holding before-images.
    pub jobs: i64,
    /// Their before-images.
    pub before_images: i64,
    /// Bytes of those before-images.
    pub before_image_bytes: i64,
    /// Of the jobs, those without an exported evidence package: pruning
    /// waits for their export.
    pub awaiting_export: i64,
}

/// Rollback journal growth (runbook "Journal Retention Governance").
#[derive(Debug, Object)]
#[oai(remote = "JournalGrowth")]
pub struct JournalGrowthBody {
    /// When the figures were read.
    pub computed_at: Timestamp,
    /// Days a job's journal is retained after it ends
    /// (`evidence.retention_days`).
    pub retention_days: u32,
    /// Jobs with journal rows.
    pub jobs: i64,
    /// Journal rows of every job.
    pub rows_total: i64,
    /// Bytes of the before-images still held (their stored JSON).
    pub before_image_bytes_total: i64,
    /// Journal rows per job.
    pub rows_per_job: PerJobBody,
    /// Before-image bytes per job.
    pub before_image_bytes_per_job: PerJobBody,
    /// What retention allows to prune.
    pub retention_backlog: RetentionBacklogBody,
}

#[derive(ApiResponse)]
enum SloResponse {
    /// The SLO as of now.
    #[oai(status = 200)]
    Ok(Json<SloView>),
}

#[derive(ApiResponse)]
enum GaResponse {
    /// The gate as of now.
    #[oai(status = 200)]
    Ok(Json<GaReadiness>),
}

#[derive(ApiResponse)]
enum JournalResponse {
    /// The journal figures as of now.
    #[oai(status = 200)]
    Ok(Json<JournalGrowthBody>),
}

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsStatusApi {
    /// SLO burn rate
    ///
    /// Computes every SLO check from the database over the configured
    /// window, against the configured targets, with the overall status and
    /// the multi-window error-budget burn rate. Also refreshes the `rrs_slo_*`
    /// gauges on `/metrics`. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/slo",
        method = "get",
        operation_id = "get_ops_slo"
    )]
    async fn get_ops_slo(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<SloResponse> {
        let principal = bearer.principal(&svc).await?;
        let report = svc.slo_report(&principal, Utc::now()).await?;
        Ok(SloResponse::Ok(Json(report.into())))
    }

    /// GA readiness
    ///
    /// Ready only when staging mode is on, the SLO is `within_budget`, the
    /// runbooks are signed off, every failure drill's latest status is
    /// `pass` and no evidence verification failed in the SLO window;
    /// `blocked_reasons` names each unmet condition. Also refreshes the
    /// `rrs_ga_*` gauges on `/metrics`. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/ga-readiness",
        method = "get",
        operation_id = "get_ga_readiness"
    )]
    async fn get_ga_readiness(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<GaResponse> {
        let principal = bearer.principal(&svc).await?;
        let verdict = svc.ga_readiness(&principal, Utc::now()).await?;
        Ok(GaResponse::Ok(Json(verdict.into())))
    }

    /// Journal growth
    ///
    /// Rollback journal rows and before-image bytes per job, and the
    /// retention backlog: jobs whose retention window
    /// (`evidence.retention_days` after they ended) has passed while their
    /// journal still holds before-images, with those still waiting for an
    /// evidence export. Reads the whole journal; also sets the
    /// `rrs_journal_*` gauges on `/metrics`. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/journal-growth",
        method = "get",
        operation_id = "get_journal_growth"
    )]
    async fn get_journal_growth(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<JournalResponse> {
        let principal = bearer.principal(&svc).await?;
        let growth = svc.journal_growth(&principal, Utc::now()).await?;
        Ok(JournalResponse::Ok(Json(growth.into())))
    }
}

impl From<SloReport> for SloView {
    fn from(r: SloReport) -> Self {
        Self {
            window_seconds: r.window_seconds,
            computed_at: r.computed_at.into(),
            burn_rate: BurnRateBody {
                status: r.status.into(),
                checks: r.checks.into_iter().map(SloCheckBody::from).collect(),
                failed_checks: r.failed_checks.into_iter().map(str::to_owned).collect(),
                error_budget: r.error_budget.into(),
            },
            drill_recovery_time: r.drill_recovery.map(Into::into),
        }
    }
}

impl From<SloCheck> for SloCheckBody {
    fn from(c: SloCheck) -> Self {
        Self {
            name: c.name.to_owned(),
            severity: c.severity.into(),
            objective: c.objective.into(),
            observed: c.observed,
            target: c.target,
            passed: c.passed,
            samples: c.samples,
        }
    }
}

impl From<BurnWindow> for BurnWindowBody {
    fn from(w: BurnWindow) -> Self {
        Self {
            name: w.name.to_owned(),
            window_seconds: w.window_seconds,
            total: w.total,
            failed: w.failed,
            burn_rate: w.burn_rate,
        }
    }
}

impl From<ErrorBudget> for ErrorBudgetBody {
    fn from(b: ErrorBudget) -> Self {
        Self {
            objective: b.objective.to_owned(),
            target: b.target,
            budget: b.budget,
            threshold: b.threshold,
            windows: b.windows.into_iter().map(BurnWindowBody::from).collect(),
            slo_window: b.slo_window.into(),
            budget_remaining: b.budget_remaining,
            fast_burn: b.fast_burn,
        }
    }
}

impl From<Readiness> for GaReadiness {
    fn from(v: Readiness) -> Self {
        Self {
            ready: v.ready,
            checks: v.checks.into_iter().map(GaCheckBody::from).collect(),
            blocked_reasons: v.blocked_reasons.into_iter().map(str::to_owned).collect(),
        }
    }
}

impl From<ReadinessCheck> for GaCheckBody {
    fn from(c: ReadinessCheck) -> Self {
        Self {
            name: c.name.to_owned(),
            passed: c.passed,
            observed: c.observed,
        }
    }
}
