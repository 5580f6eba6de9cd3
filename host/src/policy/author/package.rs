//! `rrs policy build [DIR]`: builds a plugin crate for wasm32 and encodes
//! the module as a component in-process, with the same code
//! (`rrs-plugin-build`) that builds the service's embedded plugins, so an
//! author needs neither `wasm-tools` nor a checkout of rrs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use sha2::{Digest, Sha256};

use crate::policy::engine::COMPACT_MEMORY_BYTES;

/// A built plugin.
#[derive(Debug, Clone)]
pub struct Built {
    /// `DIR/<package name>.wasm`.
    pub wasm: PathBuf,
    /// Lowercase hex sha256 of the component: what a policy file pins.
    pub digest: String,
    /// The plugin's initial linear memory, which every decision allocates,
    /// zeroes and initialises.
    pub memory_bytes: u64,
}

impl Built {
    /// A warning when the plugin's memory is larger than a new crate's one
    /// wasm page: every decision allocates, zeroes and initialises all of
    /// it, so each page past the first costs every decision.
    pub fn memory_warning(&self) -> Option<String> {
        let compact = COMPACT_MEMORY_BYTES as u64;
        (self.memory_bytes > compact).then(|| {
            format!(
                "the plugin's memory is {} KiB; every decision allocates, zeroes and \
                 initialises all of it, and a new crate needs {} KiB. Keep the 16 KiB stack \
                 (.cargo/config.toml) and shrink ARENA_BYTES (arena/src/lib.rs) or the \
                 plugin's constant data until it fits.",
                self.memory_bytes >> 10,
                compact >> 10
            )
        })
    }
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
    let memory_bytes = rrs_plugin_build::initial_memory_bytes(&component)
        .map_err(|e| anyhow!("reading {name}'s memory section: {e}"))?;
    let wasm = dir.join(format!("{name}.wasm"));
    fs::write(&wasm, &component).with_context(|| format!("writing {}", wasm.display()))?;
    Ok(Built {
        wasm,
        digest: hex::encode(Sha256::digest(&component)),
        memory_bytes,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn built(memory_bytes: u64) -> Built {
        Built {
            wasm: PathBuf::from("my-gate.wasm"),
            digest: String::new(),
            memory_bytes,
        }
    }

    #[test]
    fn a_plugin_past_one_wasm_page_is_warned_about() {
        assert_eq!(built(64 << 10).memory_warning(), None);
        let warning = built(192 << 10).memory_warning().unwrap();
        assert!(
            warning.contains("192 KiB") && warning.contains("64 KiB"),
            "{warning}"
        );
    }
}
