//! Interleaved sampling and percentiles, as in the service's own policy
//! bench (`host/benches/policy_decisions.rs`): every column is sampled in
//! turn, in batches, so a slow phase of a shared machine lands on all of
//! them alike and the ratios stay meaningful.

use std::time::{Duration, Instant};

pub const WARMUP: usize = 2_000;
pub const SAMPLES: usize = 20_000;
pub const BATCH: usize = 100;

/// The batch size: `RRS_PEERS_BATCH`, else [`BATCH`]. A column's first
/// call in a batch runs with caches the other columns just used, so the
/// batch size sets how many of its samples are such cold calls (1 in 100
/// by default: as many as the p99 looks at).
pub fn batch() -> usize {
    std::env::var("RRS_PEERS_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|b| (1..=SAMPLES).contains(b))
        .unwrap_or(BATCH)
}

/// Samples each of `fs` `SAMPLES` times after `WARMUP` calls, interleaved in
/// batches of `batch`; returns each one's sorted samples.
pub fn measure<const N: usize>(mut fs: [&mut dyn FnMut(); N], batch: usize) -> [Vec<Duration>; N] {
    for f in fs.iter_mut() {
        for _ in 0..WARMUP {
            f();
        }
    }
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(SAMPLES));
    for _ in 0..SAMPLES / batch {
        for (f, samples) in fs.iter_mut().zip(samples.iter_mut()) {
            for _ in 0..batch {
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

pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

pub fn ratio(a: &[Duration], b: &[Duration], p: usize) -> f64 {
    percentile(a, p).as_secs_f64() / percentile(b, p).as_secs_f64().max(1e-9)
}

pub fn report(name: &str, sorted: &[Duration]) {
    println!(
        "{name:<58} {:>8.2}µs {:>8.2}µs",
        percentile(sorted, 50).as_secs_f64() * 1e6,
        percentile(sorted, 99).as_secs_f64() * 1e6
    );
}
