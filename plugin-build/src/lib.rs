//! Builds policy plugins from `plugins/` as WebAssembly components, for the
//! build scripts that need them: the service's (the default plugins it
//! embeds) and the test fixtures' (the hostile plugins the tests load); and,
//! through [`build_crate`] and [`encode_component`], a policy author's
//! standalone crate for `rrs policy build`, with the same flags.
//!
//! The plugins in `plugins/` are their own cargo workspace. [`build`] runs a
//! nested `cargo build --release --target wasm32-unknown-unknown` on it
//! (installing the target with rustup when its sysroot directory is
//! missing), turns each core module into a component with `wit-component`
//! (so a plugin imports nothing at all: no WASI) and writes the components
//! to a directory the caller names. `policies/default.toml` pins the default
//! plugins' sha256, so the build must be bit-for-bit reproducible: the
//! nested build gets a clean environment (no outer RUSTFLAGS, target dir,
//! wrappers or profile overrides), its source, registry and target paths
//! remapped, and the plugins' release profile (`codegen-units = 1`, `lto`,
//! `panic = "abort"`, `strip`).

use std::env;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub type BuildResult<T> = Result<T, Box<dyn Error>>;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// One member of the plugins workspace.
#[derive(Clone, Copy, Debug)]
pub struct Plugin<'a> {
    /// The component's file name in the destination, without `.wasm`.
    pub name: &'a str,
    /// Its cargo package.
    pub package: &'a str,
    /// Its directory, relative to the plugins workspace.
    pub dir: &'a str,
}

/// Outer-build variables that would change what the nested build produces.
const SCRUBBED_VARS: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_INCREMENTAL",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_LLVM_COV",
    "CARGO_PRIMARY_PACKAGE",
];

const SCRUBBED_PREFIXES: &[&str] = &[
    "CARGO_BUILD_",
    "CARGO_PROFILE_",
    "CARGO_TARGET_",
    "CARGO_FEATURE_",
    "CARGO_CFG_",
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "__CARGO",
];

/// Builds `plugins` of the workspace in `plugins_dir` and writes their
/// components to `dest/<name>.wasm`, from a build script (it reads
/// `OUT_DIR` and prints the `rerun-if-changed` lines for the workspace and
/// the members it builds; the caller adds its own build script's).
///
/// Each call is its own nested cargo invocation, so one set of plugins can
/// never change how another (the defaults, whose digests are pinned)
/// resolves its dependencies' features.
pub fn build(plugins_dir: &Path, plugins: &[Plugin<'_>], dest: &Path) -> BuildResult<()> {
    let plugins_dir = plugins_dir
        .canonicalize()
        .map_err(|e| format!("the plugins workspace {}: {e}", plugins_dir.display()))?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    for file in ["Cargo.toml", "Cargo.lock", "wit", "arena"] {
        println!(
            "cargo:rerun-if-changed={}",
            plugins_dir.join(file).display()
        );
    }
    for plugin in plugins {
        // A fixture may carry its own WIT copy; a path that does not exist
        // would make cargo rerun the build script on every build.
        for file in ["Cargo.toml", "src", "wit"] {
            let path = plugins_dir.join(plugin.dir).join(file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }

    ensure_wasm_target()?;
    let target_dir = nested_target_dir(&out_dir);
    let packages: Vec<&str> = plugins.iter().map(|plugin| plugin.package).collect();
    run_cargo(&plugins_dir, &target_dir, &packages, true)?;
    fs::create_dir_all(dest)?;
    for Plugin { name, package, .. } in plugins {
        let module_path = target_dir
            .join(WASM_TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let module = fs::read(&module_path)
            .map_err(|e| format!("reading {}: {e}", module_path.display()))?;
        let component = encode_component(&module)
            .map_err(|e| format!("encoding {package} as a component: {e}"))?;
        write_if_changed(&dest.join(format!("{name}.wasm")), &component)?;
    }
    Ok(())
}

/// Turns a wasm32 core module (with the component type section
/// `wit-bindgen` embeds) into a validated component that imports nothing
/// but what the module imports: what `wasm-tools component new` does.
pub fn encode_component(module: &[u8]) -> BuildResult<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("{e:#}").into())
}

/// The initial linear memory, in bytes, of `wasm` (a core module, or a
/// component and the modules nested in it): every decision allocates,
/// zeroes and initialises all of it.
pub fn initial_memory_bytes(wasm: &[u8]) -> BuildResult<u64> {
    let mut bytes = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::MemorySection(memories) = payload? {
            for memory in memories {
                let memory = memory?;
                let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                bytes = bytes.saturating_add(memory.initial.saturating_mul(page));
            }
        }
    }
    Ok(bytes)
}

/// Builds the standalone plugin crate in `crate_dir` (`rrs policy build`,
/// outside any build script) for wasm32 in release, with the same clean
/// environment, stack size and path remapping as the default plugins, into
/// `target_dir`; returns the core module's path. `package` is the crate's
/// package name. Unlike [`build`] it does not insist on an up-to-date lock
/// file: a new crate starts with the plugins workspace's lock file, which
/// cargo trims to the crate's own dependencies.
pub fn build_crate(crate_dir: &Path, target_dir: &Path, package: &str) -> BuildResult<PathBuf> {
    let crate_dir = crate_dir
        .canonicalize()
        .map_err(|e| format!("the plugin crate {}: {e}", crate_dir.display()))?;
    ensure_wasm_target()?;
    fs::create_dir_all(target_dir)?;
    let target_dir = target_dir.canonicalize()?;
    run_cargo(&crate_dir, &target_dir, &[package], false)?;
    Ok(target_dir
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_"))))
}

/// Leaves the file (and its mtime) alone when the bytes are the same.
fn write_if_changed(path: &Path, bytes: &[u8]) -> BuildResult<()> {
    if fs::read(path).ok().as_deref() != Some(bytes) {
        fs::write(path, bytes)?;
    }
    Ok(())
}

/// The nested build's own target directory: beside the outer profile
/// directories (`<target>/rrs-plugins`), so check, test, clippy and release
/// builds, and every crate that builds plugins, share one warm plugin
/// build; inside OUT_DIR when the layout is not the usual
/// `<target>/<profile>/build/<pkg>/out`.
fn nested_target_dir(out_dir: &Path) -> PathBuf {
    let mut ancestors = out_dir.ancestors();
    let build = ancestors.nth(2);
    match (build, ancestors.nth(1)) {
        (Some(build), Some(target)) if build.file_name() == Some("build".as_ref()) => {
            target.join("rrs-plugins")
        }
        _ => out_dir.join("rrs-plugins"),
    }
}

fn run_cargo(
    plugins_dir: &Path,
    target_dir: &Path,
    packages: &[&str],
    locked: bool,
) -> BuildResult<()> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(plugins_dir)
        .args(["build", "--release", "--target", WASM_TARGET]);
    if locked {
        cmd.arg("--locked");
    }
    cmd.arg("--manifest-path")
        .arg(plugins_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        cmd.args(["--package", package]);
    }
    scrub_env(&mut cmd);
    cmd.env(
        "CARGO_ENCODED_RUSTFLAGS",
        plugin_flags(plugins_dir, target_dir).join("\x1f"),
    );
    let status = cmd
        .status()
        .map_err(|e| format!("running cargo for the policy plugins: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the policy plugins in {} failed ({status}); run `cargo build --release \
             --target {WASM_TARGET}` there to see why",
            plugins_dir.display()
        )
        .into());
    }
    Ok(())
}

fn scrub_env(cmd: &mut Command) {
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let scrub = SCRUBBED_VARS.contains(&key)
            || SCRUBBED_PREFIXES
                .iter()
                .any(|prefix| key.starts_with(prefix));
        if scrub {
            cmd.env_remove(key);
        }
    }
}

/// The plugins' stack size (`plugins/.cargo/config.toml` sets the same for
/// hand builds). rustc's default for wasm32 is 1 MiB, all of it in the
/// module's initial memory, which every decision allocates and zeroes:
/// with 16 KiB, the stack, the data (about 12 KiB) and the arena fit in
/// one 64 KiB wasm page (see `host/src/policy/engine.rs`). The stack sits
/// below the data (`--stack-first`), so an overflow traps (a fail-closed
/// denial) instead of overwriting the heap.
const PLUGIN_STACK_BYTES: u32 = 16 * 1024;

/// The plugins' link flags: the stack size, and remapped paths that could
/// end up in a plugin (panic locations): the plugin sources, the registry
/// sources under CARGO_HOME and generated files under the nested target
/// directory.
fn plugin_flags(plugins_dir: &Path, target_dir: &Path) -> Vec<String> {
    let mut flags = vec![format!("-Clink-arg=-zstack-size={PLUGIN_STACK_BYTES}")];
    if let Some(cargo_home) = cargo_home() {
        flags.push(format!(
            "--remap-path-prefix={}=/cargo",
            cargo_home.display()
        ));
    }
    flags.push(format!(
        "--remap-path-prefix={}=/rrs/target",
        target_dir.display()
    ));
    flags.push(format!(
        "--remap-path-prefix={}=/rrs/plugins",
        plugins_dir.display()
    ));
    flags
}

fn cargo_home() -> Option<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    Some(home.canonicalize().unwrap_or(home))
}

/// Installs the wasm target with rustup when the toolchain lacks it (a fresh
/// machine with RUSTUP_AUTO_INSTALL=0 does not install rust-toolchain.toml's
/// targets by itself).
fn ensure_wasm_target() -> BuildResult<()> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc).args(["--print", "sysroot"]).output()?;
    let sysroot = PathBuf::from(String::from_utf8(output.stdout)?.trim());
    if sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() {
        return Ok(());
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", WASM_TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        cmd.args(["--toolchain", &toolchain]);
    }
    let status = cmd.status().map_err(|e| {
        format!(
            "the {WASM_TARGET} target is missing from {} and rustup failed: {e}",
            sysroot.display()
        )
    })?;
    if !status.success() {
        return Err(format!("`rustup target add {WASM_TARGET}` failed ({status})").into());
    }
    Ok(())
}
