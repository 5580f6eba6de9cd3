//! The Prometheus recorder behind `GET /metrics`.
//!
//! The `metrics` facade has one global recorder per process; it is
//! installed once, and every app in the process (tests start many) shares
//! it.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Renders the current metrics in Prometheus text format.
#[derive(Clone)]
pub struct MetricsHandle(PrometheusHandle);

impl MetricsHandle {
    /// The exposition text.
    pub fn render(&self) -> String {
        self.0.render()
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide handle, installing the recorder on first use.
pub fn handle() -> MetricsHandle {
    MetricsHandle(HANDLE.get_or_init(install).clone())
}

fn install() -> PrometheusHandle {
    let handle = install_recorder();
    describe_policy_shadow();
    handle
}

/// The shadow candidates' metrics (`policy::shadow` records them), with
/// their help text; a zero is exported for each kind from the start, so an
/// alert on `rrs_policy_shadow_disagreements_total` has a series to watch
/// before the first disagreement.
fn describe_policy_shadow() {
    metrics::describe_counter!(
        "rrs_policy_shadow_disagreements_total",
        "Shadow candidate decisions that differ from the live decision (outcome or reason codes)"
    );
    metrics::describe_counter!(
        "rrs_policy_shadow_decisions_total",
        "Decisions a shadow candidate made beside the live plugin, by result"
    );
    metrics::describe_counter!(
        "rrs_policy_shadow_skipped_total",
        "Shadow decisions skipped because the shadow worker's queue was full"
    );
    for kind in ["gate", "capability", "media_caps"] {
        metrics::counter!("rrs_policy_shadow_disagreements_total", "kind" => kind).increment(0);
    }
}

fn install_recorder() -> PrometheusHandle {
    let builder = || {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
    };
    match builder().install_recorder() {
        Ok(handle) => handle,
        Err(error) => {
            tracing::warn!(%error, "a metrics recorder was already installed; /metrics will be empty");
            builder().build_recorder().handle()
        }
    }
}
