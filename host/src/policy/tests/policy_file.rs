//! The policy file and the pinned digests: `policies/default.toml` pins the
//! plugins exactly as build.rs builds them, the embedded copy is the file,
//! parsing is strict, and the compile cache is used and survives damage.

use std::fs;

use super::support::{default_policy_file, default_registry, policy_dir, repo_root, sha256_of};
use crate::policy::{
    builtin_plugin, PluginLocation, PolicyConfig, PolicyHostOptions, PolicyKind, PolicyRegistry,
    BUILTIN_PLUGINS,
};

/// With `RRS_PIN_POLICY_DIGESTS=1` this rewrites the pins in
/// `policies/default.toml` instead of failing (then rebuild: the file is
/// also embedded).
#[test]
fn default_toml_pins_the_digests_of_the_built_plugins() {
    let path = default_policy_file();
    let config = PolicyConfig::from_file(&path).unwrap();
    let mut text = fs::read_to_string(&path).unwrap();
    let mut stale = Vec::new();
    let mut pinned = Vec::new();
    for kind in PolicyKind::ALL {
        let PluginLocation::Builtin(name) = config.location(kind) else {
            panic!("{kind}")
        };
        let actual = sha256_of(builtin_plugin(&name).unwrap());
        if config.entry(kind).sha256 != actual {
            stale.push(format!(
                "{kind}: pinned {} but plugins/{name} builds {actual}",
                config.entry(kind).sha256
            ));
            text = text.replace(&config.entry(kind).sha256, &actual);
        }
        pinned.push(name);
    }
    assert_eq!(pinned, BUILTIN_PLUGINS);
    if !stale.is_empty() && std::env::var_os("RRS_PIN_POLICY_DIGESTS").is_some() {
        fs::write(&path, text).unwrap();
        return;
    }
    assert!(
        stale.is_empty(),
        "policies/default.toml pins stale digests (rerun with RRS_PIN_POLICY_DIGESTS=1 to \
         update them):\n{}",
        stale.join("\n")
    );
}

#[test]
fn default_settings_are_the_contracts() {
    let listed = default_registry().list();
    let kinds: Vec<_> = listed.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, PolicyKind::ALL);
    assert_eq!(
        listed[0].settings,
        serde_json::json!({"max_lag_seconds": 900})
    );
    assert_eq!(
        listed[1].settings,
        serde_json::json!({"high_risk_deletes": 100})
    );
    assert_eq!(
        listed[2].settings,
        serde_json::json!({"mediaMaxItems": 100, "mediaMaxBytes": 104_857_600})
    );
    let json = serde_json::to_value(&listed[2]).unwrap();
    assert_eq!(json["kind"], "media_caps");
    assert_eq!(json["name"], "rrs-default-media-caps");
}

#[test]
fn the_embedded_default_is_the_file() {
    let embedded = PolicyConfig::embedded_default().unwrap();
    let file = PolicyConfig::from_file(&default_policy_file()).unwrap();
    for kind in PolicyKind::ALL {
        assert_eq!(embedded.entry(kind), file.entry(kind));
    }
    let registry = PolicyRegistry::from_config(embedded, PolicyHostOptions::default()).unwrap();
    assert_eq!(registry.list(), default_registry().list());
}

#[test]
fn policy_files_are_parsed_strictly() {
    let dir = policy_dir(None);
    let text = fs::read_to_string(&dir.file).unwrap();
    for broken in [
        text.replace("[gate]", "[gate]\nplugn = \"x\""),
        text.replace("[media_caps]", "[media-caps]"),
        text.replace("sha256 = \"", "sha256 = \"X"),
    ] {
        fs::write(&dir.file, broken).unwrap();
        let error = PolicyConfig::from_file(&dir.file).unwrap_err();
        assert!(
            error.to_string().contains(&dir.file.display().to_string()),
            "{error}"
        );
    }
    let missing = dir.dir.path().join("absent.toml");
    let error = PolicyRegistry::load(&missing, PolicyHostOptions::default()).unwrap_err();
    assert!(error.to_string().contains("absent.toml"), "{error}");
}

#[test]
fn unknown_builtin_is_refused() {
    let text = crate::policy::DEFAULT_POLICIES_TOML.replace("builtin:gate", "builtin:nope");
    let error = PolicyConfig::from_toml(&text, "x.toml".as_ref(), ".".as_ref())
        .and_then(|c| PolicyRegistry::from_config(c, PolicyHostOptions::default()))
        .unwrap_err();
    assert!(error.reason.contains("no builtin plugin `nope`"), "{error}");
}

#[test]
fn compiled_plugins_are_cached_and_damage_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let options = PolicyHostOptions {
        cache_dir: Some(cache.path().join("c")),
        ..Default::default()
    };
    let file = repo_root().join("policies/default.toml");
    PolicyRegistry::load(&file, options.clone()).unwrap();
    let mut artifacts: Vec<_> = fs::read_dir(cache.path().join("c"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    artifacts.sort();
    assert_eq!(artifacts.len(), 3, "{artifacts:?}");
    for (path, kind) in artifacts.iter().zip(["capability", "gate", "media"]) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.len() > 64, "{name} ({kind})");
    }
    // Damaged artifacts are detected by their checksum and recompiled.
    fs::write(&artifacts[0], b"not native code").unwrap();
    let registry = PolicyRegistry::load(&file, options).unwrap();
    assert_eq!(registry.list(), default_registry().list());
    assert_ne!(fs::read(&artifacts[0]).unwrap(), b"not native code");
}
