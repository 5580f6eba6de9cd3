//! `rrs policy build [DIR]`: builds a plugin crate for wasm32 and encodes
//! the module as a component in-process, with the same code
//! (`rrs-plugin-build`) that builds the service's embedded plugins, so an
//! author needs neither `wasm-tools` nor a checkout of rrs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use sha2::{Digest, Sha256};

/// A built plugin.
#[derive(Debug, Clone)]
pub struct Built {
    /// `DIR/<package name>.wasm`.
    pub wasm: PathBuf,
    /// Lowercase hex sha256 of the component: what a policy file pins.
    pub digest: String,
}

/// Builds the crate in `dir` into `target_dir` (default `DIR/target`) and
/// writes the component to `DIR/<package name>.wasm`.
pub fn build(dir: &Path, target_dir: Option<&Path>) -> anyhow::Result<Built> {
    let name = package_name(dir)?;
    let target_dir = target_dir.map_or_else(|| dir.join("target"), Path::to_path_buf);
    let module_path = rrs_plugin_build::build_crate(dir, &target_dir, &name)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("building {}", dir.display()))?;
    let module =
        fs::read(&module_path).with_context(|| format!("reading {}", module_path.display()))?;
    let component = rrs_plugin_build::encode_component(&module)
        .map_err(|e| anyhow!("encoding {name} as a component: {e}"))?;
    let wasm = dir.join(format!("{name}.wasm"));
    fs::write(&wasm, &component).with_context(|| format!("writing {}", wasm.display()))?;
    Ok(Built {
        wasm,
        digest: hex::encode(Sha256::digest(&component)),
    })
}

/// `package.name` of `DIR/Cargo.toml`.
fn package_name(dir: &Path) -> anyhow::Result<String> {
    let manifest = dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .with_context(|| format!("{} is not a plugin crate", dir.display()))?;
    let parsed: toml::Value =
        toml::from_str(&text).with_context(|| format!("{}: invalid TOML", manifest.display()))?;
    parsed
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{} has no package.name", manifest.display()))
}
