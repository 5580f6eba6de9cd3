//! WIT minor versions side by side: a gate plugin built against
//! `rrs:policy@1.0.0` (fixture `gate-v1-0`) loads and decides beside the
//! 1.1.0 defaults, without the `context` field 1.1.0 added; the defaults
//! (1.1.0) are bound as 1.1.0 and get it.

use super::support::{default_registry, fixture, load, policy_dir, Replace};
use crate::policy::gate::to_wit;
use crate::policy::{DecisionOutcome, Executability, GateInput, GateReason, PolicyKind};

fn input(extra: serde_json::Value) -> GateInput {
    let mut input = serde_json::json!({
        "tenant_id": "acme", "instance_id": "prod",
        "pit": "2026-11-20T10:00:00Z", "now": "2026-11-20T10:30:00Z",
        "partitions": [{"topic": "t", "partition": 0, "watermark_time": "2026-11-20T10:25:00Z"}],
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    serde_json::from_value(input).unwrap()
}

#[test]
fn a_gate_built_against_1_0_keeps_loading_and_deciding() {
    let dir = policy_dir(Some(Replace {
        kind: PolicyKind::Gate,
        wasm: &fixture("gate-v1-0"),
        sha256: None,
        settings: "",
    }));
    let registry = load(&dir).unwrap();
    assert_eq!(registry.list()[0].name, "fixture-gate-v1-0");

    let fresh = registry.decide_gate(&input(serde_json::json!({
        "target": {"tenant_id": "acme", "instance_id": "sandbox"},
        "undo_of_job": "job_1"})));
    let output = fresh.result.unwrap();
    assert_eq!(output.executability, Executability::Executable);
    assert_eq!(fresh.record.outcome, DecisionOutcome::Executable);

    let undecided = registry.decide_gate(&input(serde_json::json!({
        "delete_candidates": [{"candidate_id": "dc_1", "table": "incident", "sys_id": "a1"}]})));
    let output = undecided.result.unwrap();
    assert_eq!(
        output.reasons,
        vec![GateReason::BlockedUnresolvedDeleteCandidates]
    );
}

#[test]
fn the_1_1_input_carries_the_target_and_the_undone_job() {
    let plain = to_wit(&input(serde_json::json!({}))).context.unwrap();
    assert_eq!(
        (
            plain.target_tenant_id.as_str(),
            plain.target_instance_id.as_str(),
            plain.undo_of_job
        ),
        ("acme", "prod", None),
        "a plan into its source names the source as its target"
    );
    let undo = to_wit(&input(serde_json::json!({
        "target": {"tenant_id": "acme", "instance_id": "sandbox"},
        "undo_of_job": "job_1"})));
    let context = undo.context.unwrap();
    assert_eq!(context.target_instance_id, "sandbox");
    assert_eq!(context.undo_of_job.as_deref(), Some("job_1"));
    // The defaults are 1.1.0 plugins and decide on such input.
    let decision = default_registry().decide_gate(&input(serde_json::json!({
        "undo_of_job": "job_1"})));
    assert_eq!(
        decision.result.unwrap().executability,
        Executability::Executable
    );
}
