//! The one wasmtime `Engine` of the policy host and its limits: linear
//! memories allocated on the heap per instance (see [`PolicyEngine::new`]),
//! epoch interruption driven by a ticker thread that holds only a weak
//! handle (so dropping the host stops it), and no WASI or any other import
//! (plugins import nothing).

use std::hash::Hasher;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy};

/// The initial memory of a plugin built by `plugin-build`: one 64 KiB wasm
/// page (its 16 KiB stack, its data and its arena). Every decision
/// allocates, zeroes and initialises a plugin's whole initial memory, so
/// each byte past it costs every decision.
pub(crate) const COMPACT_MEMORY_BYTES: usize = 64 << 10;

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
    /// The hard cap whatever the input (default 256 MiB).
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
    /// The engine. A decision gets a fresh instance whose memory is one
    /// small heap allocation: no address space reserved, no guard pages,
    /// so a memory access is bounds-checked by the compiled code rather
    /// than caught by a signal, and the instance and its memory are
    /// allocated and freed like any host value (`OnDemand`, which with no
    /// reservation, guard or copy-on-write image backs a memory with a
    /// `Vec`). Against the pooling allocator, which hands out
    /// pre-reserved slots and puts a dropped instance's memory back to
    /// its image in place, this measured about a tenth less per decision
    /// in the peer bench (benches/policy-peers/README.md). The memory cap
    /// is the store's limiter's (`sandbox::new_store`).
    pub(crate) fn new(limits: PolicyLimits) -> Result<Self, String> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::OnDemand)
            .signals_based_traps(false)
            .memory_reservation(0)
            .memory_guard_size(0)
            .memory_reservation_for_growth(0)
            .memory_init_cow(false);
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
