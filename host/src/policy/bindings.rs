//! Host bindings of the WIT package in `plugins/wit/` (1.1.0), one module
//! per world, and of the 1.0.0 gate world still served. The capability and
//! media-caps worlds did not change in 1.1.0: wasmtime finds a 1.0.0
//! plugin's exports under their semver-compatible 1.1.0 names and their
//! types are equal, so one binding serves both.
//! Each world exports its own copy of the `types` interface (so plugins
//! import nothing), hence each module has its own Rust types; they stay
//! inside `policy/`: the rest of the service uses the serde structs of
//! `gate.rs`, `capability.rs` and `media_caps.rs`.

#![allow(missing_docs, clippy::all)]

pub(crate) mod gate {
    wasmtime::component::bindgen!({ world: "gate", path: "../plugins/wit" });
}

/// The gate world of 1.0.0 (`plugins/wit-1.0`), for plugins built before
/// 1.1.0 added `gate-input.context`: bound side by side with the current
/// one (`policy::gate_v1_0` converts between them).
pub(crate) mod gate_v1_0 {
    wasmtime::component::bindgen!({ world: "gate", path: "../plugins/wit-1.0" });
}

pub(crate) mod capability {
    wasmtime::component::bindgen!({ world: "capability", path: "../plugins/wit" });
}

pub(crate) mod media_caps {
    wasmtime::component::bindgen!({ world: "media-caps", path: "../plugins/wit" });
}

pub(crate) use capability::exports::rrs::policy::types as capability_wit;
pub(crate) use gate::exports::rrs::policy::types as gate_wit;
pub(crate) use gate_v1_0::exports::rrs::policy::types as gate_v1_0_wit;
pub(crate) use media_caps::exports::rrs::policy::types as media_caps_wit;
