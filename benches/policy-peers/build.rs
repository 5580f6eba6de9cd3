//! Builds column F's plugins, `plugins/fixtures/floor-capability` and
//! `floor-media-caps` (plugins that allow without deciding), as components
//! in `OUT_DIR/floor/`, with the same nested build as the service's default
//! plugins.

use std::env;
use std::error::Error;
use std::path::PathBuf;

use rrs_plugin_build::Plugin;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let plugins = [
        Plugin {
            name: "capability",
            package: "rrs-fixture-floor-capability",
            dir: "fixtures/floor-capability",
        },
        Plugin {
            name: "media-caps",
            package: "rrs-fixture-floor-media-caps",
            dir: "fixtures/floor-media-caps",
        },
    ];
    rrs_plugin_build::build(
        &manifest_dir.join("../../plugins"),
        &plugins,
        &out_dir.join("floor"),
    )
}
