//! The default gate policy (CONTRACT.md, "Plans"): decides whether a dry-run
//! plan is `executable`, `preview-only` or `blocked` from the facts the host
//! computed, and lists every reason that applies in the contract's order.
//!
//! - `freshness-unknown` (blocks): a partition has no watermark, or the scope
//!   has no partitions at all (fail closed: nothing is known of its history);
//! - `unresolved-delete-candidates` (blocks): a candidate has no decision;
//! - `reference-conflict` (blocks): any reference conflict;
//! - `freshness-stale` (preview only when alone): a watermark is behind the
//!   PIT, or `now - watermark > max_lag_seconds`.
//!
//! Settings: `{"max_lag_seconds": 900}` (the default when absent).

wit_bindgen::generate!({ world: "gate", path: "../wit" });

use exports::rrs::policy::gate_policy::Guest;
use exports::rrs::policy::types::{
    DeleteCandidate, Executability, Freshness, GateInput, GateOutput, GateReason, PartitionFact,
    PluginMetadata,
};

/// The settings this plugin accepts; unknown keys are refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_max_lag")]
    max_lag_seconds: u64,
}

fn default_max_lag() -> u64 {
    900
}

fn parse_settings(json: &str) -> Result<Settings, String> {
    serde_json::from_str(json).map_err(|e| format!("gate settings: {e}"))
}

rrs_plugin_arena::install!();

struct Plugin;

impl Guest for Plugin {
    fn validate_settings(settings_json: String) -> Result<(), String> {
        parse_settings(&settings_json).map(|_| ())
    }

    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "rrs-default-gate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    fn decide(settings_json: String, input: GateInput) -> GateOutput {
        // The host validated the settings at load; failing here would be a
        // host bug, and a panic is a trap, which the host denies (fail closed).
        let settings = match parse_settings(&settings_json) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        decide(&settings, &input)
    }
}

fn partition_freshness(p: &PartitionFact, input: &GateInput, max_lag: u64) -> Freshness {
    match p.watermark_time {
        None => Freshness::Unknown,
        Some(w) => {
            let lag = i128::from(input.now) - i128::from(w);
            if w < input.pit || lag > i128::from(max_lag) {
                Freshness::Stale
            } else {
                Freshness::Fresh
            }
        }
    }
}

fn undecided(c: &DeleteCandidate) -> bool {
    c.decision.is_none()
}

fn decide(settings: &Settings, input: &GateInput) -> GateOutput {
    let freshness: Vec<Freshness> = input
        .partitions
        .iter()
        .map(|p| partition_freshness(p, input, settings.max_lag_seconds))
        .collect();
    let mut reasons = Vec::new();
    if freshness.is_empty() || freshness.contains(&Freshness::Unknown) {
        reasons.push(GateReason::FreshnessUnknown);
    }
    if input.delete_candidates.iter().any(undecided) {
        reasons.push(GateReason::UnresolvedDeleteCandidates);
    }
    if !input.reference_conflicts.is_empty() {
        reasons.push(GateReason::ReferenceConflict);
    }
    if freshness.contains(&Freshness::Stale) {
        reasons.push(GateReason::FreshnessStale);
    }
    let executability = match reasons.as_slice() {
        [] => Executability::Executable,
        [GateReason::FreshnessStale] => Executability::PreviewOnly,
        _ => Executability::Blocked,
    };
    GateOutput {
        executability,
        reason_code: reasons.first().copied(),
        reasons,
        partition_freshness: freshness,
    }
}

export!(Plugin);
