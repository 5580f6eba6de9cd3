//! Fresh instances made before the decisions that use them.
//!
//! Every decision runs in a fresh instance that is used once and dropped
//! (see [`super::sandbox`]). Making one (a store, the pool slot, the
//! instance and its typed exports) and dropping one (the pool resets the
//! memory the decision dirtied) are most of what the sandbox costs a
//! decision, and neither depends on the input. So each live plugin keeps a
//! few spares, instantiated ahead by a worker thread, never entered: a
//! decision takes one, gives it its budget and deadline, calls it, and
//! hands the used store back to the worker, which drops it and makes the
//! next spare. Isolation is unchanged (no instance decides twice); the
//! CPU a decision costs is the same, but its latency loses the two steps.
//!
//! When there is no spare (a burst, or the worker is behind), the decision
//! instantiates inline as it would without the pool; when the worker's
//! queue is full it drops the used store itself. Used stores waiting for
//! the worker are bounded ([`RETIRE_QUEUE`]), so they never take more of
//! the engine's instance pool than that. A plugin whose spare cannot be
//! made (its instantiation fails) gets no more spares; its decisions
//! instantiate inline and fail there with the usual message.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use wasmtime::Store;

use super::bindings::{capability, gate, gate_v1_0, media_caps};
use super::engine::PolicyEngine;
use super::loader::Pre;
use super::sandbox::{self, HostState};

/// Used stores and refills waiting for the worker; past this, a decision
/// drops its store itself and the pool refills on a later one.
pub(crate) const RETIRE_QUEUE: usize = 32;

/// An instance of a plugin's world, not yet called.
pub(crate) enum Fresh {
    Gate(gate::Gate),
    GateV1_0(gate_v1_0::Gate),
    Capability(capability::Capability),
    MediaCaps(media_caps::MediaCaps),
}

impl Pre {
    /// A new instance in `store`, typed by world.
    pub(crate) fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Fresh> {
        Ok(match self {
            Pre::Gate(p) => Fresh::Gate(p.instantiate(store)?),
            Pre::GateV1_0(p) => Fresh::GateV1_0(p.instantiate(store)?),
            Pre::Capability(p) => Fresh::Capability(p.instantiate(store)?),
            Pre::MediaCaps(p) => Fresh::MediaCaps(p.instantiate(store)?),
        })
    }
}

/// A never-called instance and its store.
pub(crate) struct Spare {
    pub(crate) store: Store<HostState>,
    pub(crate) instance: Fresh,
}

/// One plugin's spares: what decisions take from.
pub(crate) struct WarmPool {
    pre: Pre,
    spares: Mutex<Vec<Spare>>,
    /// How many spares to keep; 0 for a plugin decided inline only (shadow
    /// candidates, plugins being loaded, `warm_instances = 0`).
    target: usize,
    /// Set when a spare could not be made.
    broken: AtomicBool,
    worker: Option<SyncSender<Job>>,
    /// Decisions that took a spare (the tests look).
    taken: AtomicU64,
}

impl WarmPool {
    /// A pool that keeps no spares: every decision instantiates inline.
    pub(crate) fn inline(pre: Pre) -> Arc<Self> {
        Arc::new(Self {
            pre,
            spares: Mutex::new(Vec::new()),
            target: 0,
            broken: AtomicBool::new(false),
            worker: None,
            taken: AtomicU64::new(0),
        })
    }

    /// The plugin's pre-instantiated component.
    pub(crate) fn pre(&self) -> &Pre {
        &self.pre
    }

    /// A spare, when one is ready.
    pub(crate) fn take(&self) -> Option<Spare> {
        if self.target == 0 {
            return None;
        }
        let spare = self.lock().pop();
        if spare.is_some() {
            self.taken.fetch_add(1, Ordering::Relaxed);
        }
        spare
    }

    /// How many decisions took a spare.
    #[cfg(test)]
    pub(crate) fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Spares ready now.
    #[cfg(test)]
    pub(crate) fn ready(&self) -> usize {
        self.lock().len()
    }

    /// Hands a used store to the worker (which drops it and tops the pool
    /// up); drops it here when there is no worker or its queue is full.
    pub(crate) fn retire(self: &Arc<Self>, used: Store<HostState>) {
        let Some(worker) = &self.worker else {
            return;
        };
        if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) =
            worker.try_send(Job {
                pool: Arc::clone(self),
                used: Some(used),
            })
        {
            drop(job);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Spare>> {
        // Popping or pushing cannot leave the vector half-changed.
        self.spares
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes spares until there are `target`; on the worker thread.
    fn fill(&self, engine: &PolicyEngine) {
        while !self.broken.load(Ordering::Relaxed) && self.lock().len() < self.target {
            let mut store = sandbox::new_store(engine, 0);
            match self.pre.instantiate(&mut store) {
                Ok(instance) => self.lock().push(Spare { store, instance }),
                Err(error) => {
                    self.broken.store(true, Ordering::Relaxed);
                    tracing::warn!(error = %format!("{error:#}"),
                        "a policy plugin's spare instance cannot be made; its decisions \
                         instantiate inline");
                }
            }
        }
    }
}

/// A used store to drop, then a pool to top up.
struct Job {
    pool: Arc<WarmPool>,
    used: Option<Store<HostState>>,
}

/// The worker thread shared by a registry's pools, started with the first
/// pool that keeps spares. It stops when the last pool and the registry
/// are dropped (the channel closes).
pub(crate) struct Warmer {
    engine: PolicyEngine,
    per_plugin: usize,
    worker: Mutex<Option<SyncSender<Job>>>,
}

impl Warmer {
    pub(crate) fn new(engine: &PolicyEngine) -> Self {
        Self {
            per_plugin: engine.limits.warm_instances,
            engine: engine.clone(),
            worker: Mutex::new(None),
        }
    }

    /// A pool of spares for `pre`, filling in the background; an inline
    /// one when spares are turned off or the worker cannot start.
    pub(crate) fn pool(&self, pre: Pre) -> Arc<WarmPool> {
        if self.per_plugin == 0 {
            return WarmPool::inline(pre);
        }
        let Some(worker) = self.worker() else {
            return WarmPool::inline(pre);
        };
        let pool = Arc::new(WarmPool {
            pre,
            spares: Mutex::new(Vec::new()),
            target: self.per_plugin,
            broken: AtomicBool::new(false),
            worker: Some(worker.clone()),
            taken: AtomicU64::new(0),
        });
        // A full queue only delays the first spares to the first decision.
        let _ = worker.try_send(Job {
            pool: Arc::clone(&pool),
            used: None,
        });
        pool
    }

    fn worker(&self) -> Option<SyncSender<Job>> {
        let mut worker = self
            .worker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sender) = worker.as_ref() {
            return Some(sender.clone());
        }
        let (tx, rx) = mpsc::sync_channel(RETIRE_QUEUE);
        let engine = self.engine.clone();
        let spawned = std::thread::Builder::new()
            .name("rrs-policy-warm".into())
            .spawn(move || work(&engine, &rx));
        match spawned {
            Ok(_) => {
                *worker = Some(tx.clone());
                Some(tx)
            }
            Err(error) => {
                tracing::error!(%error, "cannot start the policy warm-instance worker; \
                    decisions instantiate inline");
                None
            }
        }
    }
}

fn work(engine: &PolicyEngine, jobs: &Receiver<Job>) {
    while let Ok(Job { pool, used }) = jobs.recv() {
        drop(used);
        pool.fill(engine);
    }
}
