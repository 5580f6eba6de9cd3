//! Builds the hostile policy plugins (`plugins/fixtures/<name>`, package
//! `rrs-fixture-<name>`) as components in `OUT_DIR/fixtures/<name>.wasm`,
//! with the same nested build as the service's default plugins.

use std::env;
use std::error::Error;
use std::path::PathBuf;

use rrs_plugin_build::Plugin;

#[path = "src/names.rs"]
mod names;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let members: Vec<(String, String)> = names::NAMES
        .iter()
        .map(|name| (format!("rrs-fixture-{name}"), format!("fixtures/{name}")))
        .collect();
    let plugins: Vec<Plugin<'_>> = names::NAMES
        .iter()
        .zip(&members)
        .map(|(name, (package, dir))| Plugin { name, package, dir })
        .collect();
    rrs_plugin_build::build(
        &manifest_dir.join("../../plugins"),
        &plugins,
        &out_dir.join("fixtures"),
    )
}
