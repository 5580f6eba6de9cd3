//! Shared helpers: the repository's paths, a registry over the default
//! policies, and policy files in temporary directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::policy::{
    GateInput, PolicyHostOptions, PolicyKind, PolicyRegistry, DEFAULT_POLICIES_TOML,
};

pub(super) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub(super) fn default_policy_file() -> PathBuf {
    repo_root().join("policies/default.toml")
}

/// One registry over `policies/default.toml` for the whole test binary.
pub(super) fn default_registry() -> &'static PolicyRegistry {
    static REGISTRY: OnceLock<PolicyRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        PolicyRegistry::load(&default_policy_file(), PolicyHostOptions::default()).unwrap()
    })
}

/// A hostile fixture component (`rrs-policy-fixtures`, built only for tests).
pub(super) fn fixture(name: &str) -> PathBuf {
    rrs_policy_fixtures::path(name)
}

pub(super) fn sha256_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A temporary directory holding a policy file: the defaults, with one
/// kind's table replaced.
pub(super) struct PolicyDir {
    pub(super) dir: TempDir,
    pub(super) file: PathBuf,
}

pub(super) struct Replace<'a> {
    pub(super) kind: PolicyKind,
    /// Copied into the directory as `plugin.wasm`.
    pub(super) wasm: &'a Path,
    /// `None`: the copy's real digest.
    pub(super) sha256: Option<&'a str>,
    /// A TOML table body, e.g. `max_lag_seconds = 5`.
    pub(super) settings: &'a str,
}

pub(super) fn policy_dir(replace: Option<Replace<'_>>) -> PolicyDir {
    let dir = tempfile::tempdir().unwrap();
    let mut doc: toml::Table = toml::from_str(DEFAULT_POLICIES_TOML).unwrap();
    if let Some(r) = replace {
        let bytes = fs::read(r.wasm).unwrap();
        fs::write(dir.path().join("plugin.wasm"), &bytes).unwrap();
        let digest = r.sha256.map_or_else(|| sha256_of(&bytes), str::to_string);
        let mut entry = toml::Table::new();
        entry.insert("plugin".into(), "plugin.wasm".into());
        entry.insert("sha256".into(), digest.into());
        entry.insert(
            "settings".into(),
            toml::from_str::<toml::Table>(r.settings).unwrap().into(),
        );
        doc.insert(r.kind.as_str().into(), entry.into());
    }
    let file = dir.path().join("policies.toml");
    fs::write(&file, toml::to_string(&doc).unwrap()).unwrap();
    PolicyDir { dir, file }
}

pub(super) fn load(dir: &PolicyDir) -> Result<PolicyRegistry, crate::policy::PolicyLoadError> {
    PolicyRegistry::load(&dir.file, PolicyHostOptions::default())
}

/// A gate input with one partition 300 s behind: fresh with the default
/// freshness of 900 s, stale with 60.
pub(super) fn input() -> GateInput {
    serde_json::from_value(serde_json::json!({
        "tenant_id": "acme", "instance_id": "prod",
        "pit": "2026-11-20T10:00:00Z", "now": "2026-11-20T10:30:00Z",
        "partitions": [{"topic": "t", "partition": 0, "watermark_time": "2026-11-20T10:25:00Z"}],
    }))
    .unwrap()
}
