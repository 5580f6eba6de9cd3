//! Spare instances made ahead of decisions (`policy::warm`): a decision
//! still runs in an instance of its own, a hostile plugin fails the same
//! way through a spare, and turning spares off decides alike.

use std::time::{Duration, Instant};

use super::support::{fixture, load, policy_dir, PolicyDir, Replace};
use crate::policy::{
    CapabilityInput, DecisionOutcome, DeleteCandidate, DeleteDecision, Executability,
    PolicyFailureKind, PolicyHostOptions, PolicyKind, PolicyLimits, PolicyRegistry,
};

fn capability_with(name: &str) -> PolicyDir {
    policy_dir(Some(Replace {
        kind: PolicyKind::Capability,
        wasm: &fixture(name),
        sha256: None,
        settings: "",
    }))
}

fn capability_input() -> CapabilityInput {
    serde_json::from_value(serde_json::json!({
        "tenant_id": "acme", "instance_id": "prod", "exercised_capabilities": ["restore_execute"],
        "scope": {"rows": 1, "deletes": 0},
    }))
    .unwrap()
}

/// Waits until the worker has made `kind`'s spares.
fn wait_for_spares(registry: &PolicyRegistry, kind: PolicyKind) {
    let started = Instant::now();
    while registry.spares(kind).1 < PolicyLimits::default().warm_instances {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no spare after 10 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `once` traps when an instance decides a second time: every decision
/// allowing, from spares and from instances made inline, on one thread and
/// on several at once, means none was reused.
#[test]
fn every_decision_runs_in_an_instance_of_its_own() {
    let dir = capability_with("once");
    let registry = load(&dir).unwrap();
    for round in 0..3 {
        wait_for_spares(&registry, PolicyKind::Capability);
        // More decisions than spares, back to back: the later ones find
        // none ready, or the ones the worker just made.
        for _ in 0..10 {
            let decision = registry.decide_capability(&capability_input());
            assert!(
                decision.result.as_ref().is_ok_and(|d| d.is_allowed()),
                "round {round}: {:?}",
                decision.result
            );
            assert_eq!(decision.record.outcome, DecisionOutcome::Allow);
        }
    }
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..25 {
                    let result = registry.decide_capability(&capability_input()).result;
                    assert!(result.is_ok_and(|d| d.is_allowed()));
                }
            });
        }
    });
    let (taken, _) = registry.spares(PolicyKind::Capability);
    assert!(taken >= 3, "only {taken} decisions took a spare");
}

/// A looping plugin in a spare made long before its decision still gets
/// its whole budget from the moment it is called, and no more than ten.
#[test]
fn a_spare_gets_its_deadline_when_taken() {
    let dir = policy_dir(Some(Replace {
        kind: PolicyKind::Gate,
        wasm: &fixture("loop"),
        sha256: None,
        settings: "",
    }));
    let registry = load(&dir).unwrap();
    wait_for_spares(&registry, PolicyKind::Gate);
    // Well past the 100 ms budget the spare would have had from its making.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let failure = registry
        .decide_gate(&super::support::input())
        .result
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(failure.kind, PolicyFailureKind::PolicyTimeout, "{failure}");
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(registry.spares(PolicyKind::Gate).0 >= 1);
}

/// The memory cap and deadline of a spare are the ones of the call's
/// input, not the smaller ones it was made with: 100 000 delete
/// candidates need more than the base 16 MiB and 100 ms.
#[test]
fn a_spare_gets_the_budget_of_its_input() {
    let registry = load(&policy_dir(None)).unwrap();
    wait_for_spares(&registry, PolicyKind::Gate);
    let mut input = super::support::input();
    for i in 0..100_000 {
        input.delete_candidates.push(DeleteCandidate {
            candidate_id: format!("candidate-0123456789abcdef-{i}"),
            table: "incident".into(),
            sys_id: format!("sys-0123456789abcdef0123456789abcdef-{i}"),
            decision: Some(DeleteDecision::AllowDeletion),
        });
    }
    let output = registry.decide_gate(&input).result.unwrap();
    assert_eq!(output.executability, Executability::Executable);
    assert!(registry.spares(PolicyKind::Gate).0 >= 1);
}

/// With `warm_instances = 0` every decision instantiates inline, and
/// decides exactly as with spares.
#[test]
fn without_spares_the_decisions_are_the_same() {
    let dir = capability_with("once");
    let options = PolicyHostOptions {
        limits: PolicyLimits {
            warm_instances: 0,
            ..PolicyLimits::default()
        },
        cache_dir: None,
    };
    let cold = PolicyRegistry::load(&dir.file, options).unwrap();
    let warm = load(&dir).unwrap();
    wait_for_spares(&warm, PolicyKind::Capability);
    for _ in 0..5 {
        let a = cold.decide_capability(&capability_input());
        let b = warm.decide_capability(&capability_input());
        assert_eq!(a.result, b.result);
        assert_eq!(a.record.output, b.record.output);
    }
    assert_eq!(cold.spares(PolicyKind::Capability), (0, 0));
    assert!(warm.spares(PolicyKind::Capability).0 >= 1);
}
