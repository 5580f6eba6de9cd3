//! The author toolchain: decision-table coverage through a plugin file
//! (`rrs policy test --plugin`), and the standalone crate `rrs policy new`
//! writes.

use std::fs;
use std::path::Path;

use super::support::repo_root;
use crate::policy::author::{coverage, scaffold};
use crate::policy::{builtin_plugin, commands, PolicyKind};

#[test]
fn coverage_of_the_default_tables_through_plugin_files() {
    for (kind, name) in [
        (PolicyKind::Gate, "gate"),
        (PolicyKind::Capability, "capability"),
        (PolicyKind::MediaCaps, "media-caps"),
    ] {
        let scratch = tempfile::tempdir().unwrap();
        let wasm = scratch.path().join("plugin.wasm");
        fs::write(&wasm, builtin_plugin(name).unwrap()).unwrap();
        let cases = repo_root().join(format!("plugins/{name}/cases.json"));
        let (report, coverage) = commands::test_plugin(kind, &wasm, &cases, None).unwrap();
        assert!(report.failed.is_empty(), "{}", report.summary());
        assert_eq!(coverage.missing, Vec::<String>::new(), "{kind}");
        assert!((coverage.percent - 100.0).abs() < 1e-9);
        commands::assert_coverage(&coverage, 100.0).unwrap();
    }
}

#[test]
fn coverage_below_the_minimum_fails_naming_what_is_missing() {
    let scratch = tempfile::tempdir().unwrap();
    let wasm = scratch.path().join("plugin.wasm");
    fs::write(&wasm, builtin_plugin("capability").unwrap()).unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(
        &fs::read_to_string(repo_root().join("plugins/capability/cases.json")).unwrap(),
    )
    .unwrap();
    let allow_only: Vec<_> = all
        .into_iter()
        .filter(|c| c["expect"]["decision"] == "allow")
        .collect();
    let cases = scratch.path().join("cases.json");
    fs::write(&cases, serde_json::to_string(&allow_only).unwrap()).unwrap();
    let (_, coverage) = commands::test_plugin(PolicyKind::Capability, &wasm, &cases, None).unwrap();
    assert_eq!(
        coverage.missing,
        ["outcome:deny", "reason:blocked_missing_capability"]
    );
    let error = commands::assert_coverage(&coverage, 100.0).unwrap_err();
    assert!(
        error.to_string().contains("below --min-coverage 100"),
        "{error}"
    );
    assert_eq!(coverage::universe(PolicyKind::Gate).len(), 7);
}

#[test]
fn a_new_crate_is_standalone() {
    for kind in PolicyKind::ALL {
        let files = scaffold::crate_files("my-plugin", kind).unwrap();
        let get = |path: &str| {
            &files
                .iter()
                .find(|f| f.path == Path::new(path))
                .unwrap()
                .contents
        };
        let rule = get("src/lib.rs");
        assert!(rule.contains("path: \"wit\""), "{kind}");
        assert!(rule.contains("name: \"my-plugin\".into()"), "{kind}");
        assert!(
            !rule.contains("../"),
            "{kind}: the rule names a path outside its crate"
        );
        let manifest = get("Cargo.toml");
        assert!(manifest.contains("path = \"arena\""));
        assert!(!manifest.contains(".workspace"), "no workspace inheritance");
        assert!(!get("arena/Cargo.toml").contains(".workspace"));
        assert_eq!(
            get("wit/policy.wit"),
            &fs::read_to_string(repo_root().join("plugins/wit/policy.wit")).unwrap()
        );
    }
}

#[test]
fn a_new_crate_uses_the_plugins_dependency_versions() {
    let plugins = fs::read_to_string(repo_root().join("plugins/Cargo.toml")).unwrap();
    for line in scaffold::GUEST_DEPENDENCIES.lines() {
        assert!(
            plugins.contains(line),
            "plugins/Cargo.toml no longer declares `{line}`: update the scaffold"
        );
    }
}

#[test]
fn a_new_crate_is_not_written_over_a_directory_in_use() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keep"), "mine").unwrap();
    let error = scaffold::new_plugin("my-gate", PolicyKind::Gate, Some(dir.path())).unwrap_err();
    assert!(error.to_string().contains("not empty"), "{error}");
    let error = scaffold::new_plugin("My Gate", PolicyKind::Gate, None).unwrap_err();
    assert!(
        error.to_string().contains("not a valid plugin name"),
        "{error}"
    );
}
