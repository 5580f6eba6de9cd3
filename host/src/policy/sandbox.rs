//! One sandboxed call: a fresh `Store` per decision (a component that
//! trapped cannot be entered again, and a reused instance would leak guest
//! state between decisions) with a memory cap that traps instead of letting
//! `memory.grow` quietly return -1, and an epoch deadline (without one the
//! store's default deadline traps at once) that checks the call's CPU time
//! before stopping it (see [`super::deadline`]). Whatever goes wrong becomes
//! a typed [`PolicyFailure`].

use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline};

use super::deadline::{CallClock, Overrun, WALL_CAP_BUDGETS};
use super::engine::{Budget, PolicyEngine};
use super::failure::{PolicyFailure, PolicyFailureKind};

/// The store's data: its limits, its clock, and whether the memory cap was
/// hit.
pub(crate) struct HostState {
    limits: StoreLimits,
    budget: Budget,
    clock: CallClock,
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
            clock: CallClock::start(),
            memory_cap_hit: false,
        },
    );
    store.limiter(|state| state as &mut dyn ResourceLimiter);
    store.set_epoch_deadline(budget.deadline_ticks);
    // Past the wall deadline, look again every tick.
    store.epoch_deadline_callback(|mut ctx| {
        let state = ctx.data_mut();
        match state.clock.on_deadline(state.budget.timeout) {
            Ok(()) => Ok(UpdateDeadline::Continue(1)),
            Err(_) => Ok(UpdateDeadline::Interrupt),
        }
    });
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
        let message = match store.data().clock.overrun {
            Some(Overrun::Wall) => format!(
                "the plugin ran past its deadline of {WALL_CAP_BUDGETS} x {:?} of wall time",
                budget.timeout
            ),
            _ => format!(
                "the plugin ran past its deadline: {:?} of CPU time after {:?} of wall time",
                budget.timeout, budget.timeout
            ),
        };
        return PolicyFailure::new(PolicyFailureKind::PolicyTimeout, message);
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
