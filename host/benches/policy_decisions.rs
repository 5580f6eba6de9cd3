//! Per-decision latency of the policy host, in one run, interleaved:
//!
//! - A: the default gate plugin through `PolicyRegistry::decide_gate` (a
//!   fresh instance per decision, output checks, decision record, span and
//!   metrics);
//! - B: the same rule in native Rust through the same decision path (the
//!   registry's `decide` with the sandboxed call replaced by the function),
//!   i.e. what a decision would cost the service without the sandbox;
//! - C: the native rule function alone;
//! - D: a fresh store and instance of the plugin, dropped without a call:
//!   the floor of "a fresh instance per decision";
//! - E: A with a shadow candidate that loops (`plugins/fixtures/loop`)
//!   beside the live gate: the live decision must not wait for it;
//! - F: A with a well-behaved shadow candidate (`strict-gate`), which the
//!   shadow worker runs beside the live decisions.
//!
//! Prints p50/p99 and the ratios A/B, A/C, D/C, E/A and F/A. Goal: A's p99
//! < 50 µs and < 20x native; E/A near 1: the live path only queues the
//! candidate's decision, and a looping candidate fills the queue, after
//! which further decisions are skipped at the cost of a `try_send`. F is
//! the worst case for a well-behaved candidate: decisions back to back,
//! so the shadow worker decides as fast as the live path and takes the
//! second core (and instances) beside it; on 2 cores that shows in
//! F's column, not in a service whose decisions are milliseconds apart.
//!
//! Run: `cargo bench -p rrs --bench policy_decisions` (release), or with
//! the dev profile's optimisation for a quick look:
//! `CARGO_PROFILE_DEV_OPT_LEVEL=2 cargo bench -p rrs --profile dev --bench policy_decisions`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rrs::policy::{
    logged_input, DeleteCandidate, DeleteDecision, Executability, Freshness, GateInput, GateOutput,
    GateReason, PartitionFact, PolicyHostOptions, PolicyKind, PolicyRegistry, ReferenceConflict,
};

const WARMUP: usize = 2_000;
const SAMPLES: usize = 20_000;
const BATCH: usize = 100;

fn main() -> anyhow::Result<()> {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/default.toml");
    let registry = PolicyRegistry::load(&policies, PolicyHostOptions::default())?;
    let looping = with_gate_shadow("loop")?;
    let strict = with_gate_shadow("strict-gate")?;
    for (name, input) in [("small plan", input(1, 0)), ("typical plan", input(4, 20))] {
        println!();
        println!(
            "gate, {name}: {} partitions, {} decided delete candidates; {SAMPLES} samples each after \
             {WARMUP} warm-up, interleaved in batches of {BATCH}",
            input.partitions.len(),
            input.delete_candidates.len()
        );
        bench(&registry, &looping, &strict, &input)?;
    }
    Ok(())
}

/// The default set with the fixture `name` as the gate's shadow candidate.
fn with_gate_shadow(name: &str) -> anyhow::Result<PolicyRegistry> {
    use sha2::Digest;
    let wasm = rrs_policy_fixtures::path(name);
    let digest = hex::encode(sha2::Sha256::digest(std::fs::read(&wasm)?));
    let default = rrs::policy::DEFAULT_POLICIES_TOML;
    let at = default
        .find("[gate.settings]")
        .ok_or_else(|| anyhow::anyhow!("no [gate.settings] in the default policies"))?;
    let toml = format!(
        "{}shadow = {{ plugin = {:?}, sha256 = {digest:?} }}\n\n{}",
        &default[..at],
        wasm.display().to_string(),
        &default[at..]
    );
    let config =
        rrs::policy::PolicyConfig::from_toml(&toml, Path::new("<bench policies>"), Path::new("."))?;
    Ok(PolicyRegistry::from_config(
        config,
        PolicyHostOptions::default(),
    )?)
}

fn bench(
    registry: &PolicyRegistry,
    looping: &PolicyRegistry,
    strict: &PolicyRegistry,
    input: &GateInput,
) -> anyhow::Result<()> {
    let max_lag = registry
        .policy(PolicyKind::Gate)
        .and_then(|p| p.settings.get("max_lag_seconds").and_then(|v| v.as_i64()))
        .unwrap_or(900);
    let wasm = registry.decide_gate(input).result?;
    let native = native_rule(input, max_lag);
    let in_path = registry
        .decide_gate_natively(input, |i, _| native_rule(i, max_lag))
        .result?;
    anyhow::ensure!(
        wasm == native && in_path == native,
        "native and wasm disagree: {native:?} vs {wasm:?}"
    );
    registry.instantiate_only(PolicyKind::Gate)?;

    anyhow::ensure!(
        looping.decide_gate(input).result? == native && strict.decide_gate(input).result? == native,
        "a shadow candidate changed the live decision"
    );

    let [wasm, in_path, bare, floor, logging, shadow_loop, shadow_strict] = measure([
        &mut || {
            black_box(registry.decide_gate(black_box(input)));
        },
        &mut || {
            black_box(
                registry.decide_gate_natively(black_box(input), |i, _| native_rule(i, max_lag)),
            );
        },
        &mut || {
            black_box(native_rule(black_box(input), max_lag));
        },
        &mut || {
            black_box(registry.instantiate_only(PolicyKind::Gate)).ok();
        },
        &mut || {
            black_box(logged_input(black_box(input)));
        },
        &mut || {
            black_box(looping.decide_gate(black_box(input)));
        },
        &mut || {
            black_box(strict.decide_gate(black_box(input)));
        },
    ]);
    println!("{:<52} {:>10} {:>10}", "", "p50", "p99");
    report("A wasm: registry.decide_gate (fresh instance)", &wasm);
    report("B native rule, same decision path as A", &in_path);
    report("C native rule function alone", &bare);
    report("D fresh instance alone (store, instantiate, drop)", &floor);
    report(
        "  in A and B: logged_input (the input's JSON, its sha256)",
        &logging,
    );
    report("E A with a looping shadow candidate", &shadow_loop);
    report("F A with a well-behaved shadow candidate", &shadow_strict);
    let r = |a: &[Duration], b: &[Duration]| (ratio(a, b, 50), ratio(a, b, 99));
    let ((ab50, ab99), (ac50, ac99), (dc50, dc99)) =
        (r(&wasm, &in_path), r(&wasm, &bare), r(&floor, &bare));
    println!("ratio A/B p50 {ab50:.1}x p99 {ab99:.1}x   (the sandbox's cost in the service)");
    println!("ratio A/C p50 {ac50:.0}x p99 {ac99:.0}x   (against the bare function)");
    println!(
        "ratio D/C p50 {dc50:.0}x p99 {dc99:.0}x   (the floor of a fresh instance per decision)"
    );
    let ((ea50, ea99), (fa50, fa99)) = (r(&shadow_loop, &wasm), r(&shadow_strict, &wasm));
    println!("ratio E/A p50 {ea50:.2}x p99 {ea99:.2}x   (a looping shadow against no shadow)");
    println!("ratio F/A p50 {fa50:.2}x p99 {fa99:.2}x   (a deciding shadow against no shadow)");
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let p99 = percentile(&wasm, 99);
    println!(
        "goal p99 < 50 µs: {}; goal p99 < 20x native: A/B {ab99:.1}x ({}), A/C {ac99:.0}x ({})",
        verdict(p99 < Duration::from_micros(50)),
        verdict(ab99 < 20.0),
        verdict(ac99 < 20.0)
    );
    Ok(())
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

/// A fresh plan with `partitions` partitions and `candidates` decided
/// delete candidates.
fn input(partitions: i32, candidates: usize) -> GateInput {
    GateInput {
        tenant_id: "acme".into(),
        instance_id: "prod".into(),
        target: None,
        undo_of_job: None,
        pit: at("2026-11-20T10:00:00Z"),
        now: at("2026-11-20T10:30:00Z"),
        partitions: (0..partitions)
            .map(|p| PartitionFact {
                topic: "sn.acme.prod.incident".into(),
                partition: p,
                watermark_time: Some(at("2026-11-20T10:25:00Z")),
            })
            .collect(),
        delete_candidates: (0..candidates)
            .map(|i| DeleteCandidate {
                candidate_id: format!("cand-{i}"),
                table: "incident".into(),
                sys_id: format!("sys-{i}"),
                decision: Some(DeleteDecision::SkipDeletion),
            })
            .collect(),
        reference_conflicts: Vec::<ReferenceConflict>::new(),
    }
}

/// plugins/gate's rule, natively.
fn native_rule(input: &GateInput, max_lag: i64) -> GateOutput {
    let freshness: Vec<Freshness> = input
        .partitions
        .iter()
        .map(|p| match p.watermark_time {
            None => Freshness::Unknown,
            Some(w) if w < input.pit || (input.now - w).num_seconds() > max_lag => Freshness::Stale,
            Some(_) => Freshness::Fresh,
        })
        .collect();
    let mut reasons = Vec::new();
    if freshness.is_empty() || freshness.contains(&Freshness::Unknown) {
        reasons.push(GateReason::BlockedFreshnessUnknown);
    }
    if input.delete_candidates.iter().any(|c| c.decision.is_none()) {
        reasons.push(GateReason::BlockedUnresolvedDeleteCandidates);
    }
    if !input.reference_conflicts.is_empty() {
        reasons.push(GateReason::BlockedReferenceConflict);
    }
    if freshness.contains(&Freshness::Stale) {
        reasons.push(GateReason::BlockedFreshnessStale);
    }
    let executability = match reasons.as_slice() {
        [] => Executability::Executable,
        [GateReason::BlockedFreshnessStale] => Executability::PreviewOnly,
        _ => Executability::Blocked,
    };
    GateOutput {
        executability,
        reason_code: reasons.first().copied(),
        reasons,
        partition_freshness: freshness,
    }
}

/// Samples each of `fs` `SAMPLES` times, interleaved in batches of
/// `BATCH`, so that a slow phase of a shared machine (another tenant of
/// the host, a timer storm) lands on all of them alike and the ratios stay
/// meaningful. Returns each one's sorted samples.
fn measure<const N: usize>(mut fs: [&mut dyn FnMut(); N]) -> [Vec<Duration>; N] {
    for f in fs.iter_mut() {
        for _ in 0..WARMUP {
            f();
        }
    }
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(SAMPLES));
    for _ in 0..SAMPLES / BATCH {
        for (f, samples) in fs.iter_mut().zip(samples.iter_mut()) {
            for _ in 0..BATCH {
                let started = Instant::now();
                f();
                samples.push(started.elapsed());
            }
        }
    }
    for s in samples.iter_mut() {
        s.sort();
    }
    samples
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ratio(a: &[Duration], b: &[Duration], p: usize) -> f64 {
    percentile(a, p).as_secs_f64() / percentile(b, p).as_secs_f64().max(1e-9)
}

fn report(name: &str, sorted: &[Duration]) {
    println!(
        "{name:<52} {:>8.2}µs {:>8.2}µs",
        percentile(sorted, 50).as_secs_f64() * 1e6,
        percentile(sorted, 99).as_secs_f64() * 1e6
    );
}
