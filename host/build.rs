//! Builds the policy plugins from source so that `cargo run -p rrs -- serve`
//! needs no manual step on a fresh machine. `rrs-plugin-build` runs the
//! nested, reproducible wasm32 build and encodes each plugin as a component
//! in `OUT_DIR/plugins/<name>.wasm`, from where `policy/builtin.rs` embeds
//! it; `policies/default.toml` pins their sha256.
//!
//! The hostile test fixtures (`plugins/fixtures/`) are built only with the
//! `policy-fixtures` feature, which host/Cargo.toml turns on for test builds
//! (a dev-dependency of the crate on itself), into `OUT_DIR/fixtures/`.

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

const FIXTURES: &[&str] = &[
    "loop",
    "memory",
    "trap",
    "recursion",
    "wrong-world",
    "bad-output",
    "invalid-settings",
    "unknown-reason",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let plugins_dir = manifest_dir.join("../plugins");
    // Two invocations, so the fixtures can never change how the defaults
    // (whose digests are pinned) resolve their dependencies' features.
    rrs_plugin_build::build(&plugins_dir, DEFAULT_PLUGINS, &out_dir.join("plugins"))?;
    if env::var_os("CARGO_FEATURE_POLICY_FIXTURES").is_some() {
        let members: Vec<(String, String)> = FIXTURES
            .iter()
            .map(|name| (format!("rrs-fixture-{name}"), format!("fixtures/{name}")))
            .collect();
        let fixtures: Vec<Plugin<'_>> = FIXTURES
            .iter()
            .zip(&members)
            .map(|(name, (package, dir))| Plugin { name, package, dir })
            .collect();
        rrs_plugin_build::build(&plugins_dir, &fixtures, &out_dir.join("fixtures"))?;
    }
    Ok(())
}
