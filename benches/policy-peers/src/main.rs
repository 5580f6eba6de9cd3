//! The policy peer bench (issue #19): one execute call's capability and
//! media-cap checks, decided four ways over the same inputs in one run,
//! interleaved:
//!
//! - A: the service's wasm plugins through `PolicyRegistry` (a fresh
//!   instance per decision, output checks, decision record, span and
//!   metrics): `decide_capability`, then `decide_media_caps` when it
//!   allows, exactly what the service does for one execute call;
//! - B: the same rules in native Rust through the same registry path
//!   (`decide_capability_natively` / `decide_media_caps_natively`);
//! - C: the rules as a Cedar policy set (`cedar-policy`), see `cedar`;
//! - D: the rules as Rego (`regorus`), see `rego`;
//! - E: the native rules alone, for scale.
//!
//! Before timing, every column must reach the expected verdict on every
//! call in `cases` (A and B value for value); a disagreement exits
//! non-zero. Then prints p50/p99 per column and call, the ratios, and
//! "goal met"/"goal NOT met" for A p99 < Cedar p99 and A p99 <= 3x B p99.
//!
//! Run (release): `cargo run --release` in `benches/policy-peers`.

mod cases;
mod cedar;
mod measure;
mod native;
mod rego;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use rrs::policy::{
    CapabilityDecision, Decision, MediaCapsOutput, PolicyHostOptions, PolicyKind, PolicyRegistry,
};

use cases::{Call, Verdict};
use measure::{batch, measure, percentile, ratio, report, SAMPLES, WARMUP};
use native::Settings;

/// The service's two decisions for one call, as the execution domain
/// makes them: media caps only when the capability check allows.
type Decided = (
    Decision<CapabilityDecision>,
    Option<Decision<MediaCapsOutput>>,
);

fn wasm(registry: &PolicyRegistry, call: &Call) -> Decided {
    let capability = registry.decide_capability(&call.capability);
    let allowed = matches!(capability.result, Ok(CapabilityDecision::Allow));
    let media = allowed.then(|| registry.decide_media_caps(&call.media));
    (capability, media)
}

fn native_path(registry: &PolicyRegistry, settings: &Settings, call: &Call) -> Decided {
    let capability = registry
        .decide_capability_natively(&call.capability, |i, _| native::capability(settings, i));
    let allowed = matches!(capability.result, Ok(CapabilityDecision::Allow));
    let media = allowed.then(|| {
        registry.decide_media_caps_natively(&call.media, |i, _| native::media_caps(settings, i))
    });
    (capability, media)
}

fn bare(settings: &Settings, call: &Call) -> Verdict {
    let capability = native::capability(settings, &call.capability);
    let media = capability
        .is_allowed()
        .then(|| native::media_caps(settings, &call.media));
    Verdict::of(&capability, media.as_ref()).unwrap_or(Verdict::DenyCapability)
}

/// The verdict and the values of the service's decisions.
fn outcome(
    decided: &Decided,
) -> anyhow::Result<(Verdict, CapabilityDecision, Option<MediaCapsOutput>)> {
    let capability = decided.0.result.clone()?;
    let media = match &decided.1 {
        Some(m) => Some(m.result.clone()?),
        None => None,
    };
    let verdict = Verdict::of(&capability, media.as_ref())
        .ok_or_else(|| anyhow::anyhow!("media caps decided after a capability denial"))?;
    Ok((verdict, capability, media))
}

struct Peers {
    registry: PolicyRegistry,
    settings: Settings,
    cedar: cedar::Cedar,
    rego: rego::Rego,
}

/// Every column must conclude what the service must, on every call.
fn check(peers: &Peers, calls: &[Call]) -> anyhow::Result<()> {
    for call in calls {
        let a = outcome(&wasm(&peers.registry, call))?;
        let b = outcome(&native_path(&peers.registry, &peers.settings, call))?;
        let c = peers.cedar.decide(call)?;
        let d = peers.rego.decide(call)?;
        let e = bare(&peers.settings, call);
        anyhow::ensure!(a == b, "{}: wasm {a:?} but native {b:?}", call.name);
        for (column, verdict) in [("wasm", a.0), ("Cedar", c), ("Rego", d), ("bare native", e)] {
            anyhow::ensure!(
                verdict == call.expected,
                "{}: {column} concludes {verdict:?}, expected {:?}",
                call.name,
                call.expected
            );
        }
    }
    println!("all columns agree on all {} calls", calls.len());
    Ok(())
}

/// p99 of A against Cedar and B, per timed call.
struct Goals {
    below_cedar: bool,
    within_3x: bool,
}

fn bench(peers: &Peers, call: &Call) -> Goals {
    let (registry, settings) = (&peers.registry, &peers.settings);
    let batch = batch();
    let [a, b, c, d, e] = measure(
        [
            &mut || {
                black_box(wasm(registry, black_box(call)));
            },
            &mut || {
                black_box(native_path(registry, settings, black_box(call)));
            },
            &mut || {
                black_box(peers.cedar.decide(black_box(call))).ok();
            },
            &mut || {
                black_box(peers.rego.decide(black_box(call))).ok();
            },
            &mut || {
                black_box(bare(settings, black_box(call)));
            },
        ],
        batch,
    );
    println!();
    println!(
        "{}: {SAMPLES} samples each after {WARMUP} warm-up, interleaved in batches of {batch}",
        call.name
    );
    println!("{:<58} {:>10} {:>10}", "", "p50", "p99");
    report("A wasm plugins through the registry (fresh instances)", &a);
    report("B native twin, same registry decision path", &b);
    report("C Cedar (cedar-policy), request built per decision", &c);
    report("D Rego (regorus), input set per decision", &d);
    report("E native rules alone", &e);
    let show = |name: &str, x: &[Duration], y: &[Duration]| {
        println!(
            "ratio {name:<5} p50 {:>6.2}x p99 {:>6.2}x",
            ratio(x, y, 50),
            ratio(x, y, 99)
        );
    };
    show("A/B", &a, &b);
    show("A/C", &a, &c);
    show("A/D", &a, &d);
    show("C/B", &c, &b);
    let goals = Goals {
        below_cedar: percentile(&a, 99) < percentile(&c, 99),
        within_3x: ratio(&a, &b, 99) <= 3.0,
    };
    let verdict = |met: bool| if met { "goal met" } else { "goal NOT met" };
    println!(
        "{}: A p99 < Cedar p99 ({:.2} < {:.2} µs)",
        verdict(goals.below_cedar),
        percentile(&a, 99).as_secs_f64() * 1e6,
        percentile(&c, 99).as_secs_f64() * 1e6
    );
    println!(
        "{}: A p99 <= 3x B p99 ({:.2}x)",
        verdict(goals.within_3x),
        ratio(&a, &b, 99)
    );
    goals
}

fn main() -> anyhow::Result<()> {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.toml");
    let registry = PolicyRegistry::load(&policies, PolicyHostOptions::default())?;
    let setting = |kind| {
        registry
            .policy(kind)
            .map(|p| p.settings)
            .unwrap_or_default()
    };
    let settings = Settings::from_json(
        &setting(PolicyKind::Capability),
        &setting(PolicyKind::MediaCaps),
    );
    let peers = Peers {
        cedar: cedar::Cedar::new(&settings)?,
        rego: rego::Rego::new(&settings)?,
        registry,
        settings,
    };
    let calls = cases::calls();
    check(&peers, &calls)?;
    let mut all = Goals {
        below_cedar: true,
        within_3x: true,
    };
    for call in calls.iter().take(cases::TIMED) {
        let goals = bench(&peers, call);
        all.below_cedar &= goals.below_cedar;
        all.within_3x &= goals.within_3x;
    }
    println!();
    let verdict = |met: bool| if met { "goal met" } else { "goal NOT met" };
    println!(
        "overall: {} (A p99 < Cedar p99), {} (A p99 <= 3x B p99)",
        verdict(all.below_cedar),
        verdict(all.within_3x)
    );
    Ok(())
}
