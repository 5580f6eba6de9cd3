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
    pub media: crate::media_store::MediaStore,
    pub config: Arc<Config>,
    pub metrics: crate::telemetry::metrics::MetricsHandle,
}
