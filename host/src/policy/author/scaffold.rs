//! `rrs policy new`: writes a standalone plugin crate that builds outside
//! this repository. The service's own plugins depend on `plugins/wit` and
//! `plugins/arena` by path, which only works inside a checkout; a new
//! crate instead carries copies of the contract and the arena, embedded in
//! the binary here, so the `policy.wit` it builds against is exactly the
//! one this host checks plugins against. Its starting rule is the default
//! plugin of its kind, with that plugin's case table.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::policy::PolicyKind;

/// The contract this host was built with.
const POLICY_WIT: &str = include_str!("../../../../plugins/wit/policy.wit");
/// The bump allocator the default plugins install.
const ARENA_LIB: &str = include_str!("../../../../plugins/arena/src/lib.rs");
/// The plugins workspace's lock file: the dependency versions the default
/// plugins are built and tested with; cargo trims it to the new crate.
const PLUGINS_LOCK: &str = include_str!("../../../../plugins/Cargo.lock");

const GATE_RULE: &str = include_str!("../../../../plugins/gate/src/lib.rs");
const CAPABILITY_RULE: &str = include_str!("../../../../plugins/capability/src/lib.rs");
const MEDIA_CAPS_RULE: &str = include_str!("../../../../plugins/media-caps/src/lib.rs");
const GATE_CASES: &str = include_str!("../../../../plugins/gate/cases.json");
const CAPABILITY_CASES: &str = include_str!("../../../../plugins/capability/cases.json");
const MEDIA_CAPS_CASES: &str = include_str!("../../../../plugins/media-caps/cases.json");

/// The guest dependencies, as `plugins/Cargo.toml` declares them (a test
/// keeps the two in step).
pub const GUEST_DEPENDENCIES: &str = r#"wit-bindgen = { version = "0.60", default-features = false, features = ["macros", "realloc", "std"] }
serde = { version = "1", default-features = false, features = ["derive", "std"] }
serde_json = { version = "1", default-features = false, features = ["std"] }
"#;

/// The release profile of `plugins/Cargo.toml`: small, reproducible builds.
const RELEASE_PROFILE: &str = r#"[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = true
debug = false
incremental = false
"#;

/// One file of a new crate.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Relative to the crate directory.
    pub path: PathBuf,
    pub contents: String,
}

/// `rrs policy new NAME --kind K [--dir D]`: writes the crate into `dir`
/// (default `./NAME`), which must not exist or be empty; returns the
/// directory.
pub fn new_plugin(name: &str, kind: PolicyKind, dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists() {
        let mut entries =
            fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} exists and is not empty; choose another --dir",
                dir.display()
            );
        }
    }
    for file in crate_files(name, kind)? {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, file.contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(dir)
}

/// A cargo package name that is also a readable plugin name.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        bail!(
            "`{name}` is not a valid plugin name: lowercase letters, digits, `-` and `_`, \
             starting with a letter, at most 64 characters"
        );
    }
    Ok(())
}

/// Every file of a new `kind` crate named `name`.
pub fn crate_files(name: &str, kind: PolicyKind) -> anyhow::Result<Vec<NewFile>> {
    let (rule, cases) = match kind {
        PolicyKind::Gate => (GATE_RULE, GATE_CASES),
        PolicyKind::Capability => (CAPABILITY_RULE, CAPABILITY_CASES),
        PolicyKind::MediaCaps => (MEDIA_CAPS_RULE, MEDIA_CAPS_CASES),
    };
    let file = |path: &str, contents: String| NewFile {
        path: PathBuf::from(path),
        contents,
    };
    Ok(vec![
        file("Cargo.toml", cargo_toml(name)),
        file("Cargo.lock", PLUGINS_LOCK.to_string()),
        file(".cargo/config.toml", CARGO_CONFIG.to_string()),
        file(".gitignore", "/target\n".to_string()),
        file("wit/policy.wit", POLICY_WIT.to_string()),
        file("arena/Cargo.toml", ARENA_TOML.to_string()),
        file("arena/src/lib.rs", ARENA_LIB.to_string()),
        file("src/lib.rs", starting_rule(rule, name, kind)?),
        file("cases.json", cases.to_string()),
        file("README.md", readme(name, kind)),
    ])
}

fn cargo_toml(name: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\n# The guest half of the component model bindings (wit-bindgen 0.60 \
         generates\n# with the same wit-parser as the host's wit-component), and settings \
         parsing.\n{GUEST_DEPENDENCIES}rrs-plugin-arena = {{ path = \"arena\" }}\n\n\
         # Its own workspace: builds the same wherever the directory sits.\n[workspace]\n\n\
         # Small, reproducible builds (the digest is pinned and signed).\n{RELEASE_PROFILE}"
    )
}

const CARGO_CONFIG: &str = "\
# A 16 KiB stack instead of rustc's 1 MiB: the whole stack is initial
# memory every decision allocates and zeroes, and with it the plugin fits
# in one 64 KiB page. `rrs policy build` passes the same flag.
[target.wasm32-unknown-unknown]
rustflags = [\"-Clink-arg=-zstack-size=16384\"]
";

const ARENA_TOML: &str = "\
[package]
name = \"rrs-plugin-arena\"
version = \"1.0.0\"
description = \"A bump allocator for policy plugins: no memory.grow for small decisions\"
edition = \"2021\"
publish = false

[dependencies]
";

/// The default plugin's source, pointed at the crate's own `wit/` and
/// named `name`.
fn starting_rule(source: &str, name: &str, kind: PolicyKind) -> anyhow::Result<String> {
    let world = kind.world();
    let old_generate =
        format!("wit_bindgen::generate!({{ world: \"{world}\", path: \"../wit\" }});");
    let new_generate = format!("wit_bindgen::generate!({{ world: \"{world}\", path: \"wit\" }});");
    let old_name = format!("name: \"rrs-default-{world}\".into(),");
    let new_name = format!("name: \"{name}\".into(),");
    if !source.contains(&old_generate) || !source.contains(&old_name) {
        bail!("the embedded {kind} plugin source has changed shape; this is a bug in rrs");
    }
    let header = format!(
        "//! The `{name}` {kind} policy plugin, started from the service's default\n\
         //! {kind} plugin (its documentation follows). Edit the rule in `decide`,\n\
         //! keep `cases.json` in step, then `rrs policy build` and `rrs policy test`.\n//!\n"
    );
    Ok(header
        + &source
            .replace(&old_generate, &new_generate)
            .replace(&old_name, &new_name))
}

fn readme(name: &str, kind: PolicyKind) -> String {
    let world = kind.world();
    format!(
        r#"# {name}: an rrs {kind} policy plugin

A WebAssembly component that makes the restore service's `{kind}`
decisions. Written by `rrs policy new`; it builds anywhere, with no
checkout of rrs.

```
Cargo.toml          the crate (cdylib), its own workspace, a small reproducible release profile
src/lib.rs          the rule: validate-settings, metadata, decide
cases.json          the decision table `rrs policy test` runs
wit/policy.wit      the contract (rrs:policy@1.0.0, world `{world}`), copied from the rrs that wrote this crate
arena/              the bump allocator the plugin installs (fast fresh instances)
.cargo/config.toml  the 16 KiB stack
```

Needs Rust with the `wasm32-unknown-unknown` target
(`rustup target add wasm32-unknown-unknown`) and the `rrs` binary.

```sh
rrs policy build .                        # writes {name}.wasm, prints its sha256 and memory (64 KiB: keep it so)
rrs policy test --kind {kind} --plugin {name}.wasm --cases cases.json --min-coverage 100
rrs policy bench --kind {kind} --plugin {name}.wasm --input one-input.json
rrs policy keygen --out signing.pem       # once; keep it secret, publish the public key
rrs policy sign --key signing.pem {name}.wasm   # writes {name}.wasm.sig
```

Then name `{name}.wasm`, its sha256 and your public key in the service's
policy file and reload it. The whole guide (contract, limits, case table,
signing, shipping) is `docs/policy-authors.md` of rrs.
"#
    )
}
