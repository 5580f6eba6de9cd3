//! Host bindings of the WIT package in `plugins/wit/`, one module per world.
//! Each world exports its own copy of the `types` interface (so plugins
//! import nothing), hence each module has its own Rust types; they stay
//! inside `policy/`: the rest of the service uses the serde structs of
//! `gate.rs`, `capability.rs` and `media_caps.rs`.

#![allow(missing_docs, clippy::all)]

pub(crate) mod gate {
    wasmtime::component::bindgen!({ world: "gate", path: "../plugins/wit" });
}

pub(crate) mod capability {
    wasmtime::component::bindgen!({ world: "capability", path: "../plugins/wit" });
}

pub(crate) mod media_caps {
    wasmtime::component::bindgen!({ world: "media-caps", path: "../plugins/wit" });
}

pub(crate) use capability::exports::rrs::policy::types as capability_wit;
pub(crate) use gate::exports::rrs::policy::types as gate_wit;
pub(crate) use media_caps::exports::rrs::policy::types as media_caps_wit;
