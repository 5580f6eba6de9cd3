//! Tests of the policy host through the real plugins, built from source by
//! build.rs: the default plugins' decision tables, hostile fixtures
//! (`plugins/fixtures/`, built for test builds only), reload, the policy
//! file and the pinned digests.

mod config;
mod decisions;
mod hostile;
mod reload;
mod support;
