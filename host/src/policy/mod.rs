//! The WebAssembly policy host. Gate, capability and media-cap decisions are
//! made by sandboxed plugins (WIT package `rrs:policy@1.1.0` in
//! `plugins/wit/`, and plugins built against 1.0.0) named by a policy file (`policies/default.toml`); this
//! module loads them (verifying pinned digests, compiling once into a
//! host-owned cache, checking the exported world and the settings), runs
//! each decision in a fresh, import-free, memory- and time-capped instance,
//! turns every failure into a typed denial, records each decision, and
//! reloads the whole set atomically.
//!
//! The rest of the service sees only plain serde types: build a
//! [`GateInput`], [`CapabilityInput`] or [`MediaCapsInput`], call the
//! [`PolicyRegistry`], persist the [`DecisionRecord`] and map a
//! [`PolicyFailure`] to `blocked_policy_error`.

pub mod author;
mod bindings;
mod builtin;
mod cache;
mod candidate;
mod capability;
pub mod commands;
mod deadline;
mod engine;
mod failure;
mod gate;
mod gate_v1_0;
mod kind;
mod loader;
mod media_caps;
mod policy_file;
mod record;
mod registry;
mod sandbox;
mod set_record;
mod shadow;
pub mod signature;
pub(crate) mod timestamp;

#[cfg(test)]
mod tests;

pub use builtin::{builtin_plugin, BUILTIN_PLUGINS};
pub use candidate::candidate_registry;
pub use capability::{
    Capability, CapabilityDecision, CapabilityInput, Denial, DenialReason, ElevatedConfirmation,
    ScopeFacts,
};
pub use engine::{PolicyHostOptions, PolicyLimits};
pub use failure::{PolicyFailure, PolicyFailureKind, PolicyLoadError, POLICY_ERROR_REASON_CODE};
pub use gate::{
    DeleteCandidate, DeleteDecision, Executability, Freshness, GateInput, GateOutput, GateReason,
    GateTarget, PartitionFact, ReferenceConflict,
};
pub use kind::PolicyKind;
pub use loader::PolicyInfo;
pub use media_caps::{MediaCaps, MediaCapsInput, MediaCapsOutput};
pub use policy_file::{
    InlinePlugins, PluginLocation, PolicyConfig, PolicyEntry, ShadowEntry, DEFAULT_POLICIES_TOML,
    EMBEDDED_DEFAULT_NAME,
};
pub use record::{
    input_sha256, logged_input, reason_codes, Decision, DecisionOutcome, DecisionRecord, PolicyRef,
};
pub use registry::PolicyRegistry;
pub use set_record::{recorded_config, set_digest, RecordableSet, SetEntry, SetShadow};
pub use shadow::{disagree, ShadowDisagreement, ShadowSide};
pub use signature::{PolicySigner, SignaturePolicy, SignatureRefusal, TrustedKey};
