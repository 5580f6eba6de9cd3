//! The measured recovery time the SLO view shows: each tenant's latest
//! drill that got as far as a restore (passed or failed), its wall time
//! against `drills.recovery_time_objective_seconds`, and its recovery
//! point. Measured by drills, not estimated.

use chrono::{DateTime, Utc};

use super::DrillRun;
use crate::domain::DomainError;
use crate::store::Store;

/// One tenant's latest measured restore.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRecovery {
    pub tenant_id: String,
    pub run_id: String,
    pub finished_at: Option<DateTime<Utc>>,
    pub restore_seconds: f64,
    pub rows_per_second: Option<f64>,
    pub recovery_point_seconds: Option<f64>,
    pub within_objective: bool,
}

/// The recovery time objective and what drills measured.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRecovery {
    pub objective_seconds: f64,
    /// Whether every measured tenant restored within the objective.
    pub within_objective: bool,
    pub tenants: Vec<TenantRecovery>,
}

/// Reads each tenant's latest measured drill restore.
pub async fn measure(store: &Store, objective_seconds: f64) -> Result<DrillRecovery, DomainError> {
    let mut tenants = Vec::new();
    for row in store.latest_decided_drill_runs().await? {
        let run = DrillRun::try_from(row)?;
        let Some(ms) = run.restore_ms else {
            continue;
        };
        let restore_seconds = ms as f64 / 1e3;
        tenants.push(TenantRecovery {
            tenant_id: run.source.tenant_id,
            run_id: run.run_id,
            finished_at: run.finished_at,
            restore_seconds,
            rows_per_second: run.rows_per_second,
            recovery_point_seconds: run.recovery_point_seconds,
            within_objective: restore_seconds <= objective_seconds,
        });
    }
    Ok(DrillRecovery {
        objective_seconds,
        within_objective: tenants.iter().all(|t| t.within_objective),
        tenants,
    })
}
