//! Loading one policy: read the plugin, verify its pinned sha256, compile it
//! (through the cache), refuse imports, check it exports its kind's world
//! (typed: the export signatures must match), pre-instantiate it once, then
//! test-instantiate it to read its metadata and have it validate its
//! settings. A plugin file's signature is checked against the policy
//! file's trusted keys right after its digest. Any failure names the policy
//! file, the kind, the plugin and the reason.

use std::fs;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use super::bindings::{
    capability::CapabilityPre, gate::GatePre, gate_v1_0::GatePre as GateV1_0Pre,
    media_caps::MediaCapsPre,
};
use super::builtin::{builtin_plugin, BUILTIN_PLUGINS};
use super::cache::ComponentCache;
use super::engine::PolicyEngine;
use super::failure::{PolicyFailure, PolicyLoadError};
use super::kind::PolicyKind;
use super::policy_file::{PluginLocation, PolicyConfig};
use super::sandbox::{self, HostState};
use super::signature::{self, PolicySigner};

/// A loaded policy, as `GET /v1/policies` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyInfo {
    /// From the plugin's `metadata()`.
    pub name: String,
    pub kind: PolicyKind,
    pub version: String,
    /// Lowercase hex sha256 of the plugin's wasm.
    pub digest: String,
    pub settings: serde_json::Value,
    /// As configured: `builtin:<name>` or the path.
    pub plugin: String,
    /// The trusted key that signed the plugin file; `None` for builtin
    /// plugins and unsigned ones (allowed unless `require_signatures`).
    pub signer: Option<PolicySigner>,
}

/// Runs `$call` in a fresh sandbox (no fuel for items) with `$policy` the
/// policy interface of whichever world `$pre` holds: each world's bindings
/// are their own types, so the one expression is written out per world.
macro_rules! on_policy {
    ($engine:expr, $pre:expr, |$policy:ident, $store:ident| $call:expr) => {
        match $pre {
            Pre::Gate(p) => sandbox::run(
                $engine,
                0,
                |s| p.instantiate(s),
                |i, $store| {
                    let $policy = i.rrs_policy_gate_policy();
                    $call
                },
            ),
            Pre::GateV1_0(p) => sandbox::run(
                $engine,
                0,
                |s| p.instantiate(s),
                |i, $store| {
                    let $policy = i.rrs_policy_gate_policy();
                    $call
                },
            ),
            Pre::Capability(p) => sandbox::run(
                $engine,
                0,
                |s| p.instantiate(s),
                |i, $store| {
                    let $policy = i.rrs_policy_capability_policy();
                    $call
                },
            ),
            Pre::MediaCaps(p) => sandbox::run(
                $engine,
                0,
                |s| p.instantiate(s),
                |i, $store| {
                    let $policy = i.rrs_policy_media_caps_policy();
                    $call
                },
            ),
        }
    };
}
pub(crate) use on_policy;

/// The pre-instantiated component, typed by world.
pub(crate) enum Pre {
    Gate(GatePre<HostState>),
    /// A gate plugin built against `rrs:policy@1.0.0`.
    GateV1_0(GateV1_0Pre<HostState>),
    Capability(CapabilityPre<HostState>),
    MediaCaps(MediaCapsPre<HostState>),
}

pub(crate) struct LoadedPolicy {
    pub(crate) info: PolicyInfo,
    pub(crate) settings_json: String,
    pub(crate) pre: Pre,
    /// The wasm when it came from a file (or a recorded set), so the set can
    /// be recorded for other replicas; `None` for a builtin.
    pub(crate) wasm: Option<Arc<[u8]>>,
    /// The kind's shadow candidate, when the policy file names one.
    pub(crate) shadow: Option<Box<LoadedPolicy>>,
}

struct Metadata {
    name: String,
    version: String,
}

/// Loads a kind's plugin and, when configured, its shadow candidate.
pub(crate) fn load_policy(
    engine: &PolicyEngine,
    cache: &ComponentCache,
    config: &PolicyConfig,
    kind: PolicyKind,
) -> Result<LoadedPolicy, PolicyLoadError> {
    let entry = config.entry(kind);
    let mut live = load_plugin(
        engine,
        cache,
        config,
        kind,
        &entry.plugin,
        &entry.sha256,
        &entry.settings,
    )?;
    if let Some(shadow) = &entry.shadow {
        let settings = shadow.settings.as_ref().unwrap_or(&entry.settings);
        let candidate = load_plugin(
            engine,
            cache,
            config,
            kind,
            &shadow.plugin,
            &shadow.sha256,
            settings,
        )
        .map_err(|mut e| {
            e.reason = format!("shadow candidate: {}", e.reason);
            e
        })?;
        live.shadow = Some(Box::new(candidate));
    }
    Ok(live)
}

fn load_plugin(
    engine: &PolicyEngine,
    cache: &ComponentCache,
    config: &PolicyConfig,
    kind: PolicyKind,
    plugin: &str,
    sha256: &str,
    settings: &serde_json::Value,
) -> Result<LoadedPolicy, PolicyLoadError> {
    let fail = |reason: String| PolicyLoadError {
        file: config.file.clone(),
        kind: Some(kind),
        plugin: Some(plugin.to_owned()),
        reason,
        refusal: None,
    };
    let (wasm, kept) = read_plugin(config, plugin, sha256).map_err(fail)?;
    let digest = hex::encode(Sha256::digest(&wasm));
    if digest != sha256 {
        return Err(fail(format!(
            "digest mismatch: the policy file pins sha256 {sha256} but the plugin's is {digest}"
        )));
    }
    let signer = match config.location_of(plugin) {
        PluginLocation::Builtin(_) => None,
        // Bytes of a set another replica recorded: their signature was
        // checked there, when the set was accepted, and its signer recorded.
        PluginLocation::File(_) if config.inline.wasm.contains_key(sha256) => {
            config.inline.signers.get(sha256).cloned()
        }
        PluginLocation::File(path) => signature::verify(&config.signatures, &path, &digest)
            .map_err(|(refusal, message)| PolicyLoadError {
                refusal: Some(refusal),
                ..fail(format!(
                    "policy_signature_rejected ({}): {message}",
                    refusal.as_str()
                ))
            })?,
    };
    let component = cache.get(engine, &digest, &wasm).map_err(fail)?;
    refuse_imports(engine, &component).map_err(fail)?;
    let pre = pre_instantiate(engine, &component, kind).map_err(fail)?;
    let settings_json = settings.to_string();
    let metadata = metadata(engine, &pre).map_err(|e| fail(format!("metadata() failed: {e}")))?;
    validate_settings(engine, &pre, &settings_json).map_err(fail)?;
    Ok(LoadedPolicy {
        info: PolicyInfo {
            name: metadata.name,
            kind,
            version: metadata.version,
            digest,
            settings: settings.clone(),
            plugin: plugin.to_owned(),
            signer,
        },
        settings_json,
        pre,
        wasm: kept,
        shadow: None,
    })
}

/// A plugin's bytes, and the same bytes again when they are to be kept
/// with the set (not a builtin).
type PluginBytes = (Vec<u8>, Option<Arc<[u8]>>);

fn read_plugin(config: &PolicyConfig, plugin: &str, sha256: &str) -> Result<PluginBytes, String> {
    if let Some(bytes) = config.inline.wasm.get(sha256) {
        return Ok((bytes.to_vec(), Some(Arc::clone(bytes))));
    }
    match config.location_of(plugin) {
        PluginLocation::Builtin(name) => builtin_plugin(&name)
            .map(|b| (b.to_vec(), None))
            .ok_or_else(|| {
                format!(
                    "no builtin plugin `{name}` (builtins: {})",
                    BUILTIN_PLUGINS.join(", ")
                )
            }),
        PluginLocation::File(path) => {
            let bytes =
                fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let kept: Arc<[u8]> = Arc::from(bytes.as_slice());
            Ok((bytes, Some(kept)))
        }
    }
}

/// Plugins import nothing: no WASI, no host functions.
fn refuse_imports(engine: &PolicyEngine, component: &Component) -> Result<(), String> {
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&engine.engine)
        .map(|(name, _)| name.to_string())
        .collect();
    if imports.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the plugin imports {}; policy plugins must import nothing (build for \
             wasm32-unknown-unknown and encode with wit-component)",
            imports.join(", ")
        ))
    }
}

fn pre_instantiate(
    engine: &PolicyEngine,
    component: &Component,
    kind: PolicyKind,
) -> Result<Pre, String> {
    let linker: Linker<HostState> = Linker::new(&engine.engine);
    let instance_pre = linker
        .instantiate_pre(component)
        .map_err(|e| format!("cannot pre-instantiate: {e:#}"))?;
    let wrong_world = |e: wasmtime::Error| {
        format!(
            "the plugin does not export the `rrs:policy/{world}@1.1.0` world a {kind} policy \
             needs (interface `rrs:policy/{world}-policy@1.1.0`, or its 1.0.0): {e:#}",
            world = kind.world()
        )
    };
    let pre = match kind {
        PolicyKind::Gate => match GatePre::new(instance_pre.clone()) {
            Ok(pre) if instantiates(engine, &Pre::Gate(pre.clone())) => Pre::Gate(pre),
            // Not the 1.1.0 gate: the 1.0.0 one, or neither.
            _ => Pre::GateV1_0(GateV1_0Pre::new(instance_pre).map_err(wrong_world)?),
        },
        PolicyKind::Capability => {
            Pre::Capability(CapabilityPre::new(instance_pre).map_err(wrong_world)?)
        }
        PolicyKind::MediaCaps => {
            Pre::MediaCaps(MediaCapsPre::new(instance_pre).map_err(wrong_world)?)
        }
    };
    // The exports' names are checked above; their signatures (every record
    // field and enum case) when the typed functions are looked up on
    // instantiation.
    instantiate(engine, &pre).map_err(wrong_world)?;
    Ok(pre)
}

fn instantiate(engine: &PolicyEngine, pre: &Pre) -> Result<(), wasmtime::Error> {
    let mut store = sandbox::new_store(engine, 0);
    match pre {
        Pre::Gate(p) => p.instantiate(&mut store).map(drop),
        Pre::GateV1_0(p) => p.instantiate(&mut store).map(drop),
        Pre::Capability(p) => p.instantiate(&mut store).map(drop),
        Pre::MediaCaps(p) => p.instantiate(&mut store).map(drop),
    }
}

fn instantiates(engine: &PolicyEngine, pre: &Pre) -> bool {
    instantiate(engine, pre).is_ok()
}

fn metadata(engine: &PolicyEngine, pre: &Pre) -> Result<Metadata, PolicyFailure> {
    let meta = on_policy!(engine, pre, |policy, s| policy.call_metadata(s).map(|m| {
        Metadata {
            name: m.name,
            version: m.version,
        }
    }))?;
    let sane = |s: &str| !s.trim().is_empty() && s.len() <= 128 && !s.chars().any(char::is_control);
    if !sane(&meta.name) || !sane(&meta.version) {
        return Err(PolicyFailure::bad_output(format!(
            "metadata name {:?} / version {:?} must be non-empty printable text of at most \
             128 bytes",
            meta.name, meta.version
        )));
    }
    Ok(meta)
}

/// The plugin's own verdict on `settings_json`.
pub(crate) fn validate_settings(
    engine: &PolicyEngine,
    pre: &Pre,
    settings_json: &str,
) -> Result<(), String> {
    let verdict = on_policy!(engine, pre, |policy, s| policy
        .call_validate_settings(s, settings_json));
    match verdict {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(format!(
            "the plugin refused its settings {settings_json}: {message}"
        )),
        Err(failure) => Err(format!("validate-settings failed: {failure}")),
    }
}
