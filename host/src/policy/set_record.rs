//! A policy set as the database records it, so every replica can load
//! exactly the set one of them accepted: each kind's plugin, pinned sha256,
//! settings and shadow candidate, the wasm of every plugin that is not a
//! builtin (by digest), and the set's own digest. The digest covers what
//! decides (digests and settings), not where a replica found the files, so
//! two replicas with the same plugins at different paths agree on it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::kind::PolicyKind;
use super::policy_file::{InlinePlugins, PolicyConfig, PolicyEntry, ShadowEntry};

/// One kind of a recorded set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetEntry {
    pub kind: PolicyKind,
    /// As configured: `builtin:<name>` or the path.
    pub plugin: String,
    pub sha256: String,
    pub settings: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<SetShadow>,
}

/// A kind's recorded shadow candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetShadow {
    pub plugin: String,
    pub sha256: String,
    pub settings: serde_json::Value,
}

/// A loaded set, ready to record.
#[derive(Debug, Clone)]
pub struct RecordableSet {
    /// See [`set_digest`].
    pub digest: String,
    pub entries: Vec<SetEntry>,
    /// The wasm of every plugin that is not a builtin, by sha256.
    pub blobs: BTreeMap<String, Arc<[u8]>>,
}

/// The set's digest: sha256 of the JSON of each kind's plugin digest,
/// settings and shadow (digest and settings), in kind order.
pub fn set_digest(entries: &[SetEntry]) -> String {
    let what_decides: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!([
                e.kind,
                e.sha256,
                e.settings,
                e.shadow
                    .as_ref()
                    .map(|s| serde_json::json!([s.sha256, s.settings])),
            ])
        })
        .collect();
    hex::encode(Sha256::digest(
        serde_json::Value::Array(what_decides)
            .to_string()
            .as_bytes(),
    ))
}

/// A configuration that loads the recorded set: its plugins are read from
/// `blobs` (builtins from the binary). `generation` names it in messages.
pub fn recorded_config(
    generation: i64,
    entries: &[SetEntry],
    blobs: BTreeMap<String, Arc<[u8]>>,
) -> Result<PolicyConfig, String> {
    let entry = |kind: PolicyKind| -> Result<PolicyEntry, String> {
        let e = entries
            .iter()
            .find(|e| e.kind == kind)
            .ok_or_else(|| format!("the recorded set has no {kind} policy"))?;
        Ok(PolicyEntry {
            plugin: e.plugin.clone(),
            sha256: e.sha256.clone(),
            settings: e.settings.clone(),
            shadow: e.shadow.as_ref().map(|s| ShadowEntry {
                plugin: s.plugin.clone(),
                sha256: s.sha256.clone(),
                settings: Some(s.settings.clone()),
            }),
        })
    };
    let config = PolicyConfig {
        file: PathBuf::from(format!("<recorded policy set, generation {generation}>")),
        base_dir: PathBuf::new(),
        gate: entry(PolicyKind::Gate)?,
        capability: entry(PolicyKind::Capability)?,
        media_caps: entry(PolicyKind::MediaCaps)?,
        // Every plugin of a recorded set is inline: its signature was
        // checked by the replica that accepted the set.
        signatures: super::signature::SignaturePolicy::default(),
        inline: InlinePlugins(blobs),
    };
    config
        .check()
        .map_err(|(kind, reason)| format!("[{kind}] {reason}"))?;
    Ok(config)
}
