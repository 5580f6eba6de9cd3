//! The one wasmtime `Engine` of the policy host and its limits: the pooling
//! allocator with a capped memory reservation (the default reserves 4 GiB
//! of address space per memory), epoch interruption driven by a ticker
//! thread that holds only a weak handle (so dropping the host stops it), and
//! no WASI or any other import (plugins import nothing).

use std::hash::Hasher;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Linear memory reset in place (not released) when an instance is
/// dropped: one 64 KiB wasm page, the whole initial memory of a plugin
/// built by `plugin-build` (its 16 KiB stack, its data and its arena).
pub(crate) const KEEP_RESIDENT_BYTES: usize = 64 << 10;

/// Per-decision limits. A call's memory cap and deadline are a base plus
/// an allowance per input item (partition, delete candidate, reference
/// conflict, table), because passing the input itself costs memory and time
/// in the guest (~1.5 µs and ~0.2 KiB per delete candidate): a plan with
/// 100 000 candidates must not be denied for its size. Both stay bounded by
/// the host-controlled input, and memory by `max_memory_bytes`.
#[derive(Debug, Clone)]
pub struct PolicyLimits {
    /// Linear memory one instance may use, plus the per-item allowance
    /// (default 16 MiB).
    pub memory_bytes: usize,
    /// Memory allowance per input item (default 1 KiB).
    pub memory_bytes_per_item: usize,
    /// The hard cap whatever the input (and the pool's memory reservation
    /// per slot; default 256 MiB).
    pub max_memory_bytes: usize,
    /// How long one call may run, plus the per-item allowance (default
    /// 100 ms; a decision takes µs). Past this much wall time a call may
    /// still use as much CPU time again before it is stopped, and never
    /// runs past ten times it (see `policy::deadline`).
    pub timeout: Duration,
    /// Time allowance per input item (default 20 µs).
    pub timeout_per_item: Duration,
    /// The epoch tick; the deadlines are checked once a tick.
    pub epoch_tick: Duration,
    /// Instances alive at once (the pool's size; default 256).
    pub max_instances: u32,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 16 << 20,
            memory_bytes_per_item: 1 << 10,
            max_memory_bytes: 256 << 20,
            timeout: Duration::from_millis(100),
            timeout_per_item: Duration::from_micros(20),
            epoch_tick: Duration::from_millis(10),
            max_instances: 256,
        }
    }
}

/// What one call may use, from the limits and the size of its input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) memory_bytes: usize,
    pub(crate) timeout: Duration,
    pub(crate) deadline_ticks: u64,
}

/// How to run the policy host.
#[derive(Debug, Clone, Default)]
pub struct PolicyHostOptions {
    pub limits: PolicyLimits,
    /// A host-owned directory for compiled plugins (e.g.
    /// `<data dir>/policy-cache`); `None` compiles in memory every load.
    pub cache_dir: Option<PathBuf>,
}

pub(crate) struct PolicyEngine {
    pub(crate) engine: Engine,
    pub(crate) limits: PolicyLimits,
    tick: Duration,
    /// Hex sha256 of the engine's precompile compatibility hash.
    pub(crate) compat_key: String,
}

impl PolicyEngine {
    pub(crate) fn new(limits: PolicyLimits) -> Result<Self, String> {
        let mut pool = PoolingAllocationConfig::default();
        let n = limits.max_instances.max(1);
        let max_memory = limits.max_memory_bytes.max(limits.memory_bytes);
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(4))
            .max_core_instances_per_component(4)
            .total_memories(n)
            .max_memories_per_component(1)
            .total_tables(n.saturating_mul(2))
            .max_tables_per_component(2)
            .max_memory_size(max_memory)
            // A fresh instance per decision: when it is dropped, its memory
            // is put back to the module's image in place (memcpy and
            // memset) instead of released with madvise, so the next
            // instance takes no page faults (measured: ~20 µs less per
            // decision). The whole 64 KiB memory of a default plugin is
            // reset without asking the kernel which pages were written:
            // a PAGEMAP_SCAN ioctl cost 1.5-1.9 µs per decision, resetting
            // 64 KiB costs about 0.8 µs. Memory past 64 KiB (a plugin with
            // a bigger stack, or one that grew) is released with madvise.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES.min(max_memory))
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::No);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .memory_reservation(max_memory as u64)
            .memory_reservation_for_growth(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| format!("wasmtime engine: {e:#}"))?;
        let tick = limits.epoch_tick.max(Duration::from_millis(1));
        spawn_ticker(&engine, tick)?;
        let compat_key = compat_key(&engine);
        Ok(Self {
            engine,
            limits,
            tick,
            compat_key,
        })
    }

    /// The budget of a call whose input has `items` items.
    pub(crate) fn budget(&self, items: usize) -> Budget {
        let l = &self.limits;
        let memory_bytes = l
            .memory_bytes
            .saturating_add(l.memory_bytes_per_item.saturating_mul(items))
            .min(l.max_memory_bytes.max(l.memory_bytes));
        let per_item = l
            .timeout_per_item
            .saturating_mul(u32::try_from(items).unwrap_or(u32::MAX));
        let timeout = l.timeout.saturating_add(per_item);
        // The deadline fires on the first tick at or past it: one extra
        // tick so a call always gets at least `timeout`.
        let ticks = u64::try_from(timeout.as_nanos() / self.tick.as_nanos()).unwrap_or(u64::MAX);
        Budget {
            memory_bytes,
            timeout,
            deadline_ticks: ticks.max(1).saturating_add(1),
        }
    }
}

/// Increments the epoch every `tick` until the engine is dropped.
fn spawn_ticker(engine: &Engine, tick: Duration) -> Result<(), String> {
    let weak = engine.weak();
    thread::Builder::new()
        .name("rrs-policy-epoch".into())
        .spawn(move || loop {
            thread::sleep(tick);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })
        .map(|_| ())
        .map_err(|e| format!("starting the policy epoch ticker: {e}"))
}

/// Feeds `Hash` output into sha256, for a cache key stable across runs.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn compat_key(engine: &Engine) -> String {
    use std::hash::Hash;
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
}
