//! Compile once: compiled plugins are cached in a host-owned directory,
//! keyed by the wasm's sha256 and the engine's precompile compatibility
//! hash. Only artifacts this host wrote are ever deserialized (a compiled
//! artifact is native code); a policy file can only name wasm, which is
//! always verified and compiled here. Artifacts are written to a temporary
//! file and renamed into place, with a sha256 beside them that is checked on
//! the very bytes handed to wasmtime, so a torn or corrupted file is
//! recompiled rather than loaded.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::engine::PolicyEngine;

pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
}

impl ComponentCache {
    pub(crate) fn new(dir: Option<PathBuf>) -> Result<Self, String> {
        if let Some(dir) = &dir {
            create_private_dir(dir)
                .map_err(|e| format!("policy cache directory {}: {e}", dir.display()))?;
        }
        Ok(Self { dir })
    }

    /// The compiled component for `wasm`, whose sha256 is `digest`.
    pub(crate) fn get(
        &self,
        engine: &PolicyEngine,
        digest: &str,
        wasm: &[u8],
    ) -> Result<Component, String> {
        let Some(dir) = &self.dir else {
            return compile(engine, wasm);
        };
        let path = dir.join(format!("{digest}-{}.cwasm", &engine.compat_key[..32]));
        if let Some(component) = load(engine, &path) {
            return Ok(component);
        }
        let component = compile(engine, wasm)?;
        if let Err(e) = store(&component, &path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache a compiled policy");
        }
        Ok(component)
    }
}

fn compile(engine: &PolicyEngine, wasm: &[u8]) -> Result<Component, String> {
    Component::new(&engine.engine, wasm).map_err(|e| format!("not a valid component: {e:#}"))
}

fn checksum_path(path: &Path) -> PathBuf {
    path.with_extension("cwasm.sha256")
}

/// A cached artifact, if present and intact.
fn load(engine: &PolicyEngine, path: &Path) -> Option<Component> {
    let bytes = fs::read(path).ok()?;
    let recorded = fs::read_to_string(checksum_path(path)).ok()?;
    if hex::encode(Sha256::digest(&bytes)) != recorded.trim() {
        tracing::warn!(path = %path.display(), "cached policy artifact is corrupt; recompiling");
        return None;
    }
    // SAFETY: `Component::deserialize` requires bytes produced by
    // `Component::serialize` (or `Engine::precompile_component`) of a
    // wasmtime compatible with this engine, since they are native code run
    // without validation. These bytes are exactly that: `store` below is the
    // only writer of this host-owned directory (created 0700), the file name
    // is keyed by the sha256 of wasm this host verified and by this engine's
    // precompile compatibility hash, and the bytes were just checked against
    // the sha256 recorded when they were written (guarding against torn or
    // corrupted files). wasmtime additionally checks the artifact's header
    // against the engine and rejects an incompatible one with an error. The
    // bytes are an owned copy, so no later change to the file can affect
    // them (unlike `deserialize_file`, which maps the file).
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(&engine.engine, &bytes) };
    match component {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cached policy unusable; recompiling");
            None
        }
    }
}

/// A temporary file name no other writer (process or thread) uses.
fn temporary(path: &Path, what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_extension(format!("{what}.tmp{}-{n}", std::process::id()))
}

fn store(component: &Component, path: &Path) -> Result<(), String> {
    let bytes = component.serialize().map_err(|e| format!("{e:#}"))?;
    let tmp = temporary(path, "cwasm");
    fs::write(&tmp, &bytes).map_err(|e| e.to_string())?;
    fs::rename(&tmp, path).map_err(|e| e.to_string())?;
    let checksum = hex::encode(Sha256::digest(&bytes));
    let tmp = temporary(path, "sha256");
    fs::write(&tmp, checksum).map_err(|e| e.to_string())?;
    fs::rename(&tmp, checksum_path(path)).map_err(|e| e.to_string())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}
