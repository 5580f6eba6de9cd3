//! What every handler can reach: the store and the configuration, handed
//! in through poem's `Data` so the API types stay stateless and the OpenAPI
//! document can be generated without a database.

use std::sync::Arc;

use crate::config::Config;
use crate::store::Store;

/// Shared state of one service process.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub policies: crate::policy::PolicyRegistry,
    /// The evidence signer and the retention terms packages carry.
    pub evidence: Arc<crate::domain::evidence::Evidence>,
    pub media: crate::media_store::MediaStore,
    pub config: Arc<Config>,
    pub metrics: crate::telemetry::metrics::MetricsHandle,
    /// Set once shutdown starts; running executions pause at the next
    /// chunk boundary.
    pub shutting_down: Arc<std::sync::atomic::AtomicBool>,
    /// This process's id in execution leases.
    pub instance_id: String,
}

impl AppState {
    /// What an execution needs of the process.
    pub fn exec_context(&self) -> crate::domain::execute::ExecContext {
        let settings = &self.config.execution;
        crate::domain::execute::ExecContext {
            store: self.store.clone(),
            policies: self.policies.clone(),
            media: self.media.clone(),
            evidence: self.evidence.clone(),
            settings: crate::domain::execute::ExecSettings {
                lease: std::time::Duration::from_secs(settings.lease_seconds),
                media_attempts: settings.media_attempts,
                media_backoff: std::time::Duration::from_millis(settings.media_backoff_ms),
            },
            shutting_down: self.shutting_down.clone(),
            holder: self.instance_id.clone(),
        }
    }
}
