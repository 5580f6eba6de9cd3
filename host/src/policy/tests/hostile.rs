//! Hostile plugins (built from `plugins/fixtures/`): each is contained and
//! fails closed with its typed reason, at load or per decision, and never
//! affects the other policies of the set.

use std::time::{Duration, Instant};

use super::support::{default_registry, fixture, input, load, policy_dir, PolicyDir, Replace};
use crate::policy::{
    CapabilityInput, DecisionOutcome, GateOutput, GateReason, PolicyFailureKind, PolicyKind,
    PolicyLoadError,
};

fn gate_with(name: &str) -> PolicyDir {
    policy_dir(Some(Replace {
        kind: PolicyKind::Gate,
        wasm: &fixture(name),
        sha256: None,
        settings: "",
    }))
}

/// Loads the fixture as the gate and expects `kind` from a decision.
fn assert_fails_closed(name: &str, kind: PolicyFailureKind) -> String {
    let dir = gate_with(name);
    let registry = load(&dir).unwrap();
    let decision = registry.decide_gate(&input());
    let failure = decision.result.unwrap_err();
    assert_eq!(failure.kind, kind, "{failure}");
    assert_eq!(failure.reason_code(), "blocked_policy_error");
    assert_eq!(failure.details()["policy_error"], kind.as_str());
    assert_eq!(decision.record.outcome, DecisionOutcome::PolicyError);
    assert_eq!(decision.record.output["policy_error"], kind.as_str());
    assert_eq!(decision.record.policy_digest, registry.list()[0].digest);
    // The other policies of the same set are unaffected.
    let capability = default_registry().list()[1].clone();
    assert_eq!(registry.list()[1], capability);
    failure.message
}

/// The loop is stopped, but only once it has used its budget (100 ms and
/// 20 µs for the one partition) of CPU after its wall deadline passed: it
/// cannot have been stopped before 200 ms of wall time.
#[test]
fn infinite_loop_times_out() {
    let message = assert_fails_closed("loop", PolicyFailureKind::PolicyTimeout);
    assert!(message.contains("deadline"), "{message}");

    let registry = load(&gate_with("loop")).unwrap();
    let started = Instant::now();
    let failure = registry.decide_gate(&input()).result.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(failure.kind, PolicyFailureKind::PolicyTimeout);
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn unbounded_memory_growth_hits_the_cap() {
    let message = assert_fails_closed("memory", PolicyFailureKind::PolicyTrap);
    assert!(message.contains("memory cap"), "{message}");
}

#[test]
fn a_panic_traps_and_the_next_decision_gets_a_fresh_instance() {
    let message = assert_fails_closed("trap", PolicyFailureKind::PolicyTrap);
    assert!(message.contains("unreachable"), "{message}");
    let dir = gate_with("trap");
    let registry = load(&dir).unwrap();
    for _ in 0..3 {
        let failure = registry.decide_gate(&input()).result.unwrap_err();
        assert_eq!(failure.kind, PolicyFailureKind::PolicyTrap, "{failure}");
    }
    assert!(registry
        .decide_capability(&allowed_capability())
        .result
        .unwrap()
        .is_allowed());
}

/// An execute call the default capability policy allows.
fn allowed_capability() -> CapabilityInput {
    serde_json::from_value(serde_json::json!({
        "tenant_id": "acme", "instance_id": "prod", "exercised_capabilities": ["restore_execute"],
        "scope": {"rows": 1, "deletes": 0},
    }))
    .unwrap()
}

/// `once` traps when an instance decides a second time: every decision
/// allowing, on one thread and on several at once, means each ran in an
/// instance of its own, whose memory started as the module's image.
#[test]
fn every_decision_runs_in_an_instance_of_its_own() {
    let dir = policy_dir(Some(Replace {
        kind: PolicyKind::Capability,
        wasm: &fixture("once"),
        sha256: None,
        settings: "",
    }));
    let registry = load(&dir).unwrap();
    let input = allowed_capability();
    for _ in 0..10 {
        let decision = registry.decide_capability(&input);
        assert!(
            decision.result.as_ref().is_ok_and(|d| d.is_allowed()),
            "{:?}",
            decision.result
        );
        assert_eq!(decision.record.outcome, DecisionOutcome::Allow);
    }
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..25 {
                    let result = registry.decide_capability(&input).result;
                    assert!(result.is_ok_and(|d| d.is_allowed()));
                }
            });
        }
    });
}

/// The plugins' 16 KiB stack (plugin-build/): running off it traps as an
/// out-of-bounds access instead of writing over the plugin's data.
#[test]
fn a_stack_overflow_traps() {
    let message = assert_fails_closed("recursion", PolicyFailureKind::PolicyTrap);
    assert!(message.contains("out of bounds"), "{message}");
    assert!(!message.contains("returned from"), "{message}");
}

#[test]
fn bad_output_is_denied() {
    let message = assert_fails_closed("bad-output", PolicyFailureKind::PolicyBadOutput);
    assert!(
        message.contains("contradicts") || message.contains("reason_code"),
        "{message}"
    );
}

#[test]
fn a_failed_gate_is_blocked_with_policy_error() {
    let gate = GateOutput::policy_error(2);
    assert_eq!(gate.reason_code, Some(GateReason::BlockedPolicyError));
    assert_eq!(gate.partition_freshness.len(), 2);
    let json = serde_json::to_value(&gate).unwrap();
    assert_eq!(json["reasons"], serde_json::json!(["blocked_policy_error"]));
    assert_eq!(json["executability"], "blocked");
}

fn load_error(dir: &PolicyDir) -> PolicyLoadError {
    let error = load(dir).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains(&dir.file.display().to_string()),
        "names no file: {text}"
    );
    error
}

/// The gate fixture `name` is refused at load for not exporting the gate
/// world.
fn refused_as_another_world(name: &str) {
    let error = load_error(&gate_with(name));
    assert_eq!(error.kind, Some(PolicyKind::Gate));
    assert!(
        error
            .reason
            .contains("does not export the `rrs:policy/gate@1.1.0` world"),
        "{error}"
    );
}

#[test]
fn wrong_world_is_refused_at_load() {
    refused_as_another_world("wrong-world");
}

#[test]
fn a_reason_code_outside_the_contract_is_refused_at_load() {
    // Built against a WIT copy whose gate-reason has an extra case: the
    // typed boundary refuses it before it can ever return that code.
    refused_as_another_world("unknown-reason");
}

#[test]
fn digest_mismatch_is_refused_at_load() {
    let dir = policy_dir(Some(Replace {
        kind: PolicyKind::Capability,
        wasm: &fixture("wrong-world"),
        sha256: Some(&"0".repeat(64)),
        settings: "",
    }));
    let error = load_error(&dir);
    assert_eq!(error.kind, Some(PolicyKind::Capability));
    assert!(error.reason.contains("digest mismatch"), "{error}");
    assert!(error.to_string().contains("plugin.wasm"), "{error}");
}

#[test]
fn settings_refused_by_the_plugin_are_refused_at_load() {
    let error = load_error(&gate_with("invalid-settings"));
    assert!(
        error.reason.contains("fixture-invalid-settings refuses"),
        "{error}"
    );
}

#[test]
fn invalid_settings_of_the_default_plugins_are_refused_at_load() {
    let refused = |from: &str, to: &str| {
        let text = crate::policy::DEFAULT_POLICIES_TOML.replace(from, to);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(&file, text).unwrap();
        crate::policy::PolicyRegistry::load(&file, Default::default()).unwrap_err()
    };
    let e = refused("max_lag_seconds = 900", "max_lag_secs = 900");
    assert_eq!(e.kind, Some(PolicyKind::Gate));
    assert!(e.reason.contains("unknown field `max_lag_secs`"), "{e}");
    let e = refused("high_risk_deletes = 100", "high_risk_deletes = -1");
    assert_eq!(e.kind, Some(PolicyKind::Capability));
    assert!(
        e.reason.contains("refused its settings") && e.reason.contains("-1"),
        "{e}"
    );
    let e = refused("mediaMaxItems = 100", "mediaMaxItems = \"lots\"");
    assert_eq!(e.kind, Some(PolicyKind::MediaCaps));
    assert!(e.reason.contains("invalid type"), "{e}");
}

#[test]
fn a_core_module_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("core.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let dir = policy_dir(Some(Replace {
        kind: PolicyKind::MediaCaps,
        wasm: &module,
        sha256: None,
        settings: "",
    }));
    let error = load_error(&dir);
    assert!(error.reason.contains("not a valid component"), "{error}");
}
