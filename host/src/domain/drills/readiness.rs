//! What the GA readiness gate asks of drills: for every tenant with
//! restores enabled (a backup or a drill schedule, and no disabled
//! entitlement), the latest drill that passed or failed passed, within
//! the last `drills.readiness_window_days`. A failed drill blocks until a
//! later one passes, and the tenant's entry says why it failed.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::{DrillOutcome, DrillRun};
use crate::domain::DomainError;
use crate::store::Store;

/// Each tenant's drill standing.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillStanding {
    /// Whether every tenant has a recent passing latest drill.
    pub passed: bool,
    /// Per tenant: `{outcome, reason_code, finished_at, run_id}` of its
    /// latest decided drill, or `"none"`, and whether it is recent enough.
    pub observed: Value,
}

/// The standing of every tenant owed a drill, as of `now`.
pub async fn standing(
    store: &Store,
    window_days: u32,
    now: DateTime<Utc>,
) -> Result<DrillStanding, DomainError> {
    let latest: Vec<DrillRun> = store
        .latest_decided_drill_runs()
        .await?
        .into_iter()
        .map(DrillRun::try_from)
        .collect::<Result<_, _>>()?;
    let since = now - Duration::days(i64::from(window_days));
    let mut observed = Map::new();
    let mut passed = true;
    for tenant in store.drill_tenants().await? {
        let run = latest.iter().find(|r| r.source.tenant_id == tenant);
        let recent_pass = run.is_some_and(|r| {
            r.outcome == DrillOutcome::Passed && r.finished_at.is_some_and(|at| at >= since)
        });
        passed &= recent_pass;
        let entry = match run {
            None => json!({"outcome": "none", "passed": false}),
            Some(r) => json!({
                "outcome": r.outcome.as_str(),
                "reason_code": r.reason_code.map(|c| c.as_str()),
                "finished_at": r.finished_at,
                "run_id": r.run_id,
                "passed": recent_pass,
            }),
        };
        observed.insert(tenant, entry);
    }
    Ok(DrillStanding {
        passed,
        observed: Value::Object(observed),
    })
}
