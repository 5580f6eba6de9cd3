//! In-memory sources and keyrings with the shapes the store gives, and
//! helpers that seal packages with real keys.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use ed25519_dalek::VerifyingKey;
use serde_json::{json, Map, Value};

use super::super::artifact::{ArtifactKind, ArtifactSource, Page};
use super::super::keys::{generate_key_pair, parse_public_key_pem, Signer};
use super::super::manifest::{Origin, ResumeMetadata};
use super::super::offline::{verify_package_bytes, write_package_file};
use super::super::package::{
    digest_artifacts, scope_of, seal, verify_parts, Evidence, Retention, SealRequest, Sealed,
};
use super::super::sources::{
    ArtifactScope, EvidenceSources, JobFacts, Keyring, RetainedBeforeImage,
};
use super::super::verify::SignedParts;
use crate::domain::canonical::sha256_hex;
use crate::domain::journal::before_image_sha256;
use crate::domain::reason::ReasonCode;
use crate::domain::DomainError;

/// An artifact held in memory: header members and named lists.
#[derive(Clone, Default)]
pub(super) struct MemoryArtifact {
    pub(super) header: Map<String, Value>,
    pub(super) lists: Vec<(&'static str, Vec<Value>)>,
}

#[async_trait]
impl ArtifactSource for MemoryArtifact {
    async fn header(&self) -> Result<Map<String, Value>, DomainError> {
        Ok(self.header.clone())
    }
    fn lists(&self) -> Vec<&'static str> {
        self.lists.iter().map(|(name, _)| *name).collect()
    }
    async fn page(&self, list: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError> {
        let rows = &self.lists.iter().find(|(n, _)| *n == list).unwrap().1;
        let start = after.map_or(0, |a| a.parse::<usize>().unwrap());
        let end = (start + limit as usize).min(rows.len());
        Ok(Page {
            items: rows[start..end].to_vec(),
            next: (end < rows.len()).then(|| end.to_string()),
        })
    }
}

pub(super) struct MemorySources {
    pub(super) job: JobFacts,
    pub(super) artifacts: Mutex<HashMap<ArtifactKind, MemoryArtifact>>,
    /// The retained before-images, in journal order.
    pub(super) images: Mutex<Vec<RetainedBeforeImage>>,
}

#[async_trait]
impl EvidenceSources for MemorySources {
    async fn job(&self, job_id: &str) -> Result<Option<JobFacts>, DomainError> {
        Ok((job_id == self.job.job_id).then(|| self.job.clone()))
    }
    fn artifact<'a>(
        &'a self,
        _: &'a ArtifactScope,
        kind: ArtifactKind,
    ) -> Box<dyn ArtifactSource + 'a> {
        Box::new(self.artifacts.lock().unwrap()[&kind].clone())
    }
    async fn retained_before_images(
        &self,
        _: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<RetainedBeforeImage>, DomainError> {
        let images = self.images.lock().unwrap();
        Ok(images
            .iter()
            .filter(|i| i.plan_row_id > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

pub(super) struct MemoryKeyring(pub(super) BTreeMap<String, VerifyingKey>);

#[async_trait]
impl Keyring for MemoryKeyring {
    async fn public_key(&self, id: &str) -> Result<Option<VerifyingKey>, DomainError> {
        Ok(self.0.get(id).copied())
    }
}

pub(super) fn job() -> JobFacts {
    JobFacts {
        job_id: "job-1".into(),
        plan_id: "plan-1".into(),
        plan_hash: "ab".repeat(32),
        tenant_id: "acme".into(),
        instance_id: "prod".into(),
        source: None,
        tables: vec!["incident".into()],
        status: "completed".into(),
        status_reason_code: None,
        operator_id: "ops-7".into(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap(),
        started_at: None,
        finished_at: Some(Utc.with_ymd_and_hms(2026, 11, 20, 10, 5, 0).unwrap()),
        pit_algorithm_version: Some("1".into()),
        resume_metadata: ResumeMetadata::default(),
        policy_decisions: vec![],
        last_event_seq: 4,
        outcome_summary: json!({"applied": 2500}),
        undo_of: None,
    }
}

pub(super) fn header(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// The before-image of journal row `i`.
pub(super) fn before_image(i: usize) -> Value {
    json!({"short_description": format!("before {i}"), "n": i})
}

pub(super) fn journal_row(i: usize) -> Value {
    let before = before_image_sha256(&before_image(i)).unwrap();
    json!({"journal_id": format!("j{i:05}"), "plan_row_id": i + 1, "table": "incident", "sys_id": format!("s{i}"),
           "action": "update", "before_image_sha256": before,
           "after_image_sha256": sha256_hex(format!("a{i}").as_bytes()), "note": "é\u{1f600}\n"})
}

pub(super) fn sources(rows: usize) -> MemorySources {
    let images = (0..rows)
        .map(|i| RetainedBeforeImage {
            journal_id: format!("j{i:05}"),
            plan_row_id: i as i64 + 1,
            before_image: before_image(i),
            before_image_sha256: Some(before_image_sha256(&before_image(i)).unwrap()),
        })
        .collect();
    let rows: Vec<Value> = (0..rows).map(journal_row).collect();
    let artifacts = HashMap::from([
        (
            ArtifactKind::Plan,
            MemoryArtifact {
                header: header(json!({"plan_id": "plan-1", "pit": "2026-11-20T10:00:00Z"})),
                lists: vec![("rows", rows.clone())],
            },
        ),
        (
            ArtifactKind::Execution,
            MemoryArtifact {
                header: header(json!({"state": "completed", "ratio": 0.1})),
                lists: vec![("row_outcomes", rows.clone()), ("chunks", vec![])],
            },
        ),
        (
            ArtifactKind::RollbackJournal,
            MemoryArtifact {
                header: header(json!({"job_id": "job-1"})),
                lists: vec![
                    ("rollback_journal", rows),
                    ("sn_mirror", vec![json!({"z": 1, "a": [3, 1.5e3]})]),
                ],
            },
        ),
        (
            ArtifactKind::JobEvents,
            MemoryArtifact {
                header: header(json!({"job_id": "job-1"})),
                lists: vec![(
                    "events",
                    vec![json!({"seq": 1, "event_type": "job_queued"})],
                )],
            },
        ),
    ]);
    MemorySources {
        job: job(),
        artifacts: Mutex::new(artifacts),
        images: Mutex::new(images),
    }
}

pub(super) fn evidence(key_id: &str) -> (Evidence, VerifyingKey) {
    let (private, public) = generate_key_pair().unwrap();
    let signer = Signer::from_pem(key_id, &private, Some(&public)).unwrap();
    let retention = Retention {
        retention_class: "standard".into(),
        retention_days: 365,
        worm_enabled: true,
    };
    (
        Evidence { signer, retention },
        parse_public_key_pem(&public).unwrap(),
    )
}

pub(super) async fn sealed(sources: &MemorySources, evidence: &Evidence, version: i64) -> Sealed {
    let job = sources.job.clone();
    let digests = digest_artifacts(sources, &scope_of(&job)).await.unwrap();
    let request = SealRequest {
        job: &job,
        package_version: version,
        origin: Origin::Export,
        generated_by: "ops-7",
        now: Utc::now(),
    };
    seal(evidence, request, &digests).unwrap()
}

pub(super) fn parts(sealed: &Sealed) -> SignedParts {
    SignedParts {
        manifest: serde_json::from_str(&sealed.manifest_json).unwrap(),
        manifest_sha256: sealed.manifest_sha256.clone(),
        signature: sealed.signature.clone(),
        report: serde_json::from_str(&sealed.report_json).unwrap(),
        report_hash: sealed.report_hash.clone(),
    }
}

/// The service's verdict and the offline verifier's on the file written now.
pub(super) async fn verdicts(
    sources: &MemorySources,
    keyring: &MemoryKeyring,
    parts: &SignedParts,
    key_pem: Option<&str>,
) -> (Option<ReasonCode>, Option<ReasonCode>) {
    let service = verify_parts(sources, keyring, parts, Utc::now())
        .await
        .unwrap();
    let mut file = Vec::new();
    write_package_file(sources, &scope_of(&sources.job), parts, None, &mut file)
        .await
        .unwrap();
    let offline = verify_package_bytes(&file, key_pem, Utc::now()).unwrap();
    (service.reason_code, offline.verification.reason_code)
}

pub(super) fn pem(key: &VerifyingKey) -> String {
    super::super::keys::public_key_pem(key).unwrap()
}
