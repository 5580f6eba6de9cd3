//! The repository documents itself: every reason code the service can
//! answer has a runbook entry and a test that asserts it, every link in
//! the documentation points at a file of the repository, and no file names
//! a path outside it.

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
    // Assembled from parts, so this file holds none of the paths it looks
    // for and is checked like every other.
    let patterns: Vec<String> = [["..", "shared"], ["", "work"], ["", "root"], ["", "home"]]
        .iter()
        .map(|[parent, dir]| format!("{parent}/{dir}{}", if parent.is_empty() { "/" } else { "" }))
        .collect();
    let mut found = Vec::new();
    for file in tracked_files() {
        if file.ends_with(".lock") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root().join(&file)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if patterns.iter().any(|p| line.contains(p.as_str())) {
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

// ---------------------------------------------------------------------------
// Every reason code is asserted by a test.
//
// The check reads the test sources, not test results: a code counts as
// covered when its literal (`"plan_not_found"`) or its variant
// (`ReasonCode::PlanNotFound`) appears inside the arguments of an assertion
// — `assert!`, `assert_eq!`, `prop_assert_eq!`, ... or one of the asserting
// helpers below — or in a `(StatusCode::X, "code")` expectation row of a
// table-driven test. Codes offered as alternatives
// (`["a", "b"].contains(..)`) do not count: a test that accepts either one
// proves neither.

/// Test helpers whose arguments are asserted (each compares a reply's
/// reason code, or a job's, with the code it is given).
const ASSERTING_HELPERS: &[&str] = &["assert_error(", "assert_reason(", "assert_refused("];

/// Codes no test can assert over HTTP, and why. Keep this list short.
const NOT_ASSERTABLE: &[(&str, &str)] = &[(
    "target_refused",
    "the API's answer for TargetError::Refused, which only attachment \
     uploads build; uploads run inside an execution, whose media step turns \
     the refusal into the outcome `failed_target_refused` (asserted), so no \
     request answers it today",
)];

/// Codes the service can answer but no test asserts yet: a debt, listed
/// so it stays visible. Each says where it can be provoked. Empty now.
const OWED: &[(&str, &str)] = &[];

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The test sources: the end-to-end suite and its harness, the host's
/// integration tests, and the `#[cfg(test)]` part of every host source.
fn test_sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in ["tests/e2e", "tests/src", "host/tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter(|f| !f.ends_with("host/tests/docs.rs"))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
            (f, text)
        })
        .collect();
    let mut host = Vec::new();
    rust_files(&root().join("host/src"), &mut host);
    for f in host {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        // A file under a `tests` module directory is test code whole.
        let tests_only = f.components().any(|c| c.as_os_str() == "tests");
        if tests_only {
            sources.push((f, text));
        } else if let Some(at) = text.find("#[cfg(test)]") {
            sources.push((f, text[at..].to_owned()));
        }
    }
    sources
}

/// The argument text of the call whose `(` is at `open`, up to its
/// matching `)`; parentheses inside string and char literals are skipped.
fn call_arguments(text: &str, open: usize) -> &str {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..i];
                }
            }
            _ => {}
        }
        i += 1;
    }
    &text[open + 1..]
}

/// `text` without the `[..]` lists that are followed by `.contains(`: a
/// list of accepted alternatives.
fn without_alternatives(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(at) = out.find("].contains(") {
        let start = out[..at].rfind('[').unwrap_or(at);
        out.replace_range(start..=at, "");
    }
    out
}

/// Every assertion's argument text in `text`.
fn assertions(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for (at, _) in text.match_indices("assert") {
        // `assert!(`, `assert_eq!(`, `prop_assert_ne!(`, `debug_assert!(`.
        let rest = &text[at..];
        let name_end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if rest[name_end..].starts_with("!(") {
            starts.push(at + name_end + 1);
        }
    }
    for helper in ASSERTING_HELPERS {
        for (at, _) in text.match_indices(helper) {
            let definition = text[..at].ends_with("fn ");
            if !definition {
                starts.push(at + helper.len() - 1);
            }
        }
    }
    for open in starts {
        found.push(without_alternatives(call_arguments(text, open)));
    }
    // Expectation rows of table-driven tests: `(StatusCode::CONFLICT, "code")`.
    for (at, _) in text.match_indices("(StatusCode::") {
        let row = call_arguments(text, at);
        if !row.contains('(') {
            found.push(row.to_owned());
        }
    }
    found
}

fn asserted_codes() -> std::collections::BTreeMap<ReasonCode, Vec<String>> {
    let mut asserted: std::collections::BTreeMap<ReasonCode, Vec<String>> = Default::default();
    for (file, text) in test_sources() {
        let rel = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        for assertion in assertions(&text) {
            for code in ReasonCode::iter() {
                let literal = format!("\"{}\"", code.as_str());
                let variant = format!("ReasonCode::{code:?}");
                let by_variant = assertion.match_indices(&variant).any(|(at, _)| {
                    !assertion[at + variant.len()..].starts_with(char::is_alphanumeric)
                });
                if assertion.contains(&literal) || by_variant {
                    asserted.entry(code).or_default().push(rel.clone());
                }
            }
        }
    }
    asserted
}

#[test]
fn every_reason_code_is_asserted_by_a_test() {
    let asserted = asserted_codes();
    let exempt = |code: &str| NOT_ASSERTABLE.iter().chain(OWED).any(|(c, _)| *c == code);
    let missing: Vec<&str> = ReasonCode::iter()
        .filter(|code| !asserted.contains_key(code))
        .map(ReasonCode::as_str)
        .filter(|code| !exempt(code))
        .collect();
    assert!(
        missing.is_empty(),
        "no test asserts these reason codes (an assertion naming the code, \
         not one of several alternatives): {missing:?}"
    );
    // An exemption that a test now covers is stale, and one that names no
    // code of the enum is a typo.
    for (code, why) in NOT_ASSERTABLE.iter().chain(OWED) {
        let parsed = ReasonCode::parse(code).unwrap_or_else(|| panic!("{code}: not a reason code"));
        assert!(!why.is_empty(), "{code}: say why it cannot be asserted");
        assert!(
            !asserted.contains_key(&parsed),
            "{code} is asserted by {:?}: drop it from NOT_ASSERTABLE / OWED",
            asserted[&parsed]
        );
    }
}

#[test]
fn the_reason_code_scan_sees_assertions_and_ignores_alternatives() {
    let text = r#"
        assert_eq!(reply.reason(), "plan_not_found");
        assert!(["execution_in_progress", "execution_already_started"].contains(&r));
        let rows = [(StatusCode::NOT_FOUND, "job_not_found")];
        assert_eq!(outcome.reason_code, ReasonCode::JobAlreadyTerminal);
        let not_asserted = "evidence_not_found";
    "#;
    let all = assertions(text).join("\n");
    assert!(all.contains("\"plan_not_found\""));
    assert!(all.contains("\"job_not_found\""));
    assert!(all.contains("ReasonCode::JobAlreadyTerminal"));
    assert!(!all.contains("execution_in_progress"), "{all}");
    assert!(!all.contains("evidence_not_found"));
}
