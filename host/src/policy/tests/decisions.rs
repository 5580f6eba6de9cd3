//! Table-driven tests of each default plugin through the real wasm host.
//! The tables are `plugins/<plugin>/cases.json` (also what
//! `rrs policy test` runs); these tests also check that together they cover
//! every reason code each plugin can return.

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value;

use super::support::{default_policy_file, default_registry, repo_root};
use crate::policy::commands::{self, PolicyCase};
use crate::policy::{
    CapabilityDecision, CapabilityInput, DecisionOutcome, Executability, GateInput, GateReason,
    PolicyKind, ScopeFacts,
};

fn cases(plugin: &str) -> Vec<PolicyCase> {
    let path = repo_root().join("plugins").join(plugin).join("cases.json");
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn run(kind: PolicyKind, plugin: &str) -> Vec<PolicyCase> {
    let cases = cases(plugin);
    let report = commands::run_cases(default_registry(), kind, &cases).unwrap();
    assert!(report.failed.is_empty(), "{}", report.summary());
    assert_eq!(report.passed.len(), cases.len());
    cases
}

fn strings_at(cases: &[PolicyCase], key: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for case in cases {
        match &case.expect[key] {
            Value::String(s) => {
                seen.insert(s.clone());
            }
            Value::Array(items) => {
                seen.extend(items.iter().filter_map(|v| v.as_str().map(String::from)))
            }
            _ => {}
        }
    }
    seen
}

#[test]
fn gate_table_covers_every_reason() {
    let cases = run(PolicyKind::Gate, "gate");
    let reasons = strings_at(&cases, "reasons");
    let plugin_reasons = [
        GateReason::BlockedFreshnessUnknown,
        GateReason::BlockedUnresolvedDeleteCandidates,
        GateReason::BlockedReferenceConflict,
        GateReason::BlockedFreshnessStale,
    ];
    for reason in plugin_reasons {
        assert!(
            reasons.contains(reason.as_str()),
            "no case returns {}",
            reason.as_str()
        );
    }
    let executability = strings_at(&cases, "executability");
    assert_eq!(executability.len(), 3, "{executability:?}");
}

#[test]
fn capability_table_covers_allow_and_deny() {
    let cases = run(PolicyKind::Capability, "capability");
    assert_eq!(
        strings_at(&cases, "decision"),
        ["allow", "deny"].map(String::from).into()
    );
    assert_eq!(
        strings_at(&cases, "reason_code"),
        ["blocked_missing_capability".to_string()].into()
    );
}

#[test]
fn media_caps_table_covers_allow_and_deny() {
    let cases = run(PolicyKind::MediaCaps, "media-caps");
    assert_eq!(
        strings_at(&cases, "decision"),
        ["allow", "deny"].map(String::from).into()
    );
    assert_eq!(
        strings_at(&cases, "reason_code"),
        ["blocked_missing_capability".to_string()].into()
    );
}

#[test]
fn a_failing_case_is_reported_not_hidden() {
    let mut case = cases("gate").remove(0);
    case.expect = serde_json::json!({ "executability": "blocked" });
    let report = commands::run_cases(default_registry(), PolicyKind::Gate, &[case]).unwrap();
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.summary().contains("0 passed, 1 failed"),
        "{}",
        report.summary()
    );
}

fn gate_input() -> GateInput {
    serde_json::from_value(cases("gate").remove(0).input).unwrap()
}

#[test]
fn typed_gate_decision_and_its_record() {
    let registry = default_registry();
    let input = gate_input();
    let first = registry.decide_gate(&input);
    let second = registry.decide_gate(&input);
    let output = first.result.unwrap();
    assert_eq!(output.executability, Executability::Executable);
    assert_eq!(first.record.outcome, DecisionOutcome::Executable);
    assert_eq!(first.record.kind, PolicyKind::Gate);
    assert_eq!(first.record.policy_name, "rrs-default-gate");
    assert_eq!(first.record.policy_version, "1.0.0");
    assert_eq!(first.policy.digest, first.record.policy_digest);
    assert_eq!(first.record.input_sha256, second.record.input_sha256);
    assert_ne!(first.record.decision_id, second.record.decision_id);
    assert_eq!(first.record.output, serde_json::to_value(&output).unwrap());
    assert_eq!(first.record.output["reason_code"], Value::Null);
}

/// The policy bench compares the plugin with a native rule run through
/// `decide_gate_natively`; that is only a fair baseline if it is the same
/// decision path: the same policy, settings, input hash, outcome and
/// record, with only the call replaced.
#[test]
fn the_bench_baseline_runs_the_same_decision_path() {
    let registry = default_registry();
    let input = gate_input();
    let wasm = registry.decide_gate(&input);
    let mut seen_settings = String::new();
    let native = registry.decide_gate_natively(&input, |_, settings| {
        seen_settings = settings.to_string();
        wasm.result.clone().unwrap()
    });
    let configured = registry.policy(PolicyKind::Gate).unwrap().settings;
    assert_eq!(
        serde_json::from_str::<Value>(&seen_settings).unwrap(),
        configured
    );
    assert_eq!(native.policy, wasm.policy);
    assert_eq!(native.record.input_sha256, wasm.record.input_sha256);
    assert_eq!(native.record.outcome, wasm.record.outcome);
    assert_eq!(native.record.output, wasm.record.output);
    assert_ne!(native.record.decision_id, wasm.record.decision_id);
    for kind in PolicyKind::ALL {
        registry.instantiate_only(kind).unwrap();
    }
}

#[test]
fn typed_capability_denial() {
    let input = CapabilityInput {
        tenant_id: "acme".into(),
        instance_id: "prod".into(),
        required_capabilities: vec![],
        exercised_capabilities: vec![],
        scope: ScopeFacts {
            rows: 3,
            deletes: 3,
            tables: vec!["incident".into()],
        },
        elevated_confirmation: None,
    };
    let decision = default_registry().decide_capability(&input);
    let CapabilityDecision::Deny(denial) = decision.result.unwrap() else {
        panic!("allowed")
    };
    assert_eq!(denial.reason_code.as_str(), "blocked_missing_capability");
    assert_eq!(decision.record.outcome, DecisionOutcome::Deny);
    assert_eq!(
        decision.record.output["missing_capabilities"],
        serde_json::json!(["restore_delete"])
    );
}

#[test]
fn cli_check_and_eval() {
    let summary = commands::check(&default_policy_file()).unwrap();
    for name in [
        "rrs-default-gate",
        "rrs-default-capability",
        "rrs-default-media-caps",
    ] {
        assert!(summary.contains(name), "{summary}");
    }
    let examples = repo_root().join("plugins/examples");
    let out = commands::eval(
        &default_policy_file(),
        PolicyKind::Gate,
        &examples.join("gate-input.json"),
        None,
    )
    .unwrap();
    assert_eq!(out["outcome"], "executable");
    assert_eq!(out["policy"]["name"], "rrs-default-gate");

    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.json");
    fs::write(&settings, r#"{"max_lag_seconds": 60}"#).unwrap();
    let input = examples.join("gate-input.json");
    let out = commands::eval(
        &default_policy_file(),
        PolicyKind::Gate,
        &input,
        Some(&settings),
    )
    .unwrap();
    assert_eq!(
        out["output"]["reasons"],
        serde_json::json!(["blocked_freshness_stale"])
    );

    fs::write(&settings, r#"{"max_lag": 60}"#).unwrap();
    let err = commands::eval(
        &default_policy_file(),
        PolicyKind::Gate,
        &input,
        Some(&settings),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("unknown field"), "{err:#}");

    let cases = repo_root().join("plugins/media-caps/cases.json");
    let report =
        commands::test_cases(&default_policy_file(), PolicyKind::MediaCaps, &cases).unwrap();
    commands::assert_all_passed(&report).unwrap();
}

/// Each default plugin's whole memory is one 64 KiB page (16 KiB stack,
/// data, 24 KiB arena): every decision allocates, zeroes and initialises
/// all of it (`policy/engine.rs`). A change that outgrows the page (more
/// data, a bigger stack or arena) fails here instead of quietly slowing
/// every decision.
#[test]
fn each_default_plugin_fits_in_one_wasm_page() {
    for name in crate::policy::builtin::BUILTIN_PLUGINS {
        let component = crate::policy::builtin::builtin_plugin(name).unwrap();
        let bytes = rrs_plugin_build::initial_memory_bytes(component).unwrap();
        assert_eq!(bytes, 64 << 10, "{name}");
    }
}

/// The deadline and memory cap grow with the input: passing 100 000 delete
/// candidates takes longer than the base 100 ms on its own.
#[test]
fn a_plan_with_100k_delete_candidates_is_decided() {
    let mut input = gate_input();
    for i in 0..100_000 {
        input
            .delete_candidates
            .push(crate::policy::DeleteCandidate {
                candidate_id: format!("candidate-0123456789abcdef-{i}"),
                table: "incident".into(),
                sys_id: format!("sys-0123456789abcdef0123456789abcdef-{i}"),
                decision: Some(crate::policy::DeleteDecision::AllowDeletion),
            });
    }
    let output = default_registry().decide_gate(&input).result.unwrap();
    assert_eq!(output.executability, Executability::Executable);
    input.delete_candidates[99_999].decision = None;
    let output = default_registry().decide_gate(&input).result.unwrap();
    assert_eq!(
        output.reasons,
        [GateReason::BlockedUnresolvedDeleteCandidates]
    );
}
