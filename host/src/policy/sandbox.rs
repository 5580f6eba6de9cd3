//! One sandboxed call: a fresh `Store` per decision (a component that
//! trapped cannot be entered again, and a reused instance would leak guest
//! state between decisions) with a memory cap that traps instead of letting
//! `memory.grow` quietly return -1, and an epoch deadline (without one the
//! store's default deadline traps at once). Whatever goes wrong becomes a
//! typed [`PolicyFailure`].

use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};

use super::engine::{Budget, PolicyEngine};
use super::failure::{PolicyFailure, PolicyFailureKind};

/// The store's data: its limits, and whether the memory cap was hit.
pub(crate) struct HostState {
    limits: StoreLimits,
    budget: Budget,
    memory_cap_hit: bool,
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let result = self.limits.memory_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.memory_cap_hit = true;
        }
        result
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_cap_hit = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// A fresh store with the host's limits and deadline for a call whose
/// input has `items` items.
pub(crate) fn new_store(engine: &PolicyEngine, items: usize) -> Store<HostState> {
    let budget = engine.budget(items);
    let limits = StoreLimitsBuilder::new()
        .memory_size(budget.memory_bytes)
        .instances(4)
        .memories(1)
        .tables(2)
        .trap_on_grow_failure(true)
        .build();
    let mut store = Store::new(
        &engine.engine,
        HostState {
            limits,
            budget,
            memory_cap_hit: false,
        },
    );
    store.limiter(|state| state as &mut dyn ResourceLimiter);
    store.set_epoch_deadline(budget.deadline_ticks);
    store
}

/// Instantiates with `instantiate`, then runs `call`, in a fresh store
/// sized for an input of `items` items.
pub(crate) fn run<P, T>(
    engine: &PolicyEngine,
    items: usize,
    instantiate: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<P>,
    call: impl FnOnce(&P, &mut Store<HostState>) -> wasmtime::Result<T>,
) -> Result<T, PolicyFailure> {
    let mut store = new_store(engine, items);
    let instance = instantiate(&mut store).map_err(|e| {
        PolicyFailure::new(
            PolicyFailureKind::PolicyTrap,
            format!("instantiation failed: {}", classify(e, &store).message),
        )
    })?;
    call(&instance, &mut store).map_err(|e| classify(e, &store))
}

/// Timeout, trap (the memory cap included) or, for any other error of a
/// call (lifting an invalid enum, string or pointer), bad output.
fn classify(error: wasmtime::Error, store: &Store<HostState>) -> PolicyFailure {
    let budget = store.data().budget;
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return PolicyFailure::new(
            PolicyFailureKind::PolicyTimeout,
            format!("the plugin ran past its {:?} deadline", budget.timeout),
        );
    }
    if store.data().memory_cap_hit {
        return PolicyFailure::new(
            PolicyFailureKind::PolicyTrap,
            format!(
                "the plugin exceeded its memory cap of {} bytes: {error:#}",
                budget.memory_bytes
            ),
        );
    }
    match trap {
        Some(trap) => {
            PolicyFailure::new(PolicyFailureKind::PolicyTrap, format!("{trap}: {error:#}"))
        }
        None => PolicyFailure::new(
            PolicyFailureKind::PolicyBadOutput,
            format!("invalid output from the plugin: {error:#}"),
        ),
    }
}
