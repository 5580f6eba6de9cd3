//! Evidence as the service runs it: the signer registered in the keyring
//! at start, packages sealed and stored insert-only under the next
//! version, and every stored package verified afresh when read, with each
//! failure counted (metric and database row) for the SLO.

use crate::domain::ReasonCode;
use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde_json::{json, Value};

use super::keys::{fingerprint, parse_public_key_pem, KeyError, Signer, ALGORITHM};
use super::manifest::{
    ArtifactHashes, EvidenceInstance, ManifestSignature, Origin, PolicyDecisionRef, ResumeMetadata,
    UndoOf,
};
use super::package::{
    digest_artifacts, scope_of, seal, verify_parts, Evidence, Retention, SealRequest,
};
use super::sources::{EvidenceSources, JobFacts, Keyring};
use super::verify::{parse_manifest, SignedParts, Verification};
use crate::config::EvidenceConfig;
use crate::domain::DomainError;
use crate::store::evidence::{EvidencePackageRow, SignerKeyRow, VerificationFailureRow};
use crate::store::job_events::NewEventRow;
use crate::store::{Store, StoreError};

/// How many times a package is re-sealed when another replica took its
/// version first.
const VERSION_ATTEMPTS: usize = 5;

/// A stored package as the API shows it, with a fresh verification.
#[derive(Debug, Clone)]
pub struct PackageView {
    pub package_id: String,
    pub job_id: String,
    pub tenant_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    pub package_version: i64,
    pub origin: String,
    pub generated_at: DateTime<Utc>,
    pub generated_by: String,
    pub report_hash: String,
    pub manifest_sha256: String,
    pub pit_algorithm_version: Option<String>,
    /// Whose backup the plan read and where the job wrote, as signed
    /// (absent in packages made before restores could go elsewhere).
    pub source: Option<EvidenceInstance>,
    pub target: Option<EvidenceInstance>,
    /// The job this one undid, as signed.
    pub undo_of: Option<UndoOf>,
    pub resume_metadata: ResumeMetadata,
    pub retention_class: String,
    pub worm_enabled: bool,
    pub retain_until: DateTime<Utc>,
    /// From the signed manifest; `None` when the stored manifest no longer parses.
    pub artifact_hashes: Option<ArtifactHashes>,
    pub policy_decisions: Vec<PolicyDecisionRef>,
    pub signature: ManifestSignature,
    pub report: Value,
    pub verification: Verification,
}

/// Loads the signing key (configured or development) and registers its
/// public key in the keyring. A key id already bound to another public key
/// refuses start-up: old packages name that id and must keep verifying.
pub async fn load(
    store: &Store,
    config: &EvidenceConfig,
    data_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Evidence, KeyError> {
    let signer = Signer::from_config(config, data_dir)?;
    let row = SignerKeyRow {
        signer_key_id: signer.key_id().to_owned(),
        algorithm: ALGORITHM.to_owned(),
        public_key_pem: signer.public_key_pem().to_owned(),
        public_key_sha256: fingerprint(&signer.verifying_key()),
        source: signer.source().as_str().to_owned(),
        registered_at: now,
    };
    let stored = store.register_signer_key(&row).await.map_err(|e| {
        KeyError(format!(
            "cannot register the public key in the keyring: {e}"
        ))
    })?;
    if stored.public_key_sha256 != row.public_key_sha256 {
        return Err(KeyError(format!(
            "signer key id {:?} is already registered with another public key (fingerprint {}); \
             a new key needs a new RRS_EVIDENCE_SIGNER_KEY_ID",
            row.signer_key_id, stored.public_key_sha256
        )));
    }
    tracing::info!(signer_key_id = %row.signer_key_id, fingerprint = %row.public_key_sha256, "evidence signer ready");
    Ok(Evidence {
        signer,
        retention: Retention::from_config(config),
    })
}

/// The keyring in the store.
pub struct StoreKeyring<'a>(pub &'a Store);

#[async_trait]
impl Keyring for StoreKeyring<'_> {
    async fn public_key(&self, signer_key_id: &str) -> Result<Option<VerifyingKey>, DomainError> {
        let Some(row) = self.0.signer_key(signer_key_id).await? else {
            return Ok(None);
        };
        if row.algorithm != ALGORITHM {
            return Ok(None);
        }
        match parse_public_key_pem(&row.public_key_pem) {
            Ok(key) if fingerprint(&key) == row.public_key_sha256 => Ok(Some(key)),
            _ => {
                tracing::error!(%signer_key_id, "the keyring entry does not hold its key");
                Ok(None)
            }
        }
    }
}

/// How a new package is stored.
#[derive(Debug, Clone, Copy)]
enum Storing {
    /// On its own (an export; its event is the caller's).
    Plain,
    /// With its `evidence_exported` event, discharging the job's evidence
    /// obligation in the same transaction.
    Owed { job_seq: i64 },
}

/// Seals a new package of a terminal job and stores it under the next
/// version.
pub async fn create(
    store: &Store,
    sources: &dyn EvidenceSources,
    evidence: &Evidence,
    job: &JobFacts,
    origin: Origin,
    generated_by: &str,
    now: DateTime<Utc>,
) -> Result<EvidencePackageRow, DomainError> {
    let stored = create_stored(
        store,
        sources,
        evidence,
        (job, origin, generated_by, now),
        Storing::Plain,
    )
    .await?;
    stored.ok_or_else(|| DomainError::Internal("a plain package insert was skipped".into()))
}

/// Seals the automatic package a job is owed and stores it with its
/// `evidence_exported` event in the transaction that discharges the
/// obligation; `None` (nothing stored) when the obligation is already
/// discharged, i.e. another replica stored the package.
pub async fn create_owed(
    store: &Store,
    sources: &dyn EvidenceSources,
    evidence: &Evidence,
    job: &JobFacts,
    job_seq: i64,
    now: DateTime<Utc>,
) -> Result<Option<EvidencePackageRow>, DomainError> {
    let what = (job, Origin::Automatic, SYSTEM_ACTOR, now);
    create_stored(store, sources, evidence, what, Storing::Owed { job_seq }).await
}

/// The actor of automatic packages.
pub const SYSTEM_ACTOR: &str = "system";

async fn create_stored(
    store: &Store,
    sources: &dyn EvidenceSources,
    evidence: &Evidence,
    (job, origin, generated_by, now): (&JobFacts, Origin, &str, DateTime<Utc>),
    storing: Storing,
) -> Result<Option<EvidencePackageRow>, DomainError> {
    if !job.is_terminal() {
        return Err(not_terminal(&job.job_id, &job.status));
    }
    let digests = digest_artifacts(sources, &scope_of(job)).await?;
    for _ in 0..VERSION_ATTEMPTS {
        let package_version = store.next_evidence_package_version(&job.job_id).await?;
        let request = SealRequest {
            job,
            package_version,
            origin,
            generated_by,
            now,
        };
        let sealed = seal(evidence, request, &digests)?;
        let row = EvidencePackageRow {
            package_id: format!("evp_{}", uuid::Uuid::new_v4().simple()),
            job_id: job.job_id.clone(),
            package_version,
            origin: origin.as_str().to_owned(),
            tenant_id: job.tenant_id.clone(),
            instance_id: job.instance_id.clone(),
            plan_id: job.plan_id.clone(),
            plan_hash: job.plan_hash.clone(),
            manifest_json: sealed.manifest_json,
            manifest_sha256: sealed.manifest_sha256,
            report_json: sealed.report_json,
            report_hash: sealed.report_hash,
            signer_key_id: sealed.signature.signer_key_id,
            algorithm: sealed.signature.algorithm,
            signature: sealed.signature.signature,
            retention_class: evidence.retention.retention_class.clone(),
            worm_enabled: evidence.retention.worm_enabled,
            retain_until: sealed.retain_until,
            artifact_rows: i64::try_from(sealed.artifact_rows).unwrap_or(i64::MAX),
            artifact_bytes: i64::try_from(sealed.artifact_bytes).unwrap_or(i64::MAX),
            generated_by: generated_by.to_owned(),
            generated_at: now,
        };
        let stored = match storing {
            Storing::Plain => store.insert_evidence_package(&row).await.map(|()| true),
            Storing::Owed { job_seq } => {
                let event = exported_event(&row, generated_by, now);
                store
                    .insert_evidence_package_with_event(&row, true, job_seq, &event)
                    .await
            }
        };
        match stored {
            Ok(true) => {
                metrics::counter!("rrs_evidence_packages_total", "origin" => origin.as_str())
                    .increment(1);
                return Ok(Some(row));
            }
            Ok(false) => return Ok(None),
            Err(StoreError::Duplicate(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::conflict(
        ReasonCode::EvidenceExportContended,
        format!("job {} is being exported elsewhere; retry", job.job_id),
    ))
}

/// The `evidence_exported` event of a stored package.
pub fn exported_event(row: &EvidencePackageRow, actor: &str, at: DateTime<Utc>) -> NewEventRow {
    NewEventRow {
        event_type: "evidence_exported".to_owned(),
        at,
        actor: actor.to_owned(),
        reason_code: None,
        details: json!({"package_version": row.package_version, "origin": row.origin,
            "manifest_sha256": row.manifest_sha256, "signer_key_id": row.signer_key_id}),
    }
}

/// `409 evidence_job_not_terminal`.
pub fn not_terminal(job_id: &str, status: &str) -> DomainError {
    DomainError::Conflict {
        reason_code: ReasonCode::EvidenceJobNotTerminal,
        message: format!("job {job_id} is {status}; evidence exists once it is terminal"),
        details: Some(json!({"job_id": job_id, "status": status})),
    }
}

/// The signed parts of a stored package; text that no longer parses is
/// kept as a string, which then fails its checks.
pub fn signed_parts(row: &EvidencePackageRow) -> SignedParts {
    let parse = |text: &str| {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()))
    };
    SignedParts {
        manifest: parse(&row.manifest_json),
        manifest_sha256: row.manifest_sha256.clone(),
        signature: ManifestSignature {
            signer_key_id: row.signer_key_id.clone(),
            algorithm: row.algorithm.clone(),
            signature: row.signature.clone(),
        },
        report: parse(&row.report_json),
        report_hash: row.report_hash.clone(),
    }
}

/// Verifies a stored package afresh; a failure is counted (metric and
/// `evidence_verification_failures` row) before it is returned.
pub async fn verify_row(
    store: &Store,
    sources: &dyn EvidenceSources,
    row: &EvidencePackageRow,
    now: DateTime<Utc>,
) -> Result<Verification, DomainError> {
    let verification = verify_parts(sources, &StoreKeyring(store), &signed_parts(row), now).await?;
    let result = if verification.verified {
        "verified"
    } else {
        "failed"
    };
    let reason: &'static str = verification.reason_code.map_or("none", Into::into);
    metrics::counter!("rrs_evidence_verifications_total", "result" => result, "reason_code" => reason)
        .increment(1);
    if let Some(reason_code) = verification.reason_code {
        metrics::counter!("rrs_evidence_verification_failed_total").increment(1);
        tracing::error!(job_id = %row.job_id, package_version = row.package_version, %reason_code,
            "evidence verification failed");
        let failed: Vec<&str> = verification.failures().map(|c| c.name.as_str()).collect();
        store
            .insert_evidence_verification_failure(&VerificationFailureRow {
                package_id: row.package_id.clone(),
                job_id: row.job_id.clone(),
                tenant_id: row.tenant_id.clone(),
                package_version: row.package_version,
                reason_code: reason_code.to_string(),
                failed_checks: json!(failed),
                detected_at: now,
            })
            .await?;
    }
    Ok(verification)
}

/// The API's view of a stored package and its verification. Signed values
/// come from the manifest; the row's copies stand in if it is unreadable.
pub fn view(row: &EvidencePackageRow, verification: Verification) -> PackageView {
    let parts = signed_parts(row);
    let manifest = parse_manifest(&parts.manifest).ok();
    PackageView {
        package_id: row.package_id.clone(),
        job_id: row.job_id.clone(),
        tenant_id: row.tenant_id.clone(),
        plan_id: row.plan_id.clone(),
        plan_hash: row.plan_hash.clone(),
        package_version: row.package_version,
        origin: row.origin.clone(),
        generated_at: row.generated_at,
        generated_by: row.generated_by.clone(),
        report_hash: row.report_hash.clone(),
        manifest_sha256: row.manifest_sha256.clone(),
        pit_algorithm_version: manifest
            .as_ref()
            .and_then(|m| m.pit_algorithm_version.clone()),
        source: manifest.as_ref().and_then(|m| m.source.clone()),
        target: manifest.as_ref().and_then(|m| m.target.clone()),
        undo_of: manifest.as_ref().and_then(|m| m.undo_of.clone()),
        resume_metadata: manifest
            .as_ref()
            .map(|m| m.resume_metadata.clone())
            .unwrap_or_default(),
        retention_class: row.retention_class.clone(),
        worm_enabled: row.worm_enabled,
        retain_until: row.retain_until,
        artifact_hashes: manifest.as_ref().map(|m| m.artifact_hashes.clone()),
        policy_decisions: manifest.map(|m| m.policy_decisions).unwrap_or_default(),
        signature: parts.signature,
        report: parts.report,
        verification,
    }
}
