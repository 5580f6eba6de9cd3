//! Building and verifying a package over any [`EvidenceSources`]: hash
//! the four artifacts (streamed), write the report, write and sign the
//! manifest; and, on every read, recompute the artifact hashes from the
//! sources and check everything against the signed manifest.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::artifact::{self, ArtifactDigest, ArtifactKind};
use super::keys::{Signer, ALGORITHM};
use super::manifest::{
    ArtifactHashes, ArtifactSize, ImmutableStorage, JobSummary, Manifest, ManifestSignature,
    Origin, Report, MANIFEST_FORMAT, REPORT_FORMAT,
};
use super::sources::{ArtifactScope, EvidenceSources, JobFacts, Keyring};
use super::verify::{self, parse_manifest, BeforeImageFindings, SignedParts, Verification};
use crate::config::EvidenceConfig;
use crate::domain::canonical::{canonical_json, sha256_hex, timestamp};
use crate::domain::DomainError;

/// Retention terms written into every package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub retention_class: String,
    pub retention_days: u32,
    pub worm_enabled: bool,
}

impl Retention {
    /// From the `evidence` configuration section.
    pub fn from_config(config: &EvidenceConfig) -> Self {
        Self {
            retention_class: config.retention_class.clone(),
            retention_days: config.retention_days,
            worm_enabled: config.worm_enabled,
        }
    }

    /// When something made at `at` may go.
    pub fn until(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + Duration::days(i64::from(self.retention_days))
    }
}

/// The signer and the retention terms: what the service needs to make
/// packages (held in the application state).
#[derive(Debug)]
pub struct Evidence {
    pub signer: Signer,
    pub retention: Retention,
}

/// A sealed package, ready to store.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub manifest: Manifest,
    /// The canonical manifest: exactly the signed bytes.
    pub manifest_json: String,
    pub manifest_sha256: String,
    pub report: Report,
    pub report_json: String,
    pub report_hash: String,
    pub signature: ManifestSignature,
    pub retain_until: DateTime<Utc>,
    pub artifact_rows: u64,
    pub artifact_bytes: u64,
}

/// What a new package is: for which job, which version, by whom, when.
#[derive(Debug, Clone, Copy)]
pub struct SealRequest<'a> {
    pub job: &'a JobFacts,
    pub package_version: i64,
    pub origin: Origin,
    pub generated_by: &'a str,
    pub now: DateTime<Utc>,
}

/// The scope a new package of `job` covers.
pub fn scope_of(job: &JobFacts) -> ArtifactScope {
    ArtifactScope {
        job_id: job.job_id.clone(),
        plan_id: job.plan_id.clone(),
        events_through_seq: job.last_event_seq,
    }
}

/// Streams and hashes the four artifacts of a scope.
pub async fn digest_artifacts(
    sources: &dyn EvidenceSources,
    scope: &ArtifactScope,
) -> Result<BTreeMap<ArtifactKind, ArtifactDigest>, DomainError> {
    let mut digests = BTreeMap::new();
    for kind in ArtifactKind::ALL {
        let source = sources.artifact(scope, kind);
        digests.insert(kind, artifact::digest(source.as_ref()).await?);
    }
    Ok(digests)
}

/// Writes the report and the manifest over the digests and signs it.
pub fn seal(
    evidence: &Evidence,
    request: SealRequest<'_>,
    digests: &BTreeMap<ArtifactKind, ArtifactDigest>,
) -> Result<Sealed, DomainError> {
    let job = request.job;
    let report = report_of(job, digests);
    let report_json = canonical_json(&report)?;
    let report_hash = sha256_hex(report_json.as_bytes());
    let retain_until = evidence.retention.until(request.now);
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_owned(),
        job_id: job.job_id.clone(),
        plan_id: job.plan_id.clone(),
        plan_hash: job.plan_hash.clone(),
        tenant_id: job.tenant_id.clone(),
        instance_id: job.instance_id.clone(),
        source: job.source_and_target().0,
        target: job.source_and_target().1,
        undo_of: job.undo_of.clone(),
        package_version: request.package_version,
        origin: request.origin,
        generated_at: timestamp(&request.now),
        generated_by: request.generated_by.to_owned(),
        pit_algorithm_version: job.pit_algorithm_version.clone(),
        job_status: job.status.clone(),
        job_status_reason_code: job.status_reason_code.clone(),
        artifact_hashes: ArtifactHashes::from_digests(digests),
        artifact_sizes: digests
            .iter()
            .map(|(kind, d)| {
                (
                    *kind,
                    ArtifactSize {
                        rows: d.rows,
                        bytes: d.bytes,
                    },
                )
            })
            .collect(),
        job_events_through_seq: job.last_event_seq,
        policy_decisions: job.policy_decisions.clone(),
        report_hash: report_hash.clone(),
        resume_metadata: job.resume_metadata.clone(),
        immutable_storage: ImmutableStorage {
            retention_class: evidence.retention.retention_class.clone(),
            worm_enabled: evidence.retention.worm_enabled,
            retain_until: timestamp(&retain_until),
        },
        signer_key_id: evidence.signer.key_id().to_owned(),
        algorithm: ALGORITHM.to_owned(),
    };
    let manifest_json = canonical_json(&manifest)?;
    let signature = ManifestSignature {
        signer_key_id: evidence.signer.key_id().to_owned(),
        algorithm: ALGORITHM.to_owned(),
        signature: evidence.signer.sign(manifest_json.as_bytes()),
    };
    Ok(Sealed {
        manifest_sha256: sha256_hex(manifest_json.as_bytes()),
        manifest,
        manifest_json,
        report,
        report_json,
        report_hash,
        signature,
        retain_until,
        artifact_rows: digests.values().map(|d| d.rows).sum(),
        artifact_bytes: digests.values().map(|d| d.bytes).sum(),
    })
}

fn report_of(job: &JobFacts, digests: &BTreeMap<ArtifactKind, ArtifactDigest>) -> Report {
    Report {
        format: REPORT_FORMAT.to_owned(),
        job: JobSummary {
            job_id: job.job_id.clone(),
            plan_id: job.plan_id.clone(),
            plan_hash: job.plan_hash.clone(),
            tenant_id: job.tenant_id.clone(),
            instance_id: job.instance_id.clone(),
            source: job.source_and_target().0,
            target: job.source_and_target().1,
            tables: job.tables.clone(),
            status: job.status.clone(),
            status_reason_code: job.status_reason_code.clone(),
            operator_id: job.operator_id.clone(),
            created_at: timestamp(&job.created_at),
            started_at: job.started_at.as_ref().map(timestamp),
            finished_at: job.finished_at.as_ref().map(timestamp),
        },
        artifacts: digests.clone(),
        policy_decisions: job.policy_decisions.clone(),
        resume_metadata: job.resume_metadata.clone(),
        outcome_summary: job.outcome_summary.clone(),
    }
}

/// Verifies stored parts afresh: artifact hashes recomputed from the
/// sources over the scope the manifest names, the retained before-images
/// against their journal hashes, the signer's key from the keyring.
pub async fn verify_parts(
    sources: &dyn EvidenceSources,
    keyring: &dyn Keyring,
    parts: &SignedParts,
    now: DateTime<Utc>,
) -> Result<Verification, DomainError> {
    let mut recomputed = BTreeMap::new();
    let mut before_images = BeforeImageFindings::default();
    if let Ok(manifest) = parse_manifest(&parts.manifest) {
        let scope = ArtifactScope {
            job_id: manifest.job_id.clone(),
            plan_id: manifest.plan_id.clone(),
            events_through_seq: manifest.job_events_through_seq,
        };
        for (kind, digest) in digest_artifacts(sources, &scope).await? {
            recomputed.insert(kind, digest.sha256);
        }
        before_images = super::before_images::check_stored(sources, &scope.job_id).await?;
    }
    let key = match keyring.public_key(&parts.signature.signer_key_id).await? {
        Some(key) => Ok(key),
        None => Err(format!(
            "no public key is registered for signer_key_id {:?}",
            parts.signature.signer_key_id
        )),
    };
    Ok(verify::verify(parts, &recomputed, before_images, key, now))
}
