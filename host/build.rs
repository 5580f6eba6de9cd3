//! Builds the default policy plugins (`plugins/gate`, `capability`,
//! `media-caps`) from source so that `cargo run -p rrs -- serve` needs no
//! manual step on a fresh machine. `rrs-plugin-build` runs the nested,
//! reproducible wasm32 build and encodes each plugin as a component in
//! `OUT_DIR/plugins/<name>.wasm`, from where `policy/builtin.rs` embeds it;
//! `policies/default.toml` pins their sha256.
//!
//! The hostile test fixtures (`plugins/fixtures/`) are not built here: the
//! `rrs-policy-fixtures` crate (tests/policy-fixtures) builds them for the
//! tests that load them.

use std::env;
use std::error::Error;
use std::path::PathBuf;

use rrs_plugin_build::Plugin;

const DEFAULT_PLUGINS: &[Plugin<'static>] = &[
    Plugin {
        name: "gate",
        package: "rrs-policy-gate",
        dir: "gate",
    },
    Plugin {
        name: "capability",
        package: "rrs-policy-capability",
        dir: "capability",
    },
    Plugin {
        name: "media-caps",
        package: "rrs-policy-media-caps",
        dir: "media-caps",
    },
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    rrs_plugin_build::build(
        &manifest_dir.join("../plugins"),
        DEFAULT_PLUGINS,
        &out_dir.join("plugins"),
    )
}
