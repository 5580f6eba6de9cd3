//! The Python tools the suite runs beyond cargo (`.ci/requirements.txt`,
//! pinned), installed by `bash .ci/tools` into one virtual environment:
//! `$RRS_TOOLS_VENV`, default `~/.cache/rrs-venv`. A missing tool fails the
//! test that needs it, saying how to install it; nothing is skipped.

use std::path::{Path, PathBuf};

/// The tools' virtual environment.
pub fn venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("RRS_TOOLS_VENV") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME is set (or set RRS_TOOLS_VENV)");
    Path::new(&home).join(".cache").join("rrs-venv")
}

/// The path of an executable of the tools' environment (`python`,
/// `openapi-python-client`, ...); panics, naming the fix, when it is not
/// installed.
pub fn tool(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `bash .ci/tools` (installs .ci/requirements.txt into $RRS_TOOLS_VENV, default ~/.cache/rrs-venv)",
        path.display()
    );
    path
}

/// The repository's root.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Runs a tool to completion; returns whether it succeeded and its
/// standard output and error together.
pub async fn run(command: &mut tokio::process::Command) -> (bool, String) {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
