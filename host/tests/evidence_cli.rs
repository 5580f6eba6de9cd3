//! `rrs evidence verify FILE [--public-key PEM]`, the real binary on real
//! package files: exit status and reason code for a good package, a wrong
//! key, a tampered artifact, a tampered report and a before-image changed
//! in the store before the file was written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use async_trait::async_trait;
use chrono::Utc;
use rrs::domain::evidence::keys::{generate_key_pair, Signer};
use rrs::domain::evidence::manifest::{Origin, ResumeMetadata};
use rrs::domain::evidence::offline::write_package_file;
use rrs::domain::evidence::package::{digest_artifacts, scope_of, seal, SealRequest};
use rrs::domain::evidence::verify::SignedParts;
use rrs::domain::evidence::{
    ArtifactKind, ArtifactScope, ArtifactSource, Evidence, EvidenceSources, JobFacts, Page,
    RetainedBeforeImage, Retention,
};
use rrs::domain::journal::before_image_sha256;
use rrs::domain::DomainError;
use serde_json::{json, Map, Value};

struct Rows(&'static str, Vec<Value>);

#[async_trait]
impl ArtifactSource for Rows {
    async fn header(&self) -> Result<Map<String, Value>, DomainError> {
        Ok(json!({"job_id": "job-cli", "note": "ünïcode"})
            .as_object()
            .unwrap()
            .clone())
    }
    fn lists(&self) -> Vec<&'static str> {
        vec![self.0]
    }
    async fn page(&self, _: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError> {
        let start: usize = after.map_or(0, |a| a.parse().unwrap());
        let end = (start + limit as usize).min(self.1.len());
        Ok(Page {
            items: self.1[start..end].to_vec(),
            next: (end < self.1.len()).then(|| end.to_string()),
        })
    }
}

/// Journal rows with before-images; the first 300 are retained.
const JOURNAL_ROWS: usize = 1500;
const RETAINED: usize = 300;

fn image(i: usize) -> Value {
    json!({"short_description": format!("before {i}"), "priority": i % 5})
}

/// A job's sources; `changed` names a journal row whose before-image was
/// changed in the store after it was journaled.
struct Sources(JobFacts, Option<usize>);

#[async_trait]
impl EvidenceSources for Sources {
    async fn job(&self, _: &str) -> Result<Option<JobFacts>, DomainError> {
        Ok(Some(self.0.clone()))
    }
    fn artifact<'a>(
        &'a self,
        _: &'a ArtifactScope,
        kind: ArtifactKind,
    ) -> Box<dyn ArtifactSource + 'a> {
        if kind == ArtifactKind::RollbackJournal {
            let rows = (0..JOURNAL_ROWS)
                .map(|i| {
                    json!({"journal_id": format!("j{i}"), "plan_row_id": i + 1,
                           "before_image_sha256": before_image_sha256(&image(i)).unwrap()})
                })
                .collect();
            return Box::new(Rows("rollback_journal", rows));
        }
        let rows = (0..1500)
            .map(|i| json!({"i": i, "kind": kind.as_str(), "x": 0.5}))
            .collect();
        Box::new(Rows("rows", rows))
    }
    async fn retained_before_images(
        &self,
        _: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<RetainedBeforeImage>, DomainError> {
        let start = usize::try_from(after).unwrap();
        Ok((start..RETAINED.min(start + limit as usize))
            .map(|i| {
                let mut before_image = image(i);
                if self.1 == Some(i) {
                    before_image["short_description"] = json!("changed in the store");
                }
                RetainedBeforeImage {
                    journal_id: format!("j{i}"),
                    plan_row_id: i as i64 + 1,
                    before_image,
                    before_image_sha256: Some(before_image_sha256(&image(i)).unwrap()),
                }
            })
            .collect())
    }
}

fn job() -> JobFacts {
    JobFacts {
        job_id: "job-cli".into(),
        plan_id: "plan-cli".into(),
        plan_hash: "cd".repeat(32),
        tenant_id: "acme".into(),
        instance_id: "prod".into(),
        source: None,
        tables: vec!["incident".into()],
        status: "completed".into(),
        status_reason_code: None,
        operator_id: "ops-1".into(),
        created_at: Utc::now(),
        started_at: Some(Utc::now()),
        finished_at: Some(Utc::now()),
        pit_algorithm_version: None,
        resume_metadata: ResumeMetadata::default(),
        policy_decisions: vec![],
        last_event_seq: 3,
        outcome_summary: json!({}),
        undo_of: None,
    }
}

/// Writes a package file signed by a fresh key; returns it and the key's
/// PEM. With `changed`, the file is written after that journal row's
/// before-image was changed in the store (the package was sealed before).
async fn package(dir: &Path, changed: Option<usize>) -> (PathBuf, PathBuf) {
    let (private, public) = generate_key_pair().unwrap();
    let evidence = Evidence {
        signer: Signer::from_pem("cli-key", &private, Some(&public)).unwrap(),
        retention: Retention {
            retention_class: "standard".into(),
            retention_days: 30,
            worm_enabled: true,
        },
    };
    let sources = Sources(job(), None);
    let digests = digest_artifacts(&sources, &scope_of(&sources.0))
        .await
        .unwrap();
    let request = SealRequest {
        job: &sources.0,
        package_version: 1,
        origin: Origin::Export,
        generated_by: "ops-1",
        now: Utc::now(),
    };
    let sealed = seal(&evidence, request, &digests).unwrap();
    let parts = SignedParts {
        manifest: serde_json::from_str(&sealed.manifest_json).unwrap(),
        manifest_sha256: sealed.manifest_sha256,
        signature: sealed.signature,
        report: serde_json::from_str(&sealed.report_json).unwrap(),
        report_hash: sealed.report_hash,
    };
    let mut bytes = Vec::new();
    let sources = Sources(sources.0, changed);
    write_package_file(
        &sources,
        &scope_of(&sources.0),
        &parts,
        Some(&public),
        &mut bytes,
    )
    .await
    .unwrap();
    let file = dir.join("package.json");
    std::fs::write(&file, bytes).unwrap();
    let key = dir.join("key.pem");
    std::fs::write(&key, public).unwrap();
    (file, key)
}

fn verify(file: &Path, key: Option<&Path>) -> (bool, Value, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rrs"));
    command.args(["evidence", "verify"]).arg(file);
    if let Some(key) = key {
        command.arg("--public-key").arg(key);
    }
    let output = command.output().unwrap();
    let stdout = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (
        output.status.success(),
        stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn rewrite(file: &Path, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut value: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    change(&mut value);
    let out = file.with_file_name(format!("tampered-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&out, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    out
}

#[tokio::test]
async fn a_good_package_verifies_with_its_key_and_warns_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let (file, key) = package(dir.path(), None).await;
    let (ok, out, _) = verify(&file, Some(&key));
    assert!(ok, "{out}");
    let checks = out["checks"].as_array().unwrap();
    let images = checks
        .iter()
        .find(|c| c["name"] == "before_images")
        .unwrap();
    assert_eq!(images["passed"], true, "{images}");
    assert!(
        images["message"].as_str().unwrap().starts_with("300 "),
        "{images}"
    );
    assert_eq!(out["verified"], true);
    assert_eq!(out["key"], "supplied");
    assert_eq!(out["job_id"], "job-cli");
    let (ok, out, stderr) = verify(&file, None);
    assert!(ok);
    assert_eq!(out["key"], "embedded_in_package");
    assert!(stderr.contains("warning"), "{stderr}");
}

#[tokio::test]
async fn wrong_key_and_tampering_fail_with_their_reason_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (file, key) = package(dir.path(), None).await;
    let other = dir.path().join("other.pem");
    std::fs::write(&other, generate_key_pair().unwrap().1).unwrap();
    let (ok, out, stderr) = verify(&file, Some(&other));
    assert!(!ok);
    assert_eq!(out["reason_code"], "failed_evidence_signature_verification");
    assert!(
        stderr.contains("failed_evidence_signature_verification"),
        "{stderr}"
    );

    let artifact = rewrite(&file, |v| {
        v["artifacts"]["plan"]["rows"][7]["i"] = json!(70)
    });
    let (ok, out, _) = verify(&artifact, Some(&key));
    assert!(!ok);
    assert_eq!(out["reason_code"], "failed_evidence_artifact_hash_mismatch");

    let report = rewrite(&file, |v| v["report"]["job"]["status"] = json!("failed"));
    let (ok, out, _) = verify(&report, Some(&key));
    assert!(!ok);
    assert_eq!(out["reason_code"], "failed_evidence_report_hash_mismatch");

    // Reformatting (pretty-printing, key order) is not tampering.
    let pretty = rewrite(&file, |_| {});
    assert!(verify(&pretty, Some(&key)).0);
}

#[tokio::test]
async fn a_before_image_changed_in_the_store_fails_and_names_its_journal_row() {
    let dir = tempfile::tempdir().unwrap();
    let (file, key) = package(dir.path(), Some(7)).await;
    let (ok, out, stderr) = verify(&file, Some(&key));
    assert!(!ok, "{out}");
    assert_eq!(out["reason_code"], "failed_evidence_before_image_mismatch");
    assert!(
        stderr.contains("failed_evidence_before_image_mismatch"),
        "{stderr}"
    );
    let failed: Vec<&str> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["before_images"], "the signed parts still verify");
    let rows = out["before_image_mismatches"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["journal_id"], "j7");
    assert_eq!(rows[0]["plan_row_id"], 8);
    assert_eq!(
        rows[0]["before_image_sha256"],
        json!(before_image_sha256(&image(7)).unwrap())
    );

    // Editing a digest in a good file is caught the same way, and a
    // digest naming no journal row is no better.
    let (good, _) = package(dir.path(), None).await;
    let edited = rewrite(&good, |v| {
        v["before_image_digests"][3]["sha256"] = json!("0".repeat(64))
    });
    let (ok, out, _) = verify(&edited, Some(&key));
    assert!(!ok);
    assert_eq!(out["before_image_mismatches"][0]["journal_id"], "j3");
    let foreign = rewrite(&good, |v| {
        v["before_image_digests"][0]["journal_id"] = json!("j-unknown")
    });
    let (ok, out, _) = verify(&foreign, Some(&key));
    assert!(!ok);
    assert_eq!(
        out["before_image_mismatches"][0]["before_image_sha256"],
        Value::Null
    );
    // A file without digests (images pruned, or an older file) is fine.
    let pruned = rewrite(&good, |v| v["before_image_digests"] = json!([]));
    assert!(verify(&pruned, Some(&key)).0);
}

#[test]
fn a_missing_or_foreign_file_is_an_error_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, stderr) = verify(&dir.path().join("nope.json"), None);
    assert!(!ok);
    assert_eq!(out, Value::Null);
    assert!(stderr.contains("cannot read"), "{stderr}");
    let foreign = dir.path().join("foreign.json");
    std::fs::write(&foreign, "{\"hello\": 1}").unwrap();
    let (ok, _, stderr) = verify(&foreign, None);
    assert!(!ok);
    assert!(stderr.contains("not an evidence package"), "{stderr}");
}
