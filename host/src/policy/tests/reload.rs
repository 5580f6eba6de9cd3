//! Reload: a new set is swapped in whole; a broken one leaves the old set
//! serving; decisions in flight during reloads are never disturbed.

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use super::support::{fixture, input, load, policy_dir, Replace};
use crate::policy::{Executability, PolicyFailureKind, PolicyKind};

#[test]
fn reload_swaps_in_a_new_set() {
    let dir = policy_dir(None);
    let registry = load(&dir).unwrap();
    assert_eq!(
        registry.decide_gate(&input()).result.unwrap().executability,
        Executability::Executable
    );
    let text = fs::read_to_string(&dir.file)
        .unwrap()
        .replace("max_lag_seconds = 900", "max_lag_seconds = 60");
    fs::write(&dir.file, text).unwrap();
    let listed = registry.reload().unwrap();
    assert_eq!(listed[0].settings["max_lag_seconds"], 60);
    assert_eq!(registry.list(), listed);
    let gate = registry.decide_gate(&input()).result.unwrap();
    assert_eq!(gate.executability, Executability::PreviewOnly);
}

#[test]
fn a_broken_set_leaves_the_old_one_serving() {
    let good = policy_dir(None);
    let registry = load(&good).unwrap();
    let before = registry.list();
    let broken = [
        policy_dir(Some(Replace {
            kind: PolicyKind::MediaCaps,
            wasm: &fixture("trap"),
            sha256: Some(&"1".repeat(64)),
            settings: "",
        })),
        policy_dir(Some(Replace {
            kind: PolicyKind::MediaCaps,
            wasm: &fixture("wrong-world"),
            sha256: None,
            settings: "",
        })),
        policy_dir(Some(Replace {
            kind: PolicyKind::Gate,
            wasm: &fixture("invalid-settings"),
            sha256: None,
            settings: "",
        })),
    ];
    for set in &broken {
        let error = registry.reload_file(&set.file).unwrap_err();
        assert!(
            error.to_string().contains(&set.file.display().to_string()),
            "{error}"
        );
        assert_eq!(registry.list(), before);
        let gate = registry.decide_gate(&input()).result.unwrap();
        assert_eq!(gate.executability, Executability::Executable);
    }
    // A broken edit of the file itself: the old set stays too.
    fs::write(&good.file, "gate = 1").unwrap();
    assert!(registry.reload().is_err());
    assert_eq!(registry.list(), before);
}

#[test]
fn decisions_during_reloads_are_undisturbed() {
    let dir = policy_dir(None);
    let registry = load(&dir).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let deciders: Vec<_> = (0..2)
        .map(|_| {
            let (registry, stop) = (registry.clone(), stop.clone());
            thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    match registry.decide_gate(&input()).result {
                        Ok(_) => n += 1,
                        // A loaded 2-core machine can push a call past its
                        // wall-clock deadline; that is not the reload's doing.
                        Err(failure) if failure.kind == PolicyFailureKind::PolicyTimeout => {}
                        Err(failure) => panic!("a reload disturbed a decision: {failure:?}"),
                    }
                }
                n
            })
        })
        .collect();
    for _ in 0..3 {
        registry.reload().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for decider in deciders {
        assert!(decider.join().unwrap() > 0);
    }
}
