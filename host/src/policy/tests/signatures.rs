//! Signed plugins: accepted with their signer named (in the policy list
//! and in every decision's record), or refused at load and at reload with
//! the running set unchanged: unsigned, signed by an untrusted key, or
//! changed after signing. A replica converging to a recorded signed set
//! names the signer the accepting replica verified.

use std::fs;
use std::path::Path;

use super::support::{load, policy_dir, sha256_of, Replace};
use crate::policy::{
    builtin_plugin, recorded_config, set_digest, signature, PolicyConfig, PolicyHostOptions,
    PolicyKind, PolicyRegistry, SignatureRefusal,
};

/// The builtin gate as a plugin file, under `[signatures]`.
fn signed_dir(signatures: &str, sign_with: Option<&Path>) -> super::support::PolicyDir {
    let scratch = tempfile::tempdir().unwrap();
    let wasm = scratch.path().join("gate.wasm");
    fs::write(&wasm, builtin_plugin("gate").unwrap()).unwrap();
    let dir = policy_dir(Some(Replace {
        kind: PolicyKind::Gate,
        wasm: &wasm,
        sha256: None,
        settings: "",
    }));
    let plugin = dir.dir.path().join("plugin.wasm");
    if let Some(key) = sign_with {
        signature::sign(key, &plugin).unwrap();
    }
    let text = fs::read_to_string(&dir.file).unwrap();
    fs::write(&dir.file, format!("{text}\n[signatures]\n{signatures}\n")).unwrap();
    dir
}

fn keypair(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let key = dir.join(name);
    let (public, _) = signature::keygen(&key).unwrap();
    (key, public)
}

fn trusting(public: &str) -> String {
    format!(
        "require_signatures = true\ntrusted_keys = [{{ name = \"release\", public_key = \"{public}\" }}]"
    )
}

#[test]
fn a_signed_plugin_names_its_signer() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keypair(keys.path(), "release.pem");
    let dir = signed_dir(&trusting(&public), Some(&key));
    let registry = load(&dir).unwrap();
    let gate = registry.policy(PolicyKind::Gate).unwrap();
    let signer = gate.signer.unwrap();
    assert_eq!(signer.key_name, "release");
    assert!(signer.fingerprint.starts_with("sha256:"));
    // Builtins need no signature and name none.
    assert_eq!(
        registry.policy(PolicyKind::Capability).unwrap().signer,
        None
    );
    let input = serde_json::from_value(serde_json::json!({
        "tenant_id": "acme", "instance_id": "prod",
        "pit": "2026-11-20T10:00:00Z", "now": "2026-11-20T10:30:00Z", "partitions": []
    }))
    .unwrap();
    let record = registry.decide_gate(&input).record;
    assert_eq!(record.policy_signer.unwrap().key_name, "release");
}

/// Loads `bad`, then reloads a good registry from it: both refuse with
/// `refusal`, and the good registry keeps its set.
fn assert_refused(bad: &super::support::PolicyDir, refusal: SignatureRefusal) {
    let error = load(bad).err().unwrap();
    assert_eq!(error.refusal, Some(refusal), "{error}");
    assert!(
        error.to_string().contains("policy_signature_rejected"),
        "{error}"
    );
    let good = policy_dir(None);
    let registry = load(&good).unwrap();
    let before = registry.list();
    let error = registry.reload_file(&bad.file).err().unwrap();
    assert_eq!(error.refusal, Some(refusal), "{error}");
    assert_eq!(registry.list(), before);
}

#[test]
fn an_unsigned_plugin_is_refused_when_signatures_are_required() {
    let keys = tempfile::tempdir().unwrap();
    let (_, public) = keypair(keys.path(), "release.pem");
    let dir = signed_dir(&trusting(&public), None);
    assert_refused(&dir, SignatureRefusal::SignatureMissing);
}

#[test]
fn a_plugin_signed_by_an_untrusted_key_is_refused() {
    let keys = tempfile::tempdir().unwrap();
    let (_, public) = keypair(keys.path(), "release.pem");
    let (stranger, _) = keypair(keys.path(), "stranger.pem");
    let dir = signed_dir(&trusting(&public), Some(&stranger));
    assert_refused(&dir, SignatureRefusal::SignatureUntrusted);
}

#[test]
fn a_plugin_changed_after_signing_is_refused() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keypair(keys.path(), "release.pem");
    let dir = signed_dir(&trusting(&public), Some(&key));
    // Append a custom section and re-pin the new digest: only the
    // signature can tell.
    let plugin = dir.dir.path().join("plugin.wasm");
    let mut bytes = fs::read(&plugin).unwrap();
    bytes.extend_from_slice(&[0, 4, 3, b'e', b'v', b'l']);
    fs::write(&plugin, &bytes).unwrap();
    let text = fs::read_to_string(&dir.file).unwrap();
    let old = sha256_of(builtin_plugin("gate").unwrap());
    fs::write(&dir.file, text.replacen(&old, &sha256_of(&bytes), 1)).unwrap();
    assert_refused(&dir, SignatureRefusal::SignatureInvalid);
}

#[test]
fn without_require_signatures_an_unsigned_plugin_loads_unsigned() {
    let keys = tempfile::tempdir().unwrap();
    let (stranger, public) = keypair(keys.path(), "stranger.pem");
    let other = tempfile::tempdir().unwrap();
    let (_, trusted) = keypair(other.path(), "release.pem");
    assert_ne!(public, trusted);
    let dir = signed_dir(
        &format!("trusted_keys = [{{ name = \"release\", public_key = \"{trusted}\" }}]"),
        Some(&stranger),
    );
    let registry = load(&dir).unwrap();
    assert_eq!(registry.policy(PolicyKind::Gate).unwrap().signer, None);
}

#[test]
fn require_signatures_needs_a_trusted_key() {
    let dir = signed_dir("require_signatures = true", None);
    let error = load(&dir).err().unwrap();
    assert!(
        error.to_string().contains("at least one trusted key"),
        "{error}"
    );
}

#[test]
fn a_replica_adopting_a_recorded_signed_set_names_the_same_signer() {
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = keypair(keys.path(), "release.pem");
    let dir = signed_dir(&trusting(&public), Some(&key));
    let accepting = load(&dir).unwrap();
    let signer = accepting.policy(PolicyKind::Gate).unwrap().signer;
    assert!(signer.is_some());
    let recorded = accepting.recordable();
    assert_eq!(recorded.entries[0].signer, signer, "the signer is recorded");

    // Another replica: the recorded bytes only, no signature file, no key.
    let config = recorded_config(3, &recorded.entries, recorded.blobs.clone()).unwrap();
    let other = PolicyRegistry::from_config(
        PolicyConfig::embedded_default().unwrap(),
        PolicyHostOptions::default(),
    )
    .unwrap();
    other.adopt(&config, 3).unwrap();
    assert_eq!(other.set_digest(), accepting.set_digest());
    assert_eq!(other.policy(PolicyKind::Gate).unwrap().signer, signer);
    assert_eq!(other.policy(PolicyKind::Capability).unwrap().signer, None);
    let input = serde_json::from_value(serde_json::json!({
        "tenant_id": "acme", "instance_id": "prod",
        "pit": "2026-11-20T10:00:00Z", "now": "2026-11-20T10:30:00Z", "partitions": []
    }))
    .unwrap();
    assert_eq!(other.decide_gate(&input).record.policy_signer, signer);

    // The same bytes recorded without a signer make another set, so a
    // replica never keeps a signer the latest recorded set does not name.
    let mut unsigned = recorded.entries.clone();
    unsigned[0].signer = None;
    assert_ne!(set_digest(&unsigned), accepting.set_digest());
}
