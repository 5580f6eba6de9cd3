//! A policy set as the database records it, so every replica can load
//! exactly the set one of them accepted: each kind's plugin, pinned sha256,
//! settings and shadow candidate, the wasm of every plugin that is not a
//! builtin (by digest), the trusted key that signed each plugin file where
//! the set was accepted, and the set's own digest. The digest covers what
//! decides (digests and settings) and who vouched for it (signers), not
//! where a replica found the files, so two replicas with the same plugins
//! at different paths agree on it.
//!
//! A replica converging to a recorded set loads the recorded bytes without
//! their signature files (they stayed where the set was accepted), so the
//! signer travels with the set: every replica lists the same signer and
//! records it with its decisions.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::kind::PolicyKind;
use super::policy_file::{InlinePlugins, PolicyConfig, PolicyEntry, ShadowEntry};
use super::signature::PolicySigner;

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
    /// Who signed the plugin where the set was accepted; absent for
    /// builtins, unsigned plugins and sets recorded before signers were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<PolicySigner>,
}

/// A kind's recorded shadow candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetShadow {
    pub plugin: String,
    pub sha256: String,
    pub settings: serde_json::Value,
    /// As [`SetEntry::signer`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<PolicySigner>,
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
/// settings and shadow (digest and settings), in kind order, each with its
/// signer appended when it has one (so an unsigned set keeps the digest
/// it had before signers were recorded, and a replica that loaded the same
/// bytes under another signer, or none, converges to the recorded one).
pub fn set_digest(entries: &[SetEntry]) -> String {
    let with_signer = |mut fields: Vec<serde_json::Value>, signer: &Option<PolicySigner>| {
        if let Some(signer) = signer {
            fields.push(serde_json::json!([signer.key_name, signer.fingerprint]));
        }
        serde_json::Value::Array(fields)
    };
    let what_decides: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let shadow = e.shadow.as_ref().map(|s| {
                with_signer(
                    vec![serde_json::json!(s.sha256), s.settings.clone()],
                    &s.signer,
                )
            });
            with_signer(
                vec![
                    serde_json::json!(e.kind),
                    serde_json::json!(e.sha256),
                    e.settings.clone(),
                    serde_json::json!(shadow),
                ],
                &e.signer,
            )
        })
        .collect();
    hex::encode(Sha256::digest(
        serde_json::Value::Array(what_decides)
            .to_string()
            .as_bytes(),
    ))
}

/// A configuration that loads the recorded set: its plugins are read from
/// `blobs` (builtins from the binary) and carry their recorded signers.
/// `generation` names it in messages.
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
    let mut signers = BTreeMap::new();
    for e in entries {
        let shadow = e.shadow.as_ref().map(|s| (&s.sha256, &s.signer));
        for (sha256, signer) in std::iter::once((&e.sha256, &e.signer)).chain(shadow) {
            if let Some(signer) = signer {
                signers.insert(sha256.clone(), signer.clone());
            }
        }
    }
    let config = PolicyConfig {
        file: PathBuf::from(format!("<recorded policy set, generation {generation}>")),
        base_dir: PathBuf::new(),
        gate: entry(PolicyKind::Gate)?,
        capability: entry(PolicyKind::Capability)?,
        media_caps: entry(PolicyKind::MediaCaps)?,
        // Every plugin of a recorded set is inline: its signature was
        // checked by the replica that accepted the set, which recorded the
        // signer.
        signatures: super::signature::SignaturePolicy::default(),
        inline: InlinePlugins {
            wasm: blobs,
            signers,
        },
    };
    config
        .check()
        .map_err(|(kind, reason)| format!("[{kind}] {reason}"))?;
    Ok(config)
}
