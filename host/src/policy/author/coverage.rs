//! Decision-table coverage: which of a kind's outcomes and reason codes a
//! table of cases reaches. `rrs policy test --min-coverage P` fails below
//! P percent, so a plugin cannot ship with a reason it never shows a test
//! for. The universe is the contract's: every outcome and reason code a
//! working plugin of the kind can return (`policy_error` and
//! `blocked_policy_error` are the host's, not the plugin's, so they do not
//! count).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::policy::{DecisionRecord, GateReason, PolicyKind};

/// Everything a `kind` plugin can reach, as `outcome:<name>` and
/// `reason:<code>`.
pub fn universe(kind: PolicyKind) -> Vec<String> {
    let (outcomes, reasons): (&[&str], Vec<&str>) = match kind {
        PolicyKind::Gate => (
            &["executable", "preview_only", "blocked"],
            [
                GateReason::BlockedFreshnessUnknown,
                GateReason::BlockedUnresolvedDeleteCandidates,
                GateReason::BlockedReferenceConflict,
                GateReason::BlockedFreshnessStale,
            ]
            .iter()
            .map(|r| r.as_str())
            .collect(),
        ),
        PolicyKind::Capability | PolicyKind::MediaCaps => (
            &["allow", "deny"],
            vec![crate::policy::DenialReason::MissingCapability.as_str()],
        ),
    };
    outcomes
        .iter()
        .map(|o| format!("outcome:{o}"))
        .chain(reasons.iter().map(|r| format!("reason:{r}")))
        .collect()
}

/// What one decision reached: its outcome and its reason codes (the gate's
/// `reasons`, a denial's `reason_code`).
pub fn reached_by(record: &DecisionRecord) -> Vec<String> {
    let mut reached = vec![format!("outcome:{}", record.outcome)];
    let output = &record.output;
    if let Some(reasons) = output.get("reasons").and_then(|r| r.as_array()) {
        reached.extend(
            reasons
                .iter()
                .filter_map(|r| r.as_str())
                .map(|r| format!("reason:{r}")),
        );
    }
    if let Some(code) = output.get("reason_code").and_then(|r| r.as_str()) {
        reached.push(format!("reason:{code}"));
    }
    reached
}

/// Coverage of a kind's universe.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub reached: Vec<String>,
    pub missing: Vec<String>,
    /// `reached / universe`, 0 to 100.
    pub percent: f64,
}

impl Coverage {
    pub fn of(kind: PolicyKind, reached: &BTreeSet<String>) -> Self {
        let (hit, missing): (Vec<String>, Vec<String>) = universe(kind)
            .into_iter()
            .partition(|item| reached.contains(item));
        let total = hit.len() + missing.len();
        // Both counts are tiny (at most 7), so the conversion is exact.
        let percent = if total == 0 {
            100.0
        } else {
            100.0 * f64::from(u32::try_from(hit.len()).unwrap_or(u32::MAX))
                / f64::from(u32::try_from(total).unwrap_or(u32::MAX))
        };
        Self {
            reached: hit,
            missing,
            percent,
        }
    }

    /// `coverage 71.4% (5/7); not reached: ...`.
    pub fn summary(&self) -> String {
        let total = self.reached.len() + self.missing.len();
        let mut text = format!(
            "coverage {:.1}% ({}/{total} outcomes and reason codes)",
            self.percent,
            self.reached.len()
        );
        if !self.missing.is_empty() {
            text.push_str(&format!("; not reached: {}", self.missing.join(", ")));
        }
        text.push('\n');
        text
    }
}
