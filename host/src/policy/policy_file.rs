//! The policy configuration file (`RRS_POLICIES`, default
//! `policies/default.toml`): one table per kind naming the plugin (a path
//! relative to the file, or `builtin:<name>` for a default plugin embedded
//! in the binary), its pinned sha256 and its settings, and optionally a
//! shadow candidate (`shadow = { plugin, sha256, settings }`) that decides
//! beside it without being enforced, and optionally a `[signatures]` table
//! (trusted keys; see `signature`). Parsing is strict (unknown keys are
//! errors) so a typo cannot silently drop a setting.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::failure::PolicyLoadError;
use super::kind::PolicyKind;
use super::signature::{PolicySigner, SignaturePolicy};

/// The repository's `policies/default.toml`, embedded so the binary can run
/// its defaults from anywhere.
pub const DEFAULT_POLICIES_TOML: &str = include_str!("../../../policies/default.toml");

/// What `file` is called in messages when the configuration is embedded.
pub const EMBEDDED_DEFAULT_NAME: &str = "<embedded policies/default.toml>";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    gate: PolicyEntry,
    capability: PolicyEntry,
    media_caps: PolicyEntry,
    #[serde(default)]
    signatures: SignaturePolicy,
}

/// One kind's entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEntry {
    /// `builtin:<name>` or a path to a component (relative to the file).
    pub plugin: String,
    /// The lowercase hex sha256 the plugin's bytes must have.
    pub sha256: String,
    /// Passed to the plugin as JSON (`validate-settings`, then every call).
    #[serde(default = "empty_settings")]
    pub settings: serde_json::Value,
    /// A candidate that decides the same inputs after this plugin, never
    /// enforced; its disagreements are recorded.
    #[serde(default)]
    pub shadow: Option<ShadowEntry>,
}

/// A kind's shadow candidate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowEntry {
    /// `builtin:<name>` or a path to a component (relative to the file).
    pub plugin: String,
    /// The lowercase hex sha256 the candidate's bytes must have.
    pub sha256: String,
    /// The candidate's settings; absent: the live plugin's.
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
}

/// Plugin bytes supplied with a configuration (a set recorded in the
/// database), by sha256; a plugin whose pinned digest is here is read from
/// here instead of its path, and is listed with the signer recorded for it
/// (its signature was checked where the set was accepted).
#[derive(Clone, Default)]
pub struct InlinePlugins {
    pub wasm: BTreeMap<String, Arc<[u8]>>,
    /// The recorded signer of each signed plugin, by sha256.
    pub signers: BTreeMap<String, PolicySigner>,
}

impl std::fmt::Debug for InlinePlugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.wasm
                    .keys()
                    .map(|sha| (sha, self.signers.get(sha).map(|s| &s.key_name))),
            )
            .finish()
    }
}

fn empty_settings() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// Where a plugin's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginLocation {
    /// Embedded in the binary by build.rs.
    Builtin(String),
    File(PathBuf),
}

/// A parsed policy file.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// The file, for messages (or [`EMBEDDED_DEFAULT_NAME`]).
    pub file: PathBuf,
    /// Relative plugin paths are resolved against this directory.
    pub base_dir: PathBuf,
    pub gate: PolicyEntry,
    pub capability: PolicyEntry,
    pub media_caps: PolicyEntry,
    /// Which keys sign plugins, and whether plugin files must be signed.
    pub signatures: SignaturePolicy,
    /// Plugin bytes by digest that take precedence over paths (a set
    /// recorded by another replica, its signatures checked there).
    pub inline: InlinePlugins,
}

impl PolicyConfig {
    /// Reads and parses a policy file.
    pub fn from_file(path: &Path) -> Result<Self, PolicyLoadError> {
        let text = fs::read_to_string(path).map_err(|e| PolicyLoadError {
            file: path.to_path_buf(),
            kind: None,
            plugin: None,
            reason: format!("cannot read it: {e}"),
            refusal: None,
        })?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_toml(&text, path, &base_dir)
    }

    /// The embedded copy of `policies/default.toml` (builtin plugins only).
    pub fn embedded_default() -> Result<Self, PolicyLoadError> {
        Self::from_toml(
            DEFAULT_POLICIES_TOML,
            Path::new(EMBEDDED_DEFAULT_NAME),
            Path::new("."),
        )
    }

    /// Parses policy TOML; `file` names it in messages.
    pub fn from_toml(text: &str, file: &Path, base_dir: &Path) -> Result<Self, PolicyLoadError> {
        let error = |kind, reason| PolicyLoadError {
            file: file.to_path_buf(),
            kind,
            plugin: None,
            reason,
            refusal: None,
        };
        let parsed: PolicyFile =
            toml::from_str(text).map_err(|e| error(None, format!("invalid policy file: {e}")))?;
        let config = Self {
            file: file.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            gate: parsed.gate,
            capability: parsed.capability,
            media_caps: parsed.media_caps,
            signatures: parsed.signatures,
            inline: InlinePlugins::default(),
        };
        config
            .signatures
            .check()
            .map_err(|e| error(None, format!("[signatures]: {e}")))?;
        config
            .check()
            .map_err(|(kind, reason)| error(Some(kind), reason))?;
        Ok(config)
    }

    /// Settings are tables and digests are well-formed, shadows included.
    pub fn check(&self) -> Result<(), (PolicyKind, String)> {
        let sha = |kind, field: &str, sha256: &str| {
            if is_sha256_hex(sha256) {
                Ok(())
            } else {
                Err((
                    kind,
                    format!("`{field}` must be 64 lowercase hex digits, not `{sha256}`"),
                ))
            }
        };
        for kind in PolicyKind::ALL {
            let entry = self.entry(kind);
            if !entry.settings.is_object() {
                return Err((kind, "`settings` must be a table".into()));
            }
            sha(kind, "sha256", &entry.sha256)?;
            if let Some(shadow) = &entry.shadow {
                sha(kind, "shadow.sha256", &shadow.sha256)?;
                if shadow.settings.as_ref().is_some_and(|s| !s.is_object()) {
                    return Err((kind, "`shadow.settings` must be a table".into()));
                }
            }
        }
        Ok(())
    }

    pub fn entry(&self, kind: PolicyKind) -> &PolicyEntry {
        match kind {
            PolicyKind::Gate => &self.gate,
            PolicyKind::Capability => &self.capability,
            PolicyKind::MediaCaps => &self.media_caps,
        }
    }

    pub fn entry_mut(&mut self, kind: PolicyKind) -> &mut PolicyEntry {
        match kind {
            PolicyKind::Gate => &mut self.gate,
            PolicyKind::Capability => &mut self.capability,
            PolicyKind::MediaCaps => &mut self.media_caps,
        }
    }

    /// Where a kind's plugin comes from.
    pub fn location(&self, kind: PolicyKind) -> PluginLocation {
        self.location_of(&self.entry(kind).plugin)
    }

    /// Where a plugin named as in the file comes from.
    pub fn location_of(&self, plugin: &str) -> PluginLocation {
        match plugin.strip_prefix("builtin:") {
            Some(name) => PluginLocation::Builtin(name.to_string()),
            None => PluginLocation::File(self.base_dir.join(plugin)),
        }
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
