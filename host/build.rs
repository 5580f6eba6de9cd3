//! Builds the policy plugins from source so that `cargo run -p rrs -- serve`
//! needs no manual step on a fresh machine.
//!
//! The plugins in `plugins/` are their own cargo workspace. This script runs
//! a nested `cargo build --release --target wasm32-unknown-unknown` on it
//! (installing the target with rustup when its sysroot directory is
//! missing), turns each core module into a component with `wit-component`
//! (so a plugin imports nothing at all: no WASI), and writes the components
//! to `OUT_DIR/plugins/<name>.wasm`, from where `policy/builtin.rs` embeds
//! them. `policies/default.toml` pins their sha256, so the build must be
//! bit-for-bit reproducible: the nested build gets a clean environment (no
//! outer RUSTFLAGS, target dir, wrappers or profile overrides), its source,
//! registry and target paths remapped, and the plugins' release profile
//! (`codegen-units = 1`, `lto`, `panic = "abort"`, `strip`).
//!
//! The hostile test fixtures (`plugins/fixtures/`) are built only with the
//! `policy-fixtures` feature, which host/Cargo.toml turns on for test builds
//! (a dev-dependency of the crate on itself), into `OUT_DIR/fixtures/`.

use std::env;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

type BuildResult<T> = Result<T, Box<dyn Error>>;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// (name under OUT_DIR, cargo package, member directory)
const DEFAULT_PLUGINS: &[(&str, &str, &str)] = &[
    ("gate", "rrs-policy-gate", "gate"),
    ("capability", "rrs-policy-capability", "capability"),
    ("media-caps", "rrs-policy-media-caps", "media-caps"),
];

const FIXTURE_PLUGINS: &[(&str, &str, &str)] = &[
    ("loop", "rrs-fixture-loop", "fixtures/loop"),
    ("memory", "rrs-fixture-memory", "fixtures/memory"),
    ("trap", "rrs-fixture-trap", "fixtures/trap"),
    ("recursion", "rrs-fixture-recursion", "fixtures/recursion"),
    (
        "wrong-world",
        "rrs-fixture-wrong-world",
        "fixtures/wrong-world",
    ),
    (
        "bad-output",
        "rrs-fixture-bad-output",
        "fixtures/bad-output",
    ),
    (
        "invalid-settings",
        "rrs-fixture-invalid-settings",
        "fixtures/invalid-settings",
    ),
    (
        "unknown-reason",
        "rrs-fixture-unknown-reason",
        "fixtures/unknown-reason",
    ),
];

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

fn main() -> BuildResult<()> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let plugins_dir = manifest_dir
        .parent()
        .ok_or("host/ has no parent directory")?
        .join("plugins")
        .canonicalize()?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let with_fixtures = env::var_os("CARGO_FEATURE_POLICY_FIXTURES").is_some();

    println!("cargo:rerun-if-changed=build.rs");
    for file in ["Cargo.toml", "Cargo.lock", "wit", "arena"] {
        println!(
            "cargo:rerun-if-changed={}",
            plugins_dir.join(file).display()
        );
    }
    let mut members: Vec<_> = DEFAULT_PLUGINS.to_vec();
    if with_fixtures {
        members.extend_from_slice(FIXTURE_PLUGINS);
    }
    for (_, _, dir) in &members {
        // A fixture may carry its own WIT copy; a path that does not exist
        // would make cargo rerun this script on every build.
        for file in ["Cargo.toml", "src", "wit"] {
            let path = plugins_dir.join(dir).join(file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }

    ensure_wasm_target()?;
    let target_dir = nested_target_dir(&out_dir);
    // Two invocations, so the fixtures can never change how the defaults
    // (whose digests are pinned) resolve their dependencies' features.
    build_set(
        &plugins_dir,
        &target_dir,
        DEFAULT_PLUGINS,
        &out_dir.join("plugins"),
    )?;
    if with_fixtures {
        build_set(
            &plugins_dir,
            &target_dir,
            FIXTURE_PLUGINS,
            &out_dir.join("fixtures"),
        )?;
    }
    Ok(())
}

/// Builds one set of plugins and writes their components to `dest`.
fn build_set(
    plugins_dir: &Path,
    target_dir: &Path,
    set: &[(&str, &str, &str)],
    dest: &Path,
) -> BuildResult<()> {
    let packages: Vec<&str> = set.iter().map(|(_, package, _)| *package).collect();
    cargo_build(plugins_dir, target_dir, &packages)?;
    fs::create_dir_all(dest)?;
    for (name, package, _) in set {
        let module_path = target_dir
            .join(WASM_TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let module = fs::read(&module_path)
            .map_err(|e| format!("reading {}: {e}", module_path.display()))?;
        let component = wit_component::ComponentEncoder::default()
            .module(&module)
            .and_then(|encoder| encoder.validate(true).encode())
            .map_err(|e| format!("encoding {package} as a component: {e:#}"))?;
        write_if_changed(&dest.join(format!("{name}.wasm")), &component)?;
    }
    Ok(())
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
/// builds share one warm plugin build; inside OUT_DIR when the layout is
/// not the usual `<target>/<profile>/build/<pkg>/out`.
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

fn cargo_build(plugins_dir: &Path, target_dir: &Path, packages: &[&str]) -> BuildResult<()> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(plugins_dir)
        .args(["build", "--release", "--locked", "--target", WASM_TARGET])
        .arg("--manifest-path")
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
/// module's initial memory, which the host scans for dirty pages after
/// every decision: 64 KiB keeps that scan 7x shorter. The stack sits below
/// the data (`--stack-first`), so an overflow traps (a fail-closed denial)
/// instead of overwriting the heap.
const PLUGIN_STACK_BYTES: u32 = 64 * 1024;

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
