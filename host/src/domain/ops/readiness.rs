//! The GA readiness gate: ready only when staging mode is on, the SLO is
//! within budget, the runbooks are signed off, every failure drill's
//! latest outcome is `pass`, no evidence package failed verification in
//! the SLO window, and every tenant with restores enabled has a passing
//! restore drill within the configured window. Each unmet condition is one blocked reason, so the
//! operator has a to-do list rather than a bare "no".

use serde_json::{json, Map, Value};

use super::controls::{DrillState, DrillStatus, SwitchState};
use super::slo::{SloReport, SloStatus, EVIDENCE_VERIFICATION_FAILED};
use crate::domain::drills::readiness::DrillStanding;

/// Check names, as on the wire.
pub const STAGING_MODE_ENABLED: &str = "staging_mode_enabled";
pub const SLO_WITHIN_BUDGET: &str = "slo_within_budget";
pub const RUNBOOKS_SIGNED_OFF: &str = "runbooks_signed_off";
pub const FAILURE_DRILLS_PASSED: &str = "failure_drills_passed";
pub const EVIDENCE_VERIFICATION_FAILURES_ZERO: &str = "evidence_verification_failures_zero";
pub const RESTORE_DRILLS_PASSED: &str = "restore_drills_passed";

/// One condition of the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadinessCheck {
    pub name: &'static str,
    pub passed: bool,
    /// What was seen: a flag, the SLO status, each drill's status, or the
    /// failure count.
    pub observed: Value,
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<ReadinessCheck>,
    /// The names of the failed checks, in check order.
    pub blocked_reasons: Vec<&'static str>,
}

/// What the gate looks at.
#[derive(Debug, Clone)]
pub struct ReadinessInputs<'a> {
    pub staging_mode: &'a SwitchState,
    pub runbooks_signoff: &'a SwitchState,
    pub drills: &'a [DrillState],
    pub slo: &'a SloReport,
    /// Each tenant's latest restore drill.
    pub restore_drills: &'a DrillStanding,
}

/// Applies the gate to its inputs.
pub fn evaluate(inputs: &ReadinessInputs<'_>) -> Readiness {
    let drill_statuses: Map<String, Value> = inputs
        .drills
        .iter()
        .map(|d| (d.drill_id.as_str().to_owned(), json!(d.status.as_str())))
        .collect();
    let drills_passed =
        !inputs.drills.is_empty() && inputs.drills.iter().all(|d| d.status == DrillStatus::Pass);
    let evidence_failures = inputs
        .slo
        .check(EVIDENCE_VERIFICATION_FAILED)
        .and_then(|c| c.observed)
        .unwrap_or(0.0);
    let checks = vec![
        ReadinessCheck {
            name: STAGING_MODE_ENABLED,
            passed: inputs.staging_mode.enabled,
            observed: json!(inputs.staging_mode.enabled),
        },
        ReadinessCheck {
            name: SLO_WITHIN_BUDGET,
            passed: inputs.slo.status == SloStatus::WithinBudget,
            observed: json!(inputs.slo.status.as_str()),
        },
        ReadinessCheck {
            name: RUNBOOKS_SIGNED_OFF,
            passed: inputs.runbooks_signoff.enabled,
            observed: json!(inputs.runbooks_signoff.enabled),
        },
        ReadinessCheck {
            name: FAILURE_DRILLS_PASSED,
            passed: drills_passed,
            observed: Value::Object(drill_statuses),
        },
        ReadinessCheck {
            name: EVIDENCE_VERIFICATION_FAILURES_ZERO,
            passed: evidence_failures == 0.0,
            observed: json!(evidence_failures as i64),
        },
        ReadinessCheck {
            name: RESTORE_DRILLS_PASSED,
            passed: inputs.restore_drills.passed,
            observed: inputs.restore_drills.observed.clone(),
        },
    ];
    let blocked_reasons: Vec<&'static str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    Readiness {
        ready: blocked_reasons.is_empty(),
        checks,
        blocked_reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SloConfig;
    use crate::domain::ops::controls::DrillId;
    use crate::domain::ops::controls::SetBy;
    use crate::domain::ops::figures::Measurements;
    use crate::domain::ops::slo;

    fn switch(enabled: bool) -> SwitchState {
        SwitchState {
            enabled,
            set_by: SetBy::default(),
        }
    }

    fn drills(status: DrillStatus) -> Vec<DrillState> {
        <DrillId as strum::IntoEnumIterator>::iter()
            .map(|drill_id| DrillState {
                drill_id,
                status,
                notes: None,
                set_by: SetBy::default(),
            })
            .collect()
    }

    fn drilled() -> DrillStanding {
        DrillStanding {
            passed: true,
            observed: json!({}),
        }
    }

    #[test]
    fn ready_only_when_every_condition_holds() {
        let slo = slo::evaluate(
            &Measurements::default(),
            &SloConfig::default(),
            chrono::Utc::now(),
        );
        let (on, off) = (switch(true), switch(false));
        let passed = drills(DrillStatus::Pass);
        let standing = drilled();
        let all = ReadinessInputs {
            staging_mode: &on,
            runbooks_signoff: &on,
            drills: &passed,
            slo: &slo,
            restore_drills: &standing,
        };
        let verdict = evaluate(&all);
        assert!(verdict.ready, "{verdict:?}");
        assert!(verdict.blocked_reasons.is_empty());

        let mut one_pending = passed.clone();
        one_pending[2].status = DrillStatus::Pending;
        let blocked = evaluate(&ReadinessInputs {
            staging_mode: &off,
            drills: &one_pending,
            ..all.clone()
        });
        assert!(!blocked.ready);
        assert_eq!(
            blocked.blocked_reasons,
            vec![STAGING_MODE_ENABLED, FAILURE_DRILLS_PASSED]
        );
        let observed = &blocked.checks[3].observed;
        assert_eq!(observed["pg_saturation"], "pending");
        assert_eq!(observed["auth_outage"], "pass");
    }

    #[test]
    fn a_breached_slo_and_evidence_failures_block() {
        let mut m = Measurements::default();
        m.evidence.packages = 2;
        m.evidence.failed = 1;
        let slo = slo::evaluate(&m, &SloConfig::default(), chrono::Utc::now());
        let on = switch(true);
        let passed = drills(DrillStatus::Pass);
        let standing = drilled();
        let verdict = evaluate(&ReadinessInputs {
            staging_mode: &on,
            runbooks_signoff: &on,
            drills: &passed,
            slo: &slo,
            restore_drills: &standing,
        });
        assert_eq!(
            verdict.blocked_reasons,
            vec![SLO_WITHIN_BUDGET, EVIDENCE_VERIFICATION_FAILURES_ZERO]
        );
        assert_eq!(verdict.checks[1].observed, "breached");
        assert_eq!(verdict.checks[4].observed, 1);
    }
}
