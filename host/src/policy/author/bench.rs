//! `rrs policy bench`: how long one decision of a plugin takes, measured
//! through the service's own decision path (`PolicyRegistry::decide_*`: a
//! fresh sandboxed instance per decision with the service's limits, the
//! input hash, the record), so the numbers are what `serve` will spend.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use super::standalone;
use crate::policy::PolicyKind;

/// Decisions run before measuring (compiled code and the allocator warm up).
const WARM_UP: usize = 20;

/// The measured latencies, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub kind: PolicyKind,
    pub policy: String,
    pub digest: String,
    pub iterations: usize,
    /// How the measured decisions came out, e.g. `deny` (the last one).
    pub outcome: String,
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    pub max_us: f64,
}

impl BenchReport {
    pub fn summary(&self) -> String {
        format!(
            "{} {} sha256:{}\n{} decisions ({}), fresh instance each: p50 {:.1} µs, p99 {:.1} µs, \
             mean {:.1} µs, max {:.1} µs\n",
            self.kind,
            self.policy,
            self.digest,
            self.iterations,
            self.outcome,
            self.p50_us,
            self.p99_us,
            self.mean_us,
            self.max_us
        )
    }
}

/// Runs `iterations` decisions of `plugin` over the JSON input at `input`.
pub fn bench(
    kind: PolicyKind,
    plugin: &Path,
    input: &Path,
    settings: Option<serde_json::Value>,
    iterations: usize,
) -> anyhow::Result<BenchReport> {
    let registry = standalone::registry_for_plugin(kind, plugin, settings)?;
    let text = fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let info = registry
        .policy(kind)
        .with_context(|| format!("no {kind} policy loaded"))?;
    let bad_input = || format!("{} is not a valid {kind} input", input.display());
    let mut decide: Box<dyn FnMut() -> String> = match kind {
        PolicyKind::Gate => {
            let input = serde_json::from_str(&text).with_context(bad_input)?;
            Box::new(move || registry.decide_gate(&input).record.outcome.to_string())
        }
        PolicyKind::Capability => {
            let input = serde_json::from_str(&text).with_context(bad_input)?;
            Box::new(move || {
                registry
                    .decide_capability(&input)
                    .record
                    .outcome
                    .to_string()
            })
        }
        PolicyKind::MediaCaps => {
            let input = serde_json::from_str(&text).with_context(bad_input)?;
            Box::new(move || {
                registry
                    .decide_media_caps(&input)
                    .record
                    .outcome
                    .to_string()
            })
        }
    };
    let iterations = iterations.max(1);
    let mut outcome = String::new();
    for _ in 0..WARM_UP {
        outcome = decide();
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        outcome = decide();
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let at = |q: f64| {
        // Nearest rank; `iterations` is at least 1.
        let rank = (q * samples.len() as f64).ceil() as usize;
        us(samples[rank.clamp(1, samples.len()) - 1])
    };
    let total: Duration = samples.iter().sum();
    Ok(BenchReport {
        kind,
        policy: format!("{} {}", info.name, info.version),
        digest: info.digest,
        iterations,
        outcome,
        p50_us: at(0.50),
        p99_us: at(0.99),
        mean_us: us(total) / samples.len() as f64,
        max_us: samples.last().map_or(0.0, |d| us(*d)),
    })
}
