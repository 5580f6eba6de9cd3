//! A policy set around one plugin file, for `rrs policy test --plugin` and
//! `rrs policy bench`: the embedded default set with the author's plugin
//! in place of its kind's default, pinned to the plugin's own digest. An
//! author tests a freshly built component without writing a policy file,
//! and it still loads exactly as `serve` loads it (world, imports,
//! metadata, settings, limits).

use std::fs;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::policy::{PolicyConfig, PolicyHostOptions, PolicyKind, PolicyRegistry};

/// Loads `plugin` as the `kind` policy, with `settings` (JSON object, else
/// `{}`: the plugin's defaults).
pub fn registry_for_plugin(
    kind: PolicyKind,
    plugin: &Path,
    settings: Option<serde_json::Value>,
) -> anyhow::Result<PolicyRegistry> {
    let wasm = fs::read(plugin).with_context(|| format!("reading {}", plugin.display()))?;
    let mut config = PolicyConfig::embedded_default()?;
    let absolute = plugin
        .canonicalize()
        .with_context(|| format!("resolving {}", plugin.display()))?;
    let entry = config.entry_mut(kind);
    entry.plugin = absolute.display().to_string();
    entry.sha256 = hex::encode(Sha256::digest(&wasm));
    entry.settings = settings.unwrap_or_else(|| serde_json::json!({}));
    Ok(PolicyRegistry::from_config(
        config,
        PolicyHostOptions::default(),
    )?)
}
