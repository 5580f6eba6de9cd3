//! The repository documents itself: every reason code the service can
//! answer has a runbook entry, every link in the documentation points at a
//! file of the repository, and no file names a path outside it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use rrs::domain::ReasonCode;
use strum::IntoEnumIterator;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The codes with an entry: a `### \`code\`` heading in the runbooks.
fn runbook_entries() -> Vec<String> {
    read("docs/runbooks.md")
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_reason_code_has_a_runbook_entry() {
    let entries = runbook_entries();
    assert!(
        entries.len() >= 10,
        "runbooks hold {} entries",
        entries.len()
    );
    let missing: Vec<&str> = ReasonCode::iter()
        .map(ReasonCode::as_str)
        .filter(|code| !entries.iter().any(|e| e == code))
        .collect();
    assert!(
        missing.is_empty(),
        "no `### `code`` entry in docs/runbooks.md for: {missing:?}"
    );
}

/// Every string enum value of a `*reason_code` property, anywhere.
fn document_reason_codes(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                if key.ends_with("reason_code") || key == "ReasonCode" {
                    collect_enum(child, out);
                }
                document_reason_codes(child, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| document_reason_codes(i, out)),
        _ => {}
    }
}

fn collect_enum(schema: &serde_json::Value, out: &mut Vec<String>) {
    if let Some(values) = schema["enum"].as_array() {
        out.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)));
    }
    for list in ["allOf", "anyOf", "oneOf"] {
        for item in schema[list].as_array().into_iter().flatten() {
            collect_enum(item, out);
        }
    }
}

#[test]
fn every_reason_code_of_the_openapi_document_has_a_runbook_entry() {
    let document: serde_json::Value =
        serde_json::from_str(&read("openapi/openapi.json")).unwrap_or_default();
    let mut codes = Vec::new();
    document_reason_codes(&document, &mut codes);
    codes.sort();
    codes.dedup();
    assert!(
        codes.len() >= 10,
        "the document lists {} reason codes",
        codes.len()
    );
    let entries = runbook_entries();
    let missing: Vec<&String> = codes.iter().filter(|c| !entries.contains(c)).collect();
    assert!(missing.is_empty(), "undocumented reason codes: {missing:?}");
}

fn tracked_files() -> Vec<String> {
    let out = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_file_names_a_path_outside_the_repository() {
    let patterns = ["../shared", "/work/", "/root/", "/home/"];
    let mut found = Vec::new();
    for file in tracked_files() {
        if file.ends_with(".lock") || file == "host/tests/docs.rs" {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root().join(&file)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if patterns.iter().any(|p| line.contains(p)) {
                found.push(format!("{file}:{}: {line}", n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "paths outside the repository:\n{}",
        found.join("\n")
    );
}

/// Relative targets of markdown links `[text](target)`.
fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = markdown;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].to_owned());
        }
    }
    out
}

#[test]
fn documentation_links_point_into_the_repository() {
    let mut files: Vec<String> = tracked_files()
        .into_iter()
        .filter(|f| f.ends_with(".md"))
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f == "README.md"));
    let mut broken = Vec::new();
    for file in files {
        let base = root().join(&file);
        let dir = base.parent().map(Path::to_path_buf).unwrap_or_else(root);
        for link in links(&read(&file)) {
            if link.starts_with("http://127.0.0.1") || link.starts_with('#') {
                continue;
            }
            let target = link.split('#').next().unwrap_or_default();
            let external = link.contains("://");
            let inside = !external
                && dir
                    .join(target)
                    .canonicalize()
                    .is_ok_and(|p| p.starts_with(root().canonicalize().unwrap_or_default()));
            if !(inside || external && file != "README.md") {
                broken.push(format!("{file}: ({link})"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links outside the repository:\n{}",
        broken.join("\n")
    );
}
