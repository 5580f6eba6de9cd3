//! The default plugins, built from `plugins/` by build.rs and embedded in
//! the binary (`builtin:<name>` in a policy file), so the service runs its
//! defaults with no file to deploy beside it. Their digests are still
//! verified against the policy file like any other plugin's.

const GATE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plugins/gate.wasm"));
const CAPABILITY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plugins/capability.wasm"));
const MEDIA_CAPS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plugins/media-caps.wasm"));

/// The names a policy file may use after `builtin:`.
pub const BUILTIN_PLUGINS: [&str; 3] = ["gate", "capability", "media-caps"];

/// The component bytes of a builtin plugin.
pub fn builtin_plugin(name: &str) -> Option<&'static [u8]> {
    match name {
        "gate" => Some(GATE),
        "capability" => Some(CAPABILITY),
        "media-caps" => Some(MEDIA_CAPS),
        _ => None,
    }
}
