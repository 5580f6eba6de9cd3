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
//! - E: the native rules alone, for scale;
//! - F: the floor, column A's path with plugins that allow without
//!   deciding (`plugins/fixtures/floor-*`, built by `build.rs`), making as
//!   many decisions as A makes for the call: what any plugin of this
//!   contract costs through the service's path before its rule runs. It is
//!   timed in a second pass, in A's place (see `bench`).
//!
//! Before timing, every column must reach the expected verdict on every
//! call in `cases` (A and B value for value); a disagreement exits
//! non-zero. Then prints p50/p99 per column and call, the ratios,
//! "goal met"/"goal NOT met" for A p99 < Cedar p99 and A p99 <= 3x B p99,
//! and whether the floor F itself is within each goal: when it is not, no
//! rule compiled to a plugin can meet that goal on this machine and build.
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
    CapabilityDecision, Decision, MediaCapsOutput, PolicyConfig, PolicyHostOptions, PolicyKind,
    PolicyRegistry,
};
use sha2::{Digest, Sha256};

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

/// Column F: as many decisions as the service makes for `call`, through
/// the same registry path, by plugins that allow without deciding.
fn floor(registry: &PolicyRegistry, call: &Call) -> Decided {
    let capability = registry.decide_capability(&call.capability);
    let media =
        (call.expected != Verdict::DenyCapability).then(|| registry.decide_media_caps(&call.media));
    (capability, media)
}

/// The default policy set with the capability and media caps plugins
/// replaced by the floor plugins, pinned by their digests.
fn floor_registry(policies: &Path) -> anyhow::Result<PolicyRegistry> {
    let mut config = PolicyConfig::from_file(policies)?;
    let dir = Path::new(env!("OUT_DIR")).join("floor");
    for (kind, file) in [
        (PolicyKind::Capability, "capability.wasm"),
        (PolicyKind::MediaCaps, "media-caps.wasm"),
    ] {
        let path = dir.join(file);
        let bytes = std::fs::read(&path)?;
        let entry = config.entry_mut(kind);
        entry.plugin = path.display().to_string();
        entry.sha256 = hex::encode(Sha256::digest(&bytes));
        entry.settings = serde_json::json!({});
        entry.shadow = None;
    }
    Ok(PolicyRegistry::from_config(
        config,
        PolicyHostOptions::default(),
    )?)
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
    floor: PolicyRegistry,
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
        let (capability, media) = floor(&peers.floor, call);
        let f_allows = matches!(capability.result, Ok(CapabilityDecision::Allow))
            && media.is_none_or(|m| m.result.is_ok_and(|m| m.decision.is_allowed()));
        anyhow::ensure!(f_allows, "{}: the floor plugins did not allow", call.name);
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

/// p99 of A (and of the floor F) against Cedar and B, per timed call.
#[derive(Clone, Copy)]
struct Goals {
    below_cedar: bool,
    within_3x: bool,
}

impl Goals {
    const ALL: Self = Self {
        below_cedar: true,
        within_3x: true,
    };

    fn of(x: &[Duration], b: &[Duration], c: &[Duration]) -> Self {
        Self {
            below_cedar: percentile(x, 99) < percentile(c, 99),
            within_3x: ratio(x, b, 99) <= 3.0,
        }
    }

    fn and(self, other: Self) -> Self {
        Self {
            below_cedar: self.below_cedar && other.below_cedar,
            within_3x: self.within_3x && other.within_3x,
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "goal met"
    } else {
        "goal NOT met"
    }
}

fn reach(within: bool) -> &'static str {
    if within {
        "within reach"
    } else {
        "out of reach for any plugin"
    }
}

/// One interleaved pass over `call`: `first` (A, or F in A's place), then
/// B, C, D and E, each in turn; their sorted samples in that order.
fn pass(peers: &Peers, call: &Call, first: &mut dyn FnMut(), batch: usize) -> [Vec<Duration>; 5] {
    let (registry, settings) = (&peers.registry, &peers.settings);
    measure(
        [
            first,
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
    )
}

/// Times `call` in every column; returns the goals for A and for F.
///
/// F gets a pass of its own, in A's place: a column's first call in a
/// batch runs after the columns before it, and its p99 depends on what they
/// left in the caches (wasmtime's code run just before makes A's or F's
/// first call cheap; Rego's makes it dear). So F is compared with the B and
/// C of its own pass, in the same position A has in the first.
fn bench(peers: &Peers, call: &Call) -> (Goals, Goals) {
    let batch = batch();
    let [a, b, c, d, e] = pass(
        peers,
        call,
        &mut || {
            black_box(wasm(&peers.registry, black_box(call)));
        },
        batch,
    );
    let [f, fb, fc, _, _] = pass(
        peers,
        call,
        &mut || {
            black_box(floor(&peers.floor, black_box(call)));
        },
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
    report(
        "F floor: A's path, plugins that allow undecided (own pass)",
        &f,
    );
    report("  B in F's pass", &fb);
    report("  C in F's pass", &fc);
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
    show("F/B", &f, &fb);
    show("F/C", &f, &fc);
    let goals = Goals::of(&a, &b, &c);
    let floor = Goals::of(&f, &fb, &fc);
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
    println!(
        "floor: F p99 < Cedar p99 {} ({:.2} µs), F p99 <= 3x B p99 {} ({:.2}x)",
        reach(floor.below_cedar),
        percentile(&f, 99).as_secs_f64() * 1e6,
        reach(floor.within_3x),
        ratio(&f, &b, 99)
    );
    (goals, floor)
}

fn main() -> anyhow::Result<()> {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.toml");
    let registry = PolicyRegistry::load(&policies, PolicyHostOptions::default())?;
    let floor = floor_registry(&policies)?;
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
        floor,
        settings,
    };
    let calls = cases::calls();
    check(&peers, &calls)?;
    let (mut all, mut all_floor) = (Goals::ALL, Goals::ALL);
    for call in calls.iter().take(cases::TIMED) {
        let (goals, floor) = bench(&peers, call);
        all = all.and(goals);
        all_floor = all_floor.and(floor);
    }
    println!();
    println!(
        "overall: {} (A p99 < Cedar p99), {} (A p99 <= 3x B p99)",
        verdict(all.below_cedar),
        verdict(all.within_3x)
    );
    println!(
        "floor overall: A p99 < Cedar p99 {}, A p99 <= 3x B p99 {}",
        reach(all_floor.below_cedar),
        reach(all_floor.within_3x)
    );
    Ok(())
}
