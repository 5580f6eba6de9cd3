//! The layering rules of `docs/architecture.md`, checked on the source:
//! the arrows that must never exist between layers, and no import cycle
//! between the files of a layer. A rule broken here fails `cargo test`
//! with the file and the line that broke it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (layer directory, paths its files must never name, why)
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    (
        "api",
        &["crate::store", "sea_orm", "crate::media_store", ".store()"],
        "handlers translate: they call the domain face and never reach storage",
    ),
    (
        "domain",
        &["crate::api", "poem"],
        "the domain knows nothing of HTTP",
    ),
    (
        "store",
        &["crate::domain", "crate::api", "crate::policy"],
        "storage stores: it never decides and never calls up",
    ),
    (
        "policy",
        &["crate::domain", "crate::api", "crate::store"],
        "the policy host is below the domain",
    ),
    (
        "media_store",
        &["crate::domain", "crate::api", "crate::store"],
        "the media store is below the domain",
    ),
    (
        "telemetry",
        &["crate::api", "crate::domain", "crate::store"],
        "telemetry is used by every layer and uses none",
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

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

/// The code of a file without comments (doc comments may name anything).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

#[test]
fn no_layer_names_what_it_must_not() {
    let mut broken = Vec::new();
    for (layer, forbidden, why) in FORBIDDEN {
        let mut files = Vec::new();
        rust_files(&src().join(layer), &mut files);
        let single = src().join(format!("{layer}.rs"));
        if single.exists() {
            files.push(single);
        }
        assert!(!files.is_empty(), "no files found for layer {layer}");
        for file in files {
            for (line_no, line) in code_lines(&file) {
                for name in *forbidden {
                    if line.contains(name) {
                        broken.push(format!(
                            "{}:{line_no}: names `{name}` ({why})",
                            file.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

/// The module path of a file (`domain::plan::gate` for
/// `src/domain/plan/gating.rs`; `domain` for `src/domain/mod.rs`).
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if stem != "mod" && stem != "lib" {
            parts.push(stem);
        }
    }
    parts
}

/// Every `crate::a::b` or `super::a` path in a line, resolved to an
/// absolute module path (the parent of `super` is that of the file's own
/// module: the file itself for `mod.rs`).
fn referenced_paths(line: &str, module: &[String], is_mod_rs: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !line.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &line[i..];
        let starts = rest.starts_with("crate::") || rest.starts_with("super::");
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !(starts && boundary) {
            i += 1;
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let segments: Vec<&str> = rest[..end].split("::").filter(|s| !s.is_empty()).collect();
        let mut base: Vec<String> = if is_mod_rs {
            module.to_vec()
        } else {
            module[..module.len().saturating_sub(1)].to_vec()
        };
        let mut resolved = Vec::new();
        for (k, seg) in segments.iter().enumerate() {
            match *seg {
                "crate" if k == 0 => base.clear(),
                "super" if k == 0 => {}
                "super" => {
                    base.pop();
                }
                other => resolved.push(other.to_owned()),
            }
        }
        base.extend(resolved);
        out.push(base);
        i += end.max(1);
    }
    out
}

#[test]
fn no_import_cycle_between_files() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_of(f), f.clone())).collect();
    let is_hub = |f: &Path| {
        f.file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs")
    };
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in files.iter().filter(|f| !is_hub(f)) {
        let module = module_of(file);
        let own = edges.entry(module.clone()).or_default();
        for (_, line) in code_lines(file) {
            for mut path in referenced_paths(&line, &module, false) {
                // The longest prefix that is a file of its own.
                while !path.is_empty() && !modules.contains_key(&path) {
                    path.pop();
                }
                let target_is_hub = modules.get(&path).is_some_and(|f| is_hub(f));
                if !path.is_empty() && path != module && !target_is_hub {
                    own.insert(path);
                }
            }
        }
    }
    let mut cycles = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            if reaches(&edges, to, from, &mut BTreeSet::new()) {
                cycles.push(format!(
                    "{} -> {} -> ... -> {}",
                    from.join("::"),
                    to.join("::"),
                    from.join("::")
                ));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

fn reaches(
    edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    from: &Vec<String>,
    goal: &Vec<String>,
    seen: &mut BTreeSet<Vec<String>>,
) -> bool {
    if from == goal {
        return true;
    }
    if !seen.insert(from.clone()) {
        return false;
    }
    edges
        .get(from)
        .is_some_and(|next| next.iter().any(|n| reaches(edges, n, goal, seen)))
}

#[test]
fn the_resolver_reads_paths_as_rust_does() {
    let module = vec!["domain".to_owned(), "jobs".to_owned()];
    let paths = referenced_paths(
        "use super::queue::admit; crate::store::Store",
        &module,
        false,
    );
    assert_eq!(
        paths,
        vec![
            vec!["domain".to_owned(), "queue".to_owned(), "admit".to_owned()],
            vec!["store".to_owned(), "Store".to_owned()],
        ]
    );
    let nested = referenced_paths(
        "super::super::jobs",
        &["domain".into(), "execute".into(), "start".into()],
        false,
    );
    assert_eq!(nested, vec![vec!["domain".to_owned(), "jobs".to_owned()]]);
}
