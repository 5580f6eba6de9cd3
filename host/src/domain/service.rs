//! The one face of the domain that the API talks to, in the manner of
//! omicron's Nexus behind dropshot's handlers.
//!
//! [`RestoreService`] owns what the restore logic works with (the store,
//! the policy registry, the media store, the evidence signer and the
//! configuration); handlers hold only it, turn HTTP into calls of its
//! methods and the answers back into HTTP, and never see a storage type.
//! Each method authorises its caller once (capabilities and tenant scope),
//! here rather than in the handler, so no path can skip the check and no
//! check runs twice. The methods themselves live beside the logic they
//! start (`impl RestoreService` blocks in `plan`, `jobs`, `execute`, ...).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Semaphore;

use super::evidence::Evidence;
use super::principal::Principal;
use super::DomainError;
use crate::config::Config;
use crate::media_store::MediaStore;
use crate::policy::PolicyRegistry;
use crate::store::Store;
use crate::target::Targets;
use crate::telemetry::metrics::MetricsHandle;

/// The restore service's domain: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct RestoreService {
    pub(super) store: Store,
    pub(super) policies: PolicyRegistry,
    pub(super) evidence: Arc<Evidence>,
    pub(super) media: MediaStore,
    /// The instances restores read from and write into.
    pub(super) targets: Targets,
    pub(super) config: Arc<Config>,
    metrics: MetricsHandle,
    /// Set once shutdown starts; running executions pause at the next
    /// chunk boundary.
    pub(super) shutting_down: Arc<AtomicBool>,
    /// This process's id in execution leases.
    pub(super) instance_id: String,
    /// Dry-runs that may run at once: each holds several pooled connections
    /// at a time (its plan's transaction and the two scans it merges), so
    /// unbounded they could take the whole pool and wait on each other.
    pub(super) dry_runs: Arc<Semaphore>,
}

/// Whether the service can take traffic (`GET /readyz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    pub migrations: bool,
}

impl RestoreService {
    /// Assembles the service from its parts (see `crate::prepare`).
    pub fn new(
        store: Store,
        policies: PolicyRegistry,
        evidence: Evidence,
        media: MediaStore,
        config: Config,
        metrics: MetricsHandle,
    ) -> Result<Self, String> {
        let targets = Targets::new(store.clone(), &config.targets)?;
        Ok(Self {
            targets,
            store,
            policies,
            evidence: Arc::new(evidence),
            media,
            metrics,
            shutting_down: Arc::new(AtomicBool::new(false)),
            instance_id: format!("rrs-{}", uuid::Uuid::new_v4().simple()),
            dry_runs: Arc::new(Semaphore::new(dry_run_slots(
                config.database.max_connections,
            ))),
            config: Arc::new(config),
        })
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The loaded policy set (reloaded on SIGHUP).
    pub fn policies(&self) -> &PolicyRegistry {
        &self.policies
    }

    /// Resolves a bearer token to its principal: `401` for no, an unknown
    /// or a revoked token, or an expired one.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, DomainError> {
        super::auth::authenticate(&self.store, token, Utc::now()).await
    }

    /// From now on, executions pause at their next chunk boundary.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether the database answers and every migration is applied.
    pub async fn readiness(&self) -> Readiness {
        match self.store.ready().await {
            Ok(migrations) => Readiness {
                database: true,
                migrations,
            },
            Err(_) => Readiness {
                database: false,
                migrations: false,
            },
        }
    }

    /// The Prometheus text of every metric.
    pub fn render_metrics(&self) -> String {
        self.metrics.render()
    }

    /// Starts the work that runs beside requests: the operations gauges,
    /// and the sweep that generates automatic evidence packages still owed
    /// (at once, then every `evidence.generation_sweep_seconds`), and the
    /// drill scheduler (every `drills.tick_seconds`).
    pub fn spawn_background(&self) -> Background {
        Background(vec![
            super::ops::view::spawn_refresher(
                self.store.clone(),
                self.policies.clone(),
                (*self.config).clone(),
            ),
            self.paying().spawn_sweeper(),
            self.spawn_drill_scheduler(),
            self.spawn_policy_sync(std::time::Duration::from_millis(
                self.config.policies.sync_interval_ms,
            )),
            self.spawn_shadow_recorder(),
        ])
    }
}

/// The background tasks of a running service.
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    /// Stops every task.
    pub fn abort(&self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A quarter of the pool, at least one: a dry-run holds up to three
/// connections at a time, so the rest of the pool stays free for other work.
fn dry_run_slots(max_connections: u32) -> usize {
    (max_connections as usize / 4).max(1)
}
