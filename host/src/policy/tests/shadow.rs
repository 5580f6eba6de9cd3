//! Shadow candidates, stored inputs and recorded sets at the policy host:
//! a candidate never changes the live decision and its disagreements are
//! reported; a logged input decides again to the same hash; a recorded set
//! loads from its bytes alone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::support::{fixture, sha256_of};
use crate::policy::{
    input_sha256, logged_input, recorded_config, DecisionOutcome, Executability, GateInput,
    PolicyConfig, PolicyHostOptions, PolicyKind, PolicyRegistry, DEFAULT_POLICIES_TOML,
};

fn input(topic: &str) -> GateInput {
    serde_json::from_value(serde_json::json!({
        "tenant_id": "acme", "instance_id": "prod",
        "pit": "2026-11-20T10:00:00Z", "now": "2026-11-20T10:30:00Z",
        "partitions": [{"topic": topic, "partition": 0, "watermark_time": "2026-11-20T10:25:00Z"}],
    }))
    .unwrap()
}

fn with_gate_shadow(name: &str) -> PolicyRegistry {
    let wasm = fixture(name);
    let digest = sha256_of(&std::fs::read(&wasm).unwrap());
    let at = DEFAULT_POLICIES_TOML.find("[gate.settings]").unwrap();
    let toml = format!(
        "{}shadow = {{ plugin = {:?}, sha256 = {digest:?} }}\n\n{}",
        &DEFAULT_POLICIES_TOML[..at],
        wasm.display().to_string(),
        &DEFAULT_POLICIES_TOML[at..]
    );
    let config = PolicyConfig::from_toml(
        &toml,
        std::path::Path::new("t.toml"),
        std::path::Path::new("."),
    )
    .unwrap();
    PolicyRegistry::from_config(config, PolicyHostOptions::default()).unwrap()
}

#[test]
fn a_disagreeing_shadow_is_reported_and_the_live_decision_stands() {
    let registry = with_gate_shadow("strict-gate");
    let mut reports = registry.take_shadow_disagreements().unwrap();
    assert!(
        registry.take_shadow_disagreements().is_none(),
        "one consumer"
    );
    assert_eq!(
        registry.shadow_policy(PolicyKind::Gate).unwrap().name,
        "fixture-strict-gate"
    );
    let agreed = registry.decide_gate(&input("sn.acme.prod.incident"));
    let live = registry.decide_gate(&input("sn.acme.prod.restricted_cases"));
    assert_eq!(
        agreed.result.unwrap().executability,
        Executability::Executable
    );
    assert_eq!(
        live.result.unwrap().executability,
        Executability::Executable
    );
    let started = Instant::now();
    let report = loop {
        if let Ok(report) = reports.try_recv() {
            break report;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no disagreement reported"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(report.decision_id, live.record.decision_id);
    assert_eq!(report.live.outcome, DecisionOutcome::Executable);
    assert_eq!(report.candidate.outcome, DecisionOutcome::PreviewOnly);
    assert_eq!(report.input, live.record.input);
    // Only the restricted input disagreed.
    std::thread::sleep(Duration::from_millis(50));
    assert!(reports.try_recv().is_err());
}

#[test]
fn a_looping_shadow_neither_changes_nor_delays_the_live_decision() {
    let registry = with_gate_shadow("loop");
    let mut reports = registry.take_shadow_disagreements().unwrap();
    let started = Instant::now();
    for _ in 0..20 {
        let d = registry.decide_gate(&input("sn.acme.prod.incident"));
        assert_eq!(d.result.unwrap().executability, Executability::Executable);
    }
    // Twenty live decisions in far less than one candidate's deadline run
    // (≥ 100 ms each): none waited for it.
    let took = started.elapsed();
    assert!(took < Duration::from_millis(100), "{took:?}");
    let started = Instant::now();
    let report = loop {
        if let Ok(report) = reports.try_recv() {
            break report;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no report");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(report.candidate.outcome, DecisionOutcome::PolicyError);
    assert_eq!(report.candidate.output["policy_error"], "policy_timeout");
}

#[test]
fn a_logged_input_decides_again_to_the_same_hash() {
    let mut input = input("sn.acme.prod.incident");
    input.target = Some(crate::policy::GateTarget {
        tenant_id: "acme".into(),
        instance_id: "sandbox".into(),
    });
    let (logged, sha256) = logged_input(&input);
    assert_eq!(
        sha256,
        sha256_of(logged.as_bytes()),
        "the logged text is what the recorded sha256 hashes"
    );
    assert_eq!(sha256, input_sha256(&input));
    assert!(!logged.contains(' '), "compact: {logged}");
    let back: GateInput = serde_json::from_str(&logged).unwrap();
    assert_eq!(back, input);
    assert_eq!(input_sha256(&back), input_sha256(&input));
}

#[test]
fn a_recorded_set_loads_from_its_bytes_alone() {
    let registry = with_gate_shadow("strict-gate");
    let recorded = registry.recordable();
    assert_eq!(
        recorded.blobs.len(),
        1,
        "only the file plugin's bytes travel"
    );
    let entries = recorded.entries.clone();
    let blobs: BTreeMap<String, Arc<[u8]>> = recorded.blobs.clone();
    let config = recorded_config(7, &entries, blobs).unwrap();
    let other = PolicyRegistry::from_config(
        PolicyConfig::embedded_default().unwrap(),
        PolicyHostOptions::default(),
    )
    .unwrap();
    assert_ne!(other.set_digest(), registry.set_digest());
    other.adopt(&config, 7).unwrap();
    assert_eq!(other.generation(), Some(7));
    assert_eq!(other.set_digest(), registry.set_digest());
    assert_eq!(
        other.shadow_policy(PolicyKind::Gate).unwrap().digest,
        registry.shadow_policy(PolicyKind::Gate).unwrap().digest
    );
    // Without the bytes (and no file where it names it) the recorded set is
    // refused and the old one stays.
    let mut elsewhere = entries.clone();
    elsewhere[0].shadow.as_mut().unwrap().plugin = "not-on-this-replica.wasm".into();
    let bare = recorded_config(8, &elsewhere, BTreeMap::new()).unwrap();
    let before = other.list();
    assert!(other.adopt(&bare, 8).is_err());
    assert_eq!(other.list(), before);
    assert_eq!(other.generation(), Some(7));
}
