//! A candidate plugin on its own: the configured policy set with one kind's
//! plugin replaced by a wasm file (pinned to the file's own digest) and no
//! shadows, loaded exactly as `serve` loads a set (world, imports,
//! metadata, settings). `rrs policy replay` decides recorded inputs with it.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::engine::PolicyHostOptions;
use super::failure::PolicyLoadError;
use super::kind::PolicyKind;
use super::loader::PolicyInfo;
use super::policy_file::PolicyConfig;
use super::registry::PolicyRegistry;

/// Loads `base` with `kind` decided by the component at `plugin`; returns
/// the registry and the candidate as loaded (name, version, digest).
pub fn candidate_registry(
    mut base: PolicyConfig,
    kind: PolicyKind,
    plugin: &Path,
) -> Result<(PolicyRegistry, PolicyInfo), PolicyLoadError> {
    let wasm = std::fs::read(plugin).map_err(|e| PolicyLoadError {
        file: base.file.clone(),
        kind: Some(kind),
        plugin: Some(plugin.display().to_string()),
        reason: format!("cannot read the candidate: {e}"),
        refusal: None,
    })?;
    let absolute = std::path::absolute(plugin).unwrap_or_else(|_| plugin.to_path_buf());
    for k in PolicyKind::ALL {
        base.entry_mut(k).shadow = None;
    }
    // A candidate only decides again what was decided, never enforced: it
    // need not be signed to be replayed.
    base.signatures = Default::default();
    let entry = base.entry_mut(kind);
    entry.plugin = absolute.display().to_string();
    entry.sha256 = hex::encode(Sha256::digest(&wasm));
    let registry = PolicyRegistry::from_config(base, PolicyHostOptions::default())?;
    let info = registry.policy(kind).ok_or_else(|| PolicyLoadError {
        file: plugin.to_path_buf(),
        kind: Some(kind),
        plugin: None,
        reason: "the candidate did not load".into(),
        refusal: None,
    })?;
    Ok((registry, info))
}
