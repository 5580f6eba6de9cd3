//! Sealing and verifying over in-memory sources with real keys and real
//! bytes: every tamper case gives its reason code, the offline verifier
//! agrees with the in-service one, and the streamed canonical form is the
//! canonical form of the whole document.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{json, Value};

use super::super::artifact::{self, ArtifactKind};
use super::super::offline::{verify_package_bytes, write_package_file, KeyOrigin};
use super::super::package::{scope_of, verify_parts};
use super::super::verify::{
    ARTIFACT_HASH_MISMATCH, BEFORE_IMAGE_MISMATCH, REPORT_HASH_MISMATCH, SIGNATURE_FAILED,
};
use super::fixtures::*;
use crate::domain::canonical::{canonical_json, sha256_hex};

#[tokio::test]
async fn streamed_form_is_the_canonical_form_of_the_whole() {
    let sources = sources(2500);
    for kind in ArtifactKind::ALL {
        let memory = sources.artifacts.lock().unwrap()[&kind].clone();
        let mut whole = memory.header.clone();
        for (name, rows) in &memory.lists {
            whole.insert((*name).to_owned(), Value::Array(rows.clone()));
        }
        let mut streamed = Vec::new();
        artifact::stream(&memory, &mut streamed).await.unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            canonical_json(&whole).unwrap()
        );
        let digest = artifact::digest(&memory).await.unwrap();
        assert_eq!(
            digest.sha256,
            sha256_hex(canonical_json(&whole).unwrap().as_bytes())
        );
    }
}

#[tokio::test]
async fn a_sealed_package_verifies_in_service_and_offline() {
    let sources = sources(2500);
    let (evidence, public) = evidence("k1");
    let sealed = sealed(&sources, &evidence, 1).await;
    assert_eq!(sealed.manifest.signer_key_id, "k1");
    assert_eq!(sealed.manifest.job_events_through_seq, 4);
    assert_eq!(sealed.artifact_rows, 2500 * 3 + 2);
    let keyring = MemoryKeyring(BTreeMap::from([("k1".into(), public)]));
    let verdict = verify_parts(&sources, &keyring, &parts(&sealed), Utc::now())
        .await
        .unwrap();
    assert!(verdict.verified, "{verdict:?}");
    assert_eq!(verdict.checks.len(), 8);
    let mut file = Vec::new();
    write_package_file(
        &sources,
        &scope_of(&sources.job),
        &parts(&sealed),
        Some(&pem(&public)),
        &mut file,
    )
    .await
    .unwrap();
    let file_json: Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(
        String::from_utf8(file.clone()).unwrap(),
        canonical_json(&file_json).unwrap(),
        "the file is canonical JSON"
    );
    let supplied = verify_package_bytes(&file, Some(&pem(&public)), Utc::now()).unwrap();
    assert!(supplied.verification.verified);
    assert_eq!(supplied.key, KeyOrigin::Supplied);
    let embedded = verify_package_bytes(&file, None, Utc::now()).unwrap();
    assert!(embedded.verification.verified);
    assert_eq!(embedded.key, KeyOrigin::EmbeddedInPackage);
}

#[tokio::test]
async fn tampered_artifacts_report_and_keys_give_their_reason_codes() {
    let sources = sources(10);
    let (evidence, public) = evidence("k1");
    let sealed = sealed(&sources, &evidence, 1).await;
    let keyring = MemoryKeyring(BTreeMap::from([("k1".into(), public)]));
    let key_pem = pem(&public);

    let mut tampered_report = parts(&sealed);
    tampered_report.report["outcome_summary"]["applied"] = json!(2499);
    assert_eq!(
        verdicts(&sources, &keyring, &tampered_report, Some(&key_pem)).await,
        (Some(REPORT_HASH_MISMATCH), Some(REPORT_HASH_MISMATCH))
    );

    let mut tampered_manifest = parts(&sealed);
    tampered_manifest.manifest["plan_hash"] = json!("00".repeat(32));
    assert_eq!(
        verdicts(&sources, &keyring, &tampered_manifest, Some(&key_pem)).await,
        (Some(SIGNATURE_FAILED), Some(SIGNATURE_FAILED))
    );

    let (_, other_public) = super::fixtures::evidence("k1");
    let wrong = MemoryKeyring(BTreeMap::from([("k1".into(), other_public)]));
    assert_eq!(
        verdicts(&sources, &wrong, &parts(&sealed), Some(&pem(&other_public))).await,
        (Some(SIGNATURE_FAILED), Some(SIGNATURE_FAILED))
    );
    let empty = MemoryKeyring(BTreeMap::new());
    assert_eq!(
        verify_parts(&sources, &empty, &parts(&sealed), Utc::now())
            .await
            .unwrap()
            .reason_code,
        Some(SIGNATURE_FAILED)
    );

    sources
        .artifacts
        .lock()
        .unwrap()
        .get_mut(&ArtifactKind::RollbackJournal)
        .unwrap()
        .lists[0]
        .1[3]["after_image_sha256"] = json!("ff".repeat(32));
    assert_eq!(
        verdicts(&sources, &keyring, &parts(&sealed), Some(&key_pem)).await,
        (Some(ARTIFACT_HASH_MISMATCH), Some(ARTIFACT_HASH_MISMATCH))
    );
    let verdict = verify_parts(&sources, &keyring, &parts(&sealed), Utc::now())
        .await
        .unwrap();
    let failed: Vec<&str> = verdict.failures().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, vec!["artifact_hash:rollback_journal"]);
}

#[tokio::test]
async fn a_changed_before_image_fails_in_service_and_offline_naming_its_row() {
    let sources = sources(2500);
    let (evidence, public) = evidence("k1");
    let sealed = sealed(&sources, &evidence, 1).await;
    let keyring = MemoryKeyring(BTreeMap::from([("k1".into(), public)]));
    let key_pem = pem(&public);
    assert_eq!(
        verdicts(&sources, &keyring, &parts(&sealed), Some(&key_pem)).await,
        (None, None)
    );
    // Pruning (images gone, hashes kept) is not tampering.
    let all = std::mem::take(&mut *sources.images.lock().unwrap());
    assert_eq!(
        verdicts(&sources, &keyring, &parts(&sealed), Some(&key_pem)).await,
        (None, None)
    );
    *sources.images.lock().unwrap() = all;
    // Rows past the first page, so paging is covered too.
    for i in [3, 1500] {
        sources.images.lock().unwrap()[i].before_image["short_description"] = json!("mallory");
    }
    assert_eq!(
        verdicts(&sources, &keyring, &parts(&sealed), Some(&key_pem)).await,
        (Some(BEFORE_IMAGE_MISMATCH), Some(BEFORE_IMAGE_MISMATCH))
    );
    let verdict = verify_parts(&sources, &keyring, &parts(&sealed), Utc::now())
        .await
        .unwrap();
    let failed: Vec<&str> = verdict.failures().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, vec!["before_images"]);
    let rows: Vec<(&str, Option<i64>)> = verdict
        .before_image_mismatches
        .iter()
        .map(|m| (m.journal_id.as_str(), m.plan_row_id))
        .collect();
    assert_eq!(rows, vec![("j00003", Some(4)), ("j01500", Some(1501))]);
    // An artifact mismatch still comes first.
    sources
        .artifacts
        .lock()
        .unwrap()
        .get_mut(&ArtifactKind::Plan)
        .unwrap()
        .lists[0]
        .1[0]["note"] = json!("x");
    assert_eq!(
        verdicts(&sources, &keyring, &parts(&sealed), Some(&key_pem)).await,
        (Some(ARTIFACT_HASH_MISMATCH), Some(ARTIFACT_HASH_MISMATCH))
    );
}

#[tokio::test]
async fn after_a_rotation_old_packages_verify_and_new_ones_name_the_new_key() {
    let sources = sources(5);
    let (old, old_public) = evidence("k-2025");
    let (new, new_public) = evidence("k-2026");
    let before = sealed(&sources, &old, 1).await;
    let after = sealed(&sources, &new, 2).await;
    assert_eq!(after.signature.signer_key_id, "k-2026");
    let keyring = MemoryKeyring(BTreeMap::from([
        ("k-2025".into(), old_public),
        ("k-2026".into(), new_public),
    ]));
    for sealed in [&before, &after] {
        assert!(
            verify_parts(&sources, &keyring, &parts(sealed), Utc::now())
                .await
                .unwrap()
                .verified
        );
    }
    // The rotated-away key, or the new key on an old package, does not verify.
    assert_eq!(
        verdicts(&sources, &keyring, &parts(&before), Some(&pem(&new_public)))
            .await
            .1,
        Some(SIGNATURE_FAILED)
    );
    let rotated_away = MemoryKeyring(BTreeMap::from([("k-2026".into(), new_public)]));
    assert_eq!(
        verify_parts(&sources, &rotated_away, &parts(&before), Utc::now())
            .await
            .unwrap()
            .reason_code,
        Some(SIGNATURE_FAILED)
    );
}

#[tokio::test]
async fn offline_refuses_garbage_and_reports_a_missing_artifact() {
    assert!(verify_package_bytes(b"{}", None, Utc::now()).is_err());
    assert!(verify_package_bytes(b"not json", None, Utc::now()).is_err());
    let sources = sources(3);
    let (evidence, public) = evidence("k1");
    let sealed = sealed(&sources, &evidence, 1).await;
    let mut file = Vec::new();
    write_package_file(
        &sources,
        &scope_of(&sources.job),
        &parts(&sealed),
        None,
        &mut file,
    )
    .await
    .unwrap();
    let mut value: Value = serde_json::from_slice(&file).unwrap();
    value["artifacts"]
        .as_object_mut()
        .unwrap()
        .remove("job_events");
    let bytes = serde_json::to_vec(&value).unwrap();
    let report = verify_package_bytes(&bytes, Some(&pem(&public)), Utc::now()).unwrap();
    assert_eq!(
        report.verification.reason_code,
        Some(ARTIFACT_HASH_MISMATCH)
    );
    let unsigned = verify_package_bytes(&file, None, Utc::now()).unwrap();
    assert_eq!(unsigned.key, KeyOrigin::None);
    assert_eq!(unsigned.verification.reason_code, Some(SIGNATURE_FAILED));
}

#[test]
fn a_decision_names_its_signer_only_when_signed() {
    let unsigned = crate::domain::evidence::manifest::PolicyDecisionRef {
        decision_id: "d-1".into(),
        kind: "gate".into(),
        policy_name: "rrs-default-gate".into(),
        policy_version: "1.0.0".into(),
        policy_digest: "0".repeat(64),
        policy_signer: None,
        policy_signer_fingerprint: None,
        input_sha256: "1".repeat(64),
        outcome: "executable".into(),
        subject_kind: "plan".into(),
        subject_id: "p-1".into(),
        decided_at: "2026-12-06T10:00:00Z".into(),
    };
    // Manifests of unsigned decisions keep the shape they were signed in.
    let json = serde_json::to_value(&unsigned).unwrap();
    assert!(json.get("policy_signer").is_none(), "{json}");
    let signed = crate::domain::evidence::manifest::PolicyDecisionRef {
        policy_signer: Some("release".into()),
        policy_signer_fingerprint: Some("sha256:0123456789abcdef".into()),
        ..unsigned
    };
    let json = serde_json::to_value(&signed).unwrap();
    assert_eq!(json["policy_signer"], "release");
    let back: crate::domain::evidence::manifest::PolicyDecisionRef =
        serde_json::from_value(json).unwrap();
    assert_eq!(back, signed);
}
