//! Logs, metrics and per-request context.

pub mod logging;
pub mod metrics;
pub mod request;
