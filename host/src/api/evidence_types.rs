//! Wire types of evidence: the package document (`evidence`,
//! `artifact_hashes`, `manifest_sha256`, `manifest_signature`,
//! `verification`), the keyring, and their conversions from the domain.

use poem_openapi::{Enum, Object};
use serde_json::Value;

use super::plan_types::InstanceRefBody;
use super::types::Timestamp;
use crate::domain::evidence::manifest::{
    ArtifactHashes, EvidenceInstance, PolicyDecisionRef, ResumeEntry,
};
use crate::domain::evidence::operations::SignerKey;
use crate::domain::evidence::service::PackageView;
use crate::domain::evidence::verify::{BeforeImageMismatch, Check, Verification};
use crate::domain::reason::ReasonCode;

/// How a package came to be: `automatic` (generated when the job became
/// terminal) or `export` (`POST /v1/jobs/{job_id}/evidence/export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum EvidenceOrigin {
    Automatic,
    Export,
}

/// The verdict of a fresh verification: `verified` when every check
/// passed (artifact hashes, report hash, manifest hash and signature),
/// else `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SignatureVerification {
    Verified,
    Failed,
}

/// One resume of the job.
#[derive(Debug, Clone, Object)]
#[oai(remote = "ResumeEntry")]
pub struct ResumeEntryBody {
    /// When it resumed (RFC 3339, as signed).
    pub at: String,
    /// Who resumed it.
    pub operator_id: String,
    /// The chunk it resumed from.
    pub from_chunk_index: i64,
}

/// The job's resume history.
#[derive(Debug, Clone, Object)]
pub struct ResumeMetadataBody {
    /// How many times it resumed.
    pub resume_count: i64,
    /// Each resume, oldest first.
    pub resumes: Vec<ResumeEntryBody>,
}

/// Where and how long the package is kept.
#[derive(Debug, Clone, Object)]
pub struct ImmutableStorageBody {
    /// The configured compliance retention class.
    pub retention_class: String,
    /// Whether the evidence store is write-once (WORM).
    pub worm_enabled: bool,
    /// The package is kept at least until then.
    pub retain_until: Timestamp,
}

/// A policy decision that gated (dry-run) or authorised (execute,
/// resume) the job.
#[derive(Debug, Clone, Object)]
#[oai(remote = "PolicyDecisionRef")]
pub struct PolicyDecisionBody {
    /// The decision log's id.
    pub decision_id: String,
    /// `gate`, `capability` or `media_caps`.
    pub kind: String,
    /// The policy plugin's name.
    pub policy_name: String,
    /// The policy plugin's version.
    pub policy_version: String,
    /// sha256 of the plugin's wasm.
    pub policy_digest: String,
    /// The trusted key that signed the plugin (`[signatures]` of the
    /// policy file); absent for builtin and unsigned plugins.
    #[oai(skip_serializing_if_is_none)]
    pub policy_signer: Option<String>,
    /// `sha256:` and 16 hex digits of the signing key's sha256.
    #[oai(skip_serializing_if_is_none)]
    pub policy_signer_fingerprint: Option<String>,
    /// sha256 of the decision's input.
    pub input_sha256: String,
    /// How it decided (`executable`, `allow`, `deny`, ...).
    pub outcome: String,
    /// `plan` or `job`.
    pub subject_kind: String,
    /// The plan or job it decided.
    pub subject_id: String,
    /// When it decided (RFC 3339, as signed).
    pub decided_at: String,
}

/// The package's statement about the job, as signed.
#[derive(Debug, Clone, Object)]
pub struct EvidenceBody {
    /// The job.
    pub job_id: String,
    /// The job's tenant.
    pub tenant_id: String,
    /// The plan the job ran.
    pub plan_id: String,
    /// The plan's hash; the package is bound to it.
    pub plan_hash: String,
    /// sha256 of the canonical report.
    pub report_hash: String,
    /// How the plan chose record versions at the PIT.
    pub pit_algorithm_version: Option<String>,
    /// Whose backup the plan read (absent in packages made before
    /// restores could go elsewhere).
    pub source: Option<InstanceRefBody>,
    /// The instance the job restored into.
    pub target: Option<InstanceRefBody>,
    /// Set when the job ran an undo plan: the job it undid.
    pub undo_of: Option<UndoOfBody>,
    /// The job's resume history.
    pub resume_metadata: ResumeMetadataBody,
    /// 1 for the first package of the job, +1 for each later one.
    pub package_version: i64,
    /// When the package was made.
    pub generated_at: Timestamp,
    /// Who made it (`system` for automatic packages).
    pub generated_by: String,
    /// How it came to be.
    pub origin: EvidenceOrigin,
    /// Retention terms.
    pub immutable_storage: ImmutableStorageBody,
    /// Policy decisions that gated and authorised the job.
    pub policy_decisions: Vec<PolicyDecisionBody>,
}

/// The job an undo job reverted, as its package signs it.
#[derive(Debug, Clone, Object)]
pub struct UndoOfBody {
    /// The undone job.
    pub job_id: String,
    /// Its plan.
    pub plan_id: String,
    /// The manifest sha256 of its latest package when the undo was
    /// planned (null when it had none).
    pub evidence_manifest_sha256: Option<String>,
}

/// sha256 of each artifact's canonical (RFC 8785) form.
#[derive(Debug, Clone, Object)]
#[oai(remote = "ArtifactHashes")]
pub struct ArtifactHashesBody {
    /// The plan document and its rows.
    pub plan: String,
    /// The execution: chunks, row and media outcomes.
    pub execution: String,
    /// The rollback journal and SN mirror (before-image hashes, never the
    /// prunable before-images).
    pub rollback_journal: String,
    /// The job's events up to the package.
    pub job_events: String,
}

/// The ed25519 signature over the canonical manifest.
#[derive(Debug, Clone, Object)]
pub struct ManifestSignatureBody {
    /// Which key signed; its public key is in `GET /v1/evidence/keys`.
    pub signer_key_id: String,
    /// `ed25519`.
    pub algorithm: String,
    /// Standard padded base64 of the 64 signature bytes.
    pub signature: String,
}

/// One verification check.
#[derive(Debug, Clone, Object)]
#[oai(remote = "Check")]
pub struct VerificationCheckBody {
    /// `artifact_hash:<artifact>`, `before_images`, `report_hash`,
    /// `manifest_sha256` or `signature`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// The failure's reason code.
    pub reason_code: Option<ReasonCode>,
    /// The signed value.
    pub expected: Option<String>,
    /// The value recomputed now.
    pub observed: Option<String>,
    /// What went wrong.
    pub message: Option<String>,
}

/// A journal row whose before-image, as stored now, does not hash to the
/// `before_image_sha256` the signed journal artifact covers.
#[derive(Debug, Clone, Object)]
#[oai(remote = "BeforeImageMismatch")]
pub struct BeforeImageMismatchBody {
    /// The journal row.
    pub journal_id: String,
    /// Its plan row.
    pub plan_row_id: Option<i64>,
    /// The journal row's hash (null when it has none).
    pub before_image_sha256: Option<String>,
    /// sha256 of the stored image's canonical JSON now.
    pub observed_sha256: String,
}

/// The package verified afresh from the stored artifacts.
#[derive(Debug, Clone, Object)]
pub struct VerificationBody {
    /// The overall verdict.
    pub signature_verification: SignatureVerification,
    /// The first failure: `failed_evidence_artifact_hash_mismatch`,
    /// `failed_evidence_before_image_mismatch`,
    /// `failed_evidence_report_hash_mismatch` or
    /// `failed_evidence_signature_verification`; null when verified.
    pub reason_code: Option<ReasonCode>,
    /// When it was verified.
    pub verified_at: Timestamp,
    /// Every check and its outcome.
    pub checks: Vec<VerificationCheckBody>,
    /// The journal rows whose retained before-image no longer hashes to
    /// its `before_image_sha256` (at most 100 listed; the `before_images`
    /// check's message gives the count). Pruned images are not listed.
    pub before_image_mismatches: Vec<BeforeImageMismatchBody>,
}

/// An evidence package with its fresh verification.
#[derive(Debug, Clone, Object)]
pub struct EvidencePackageBody {
    /// The package's statement about the job.
    pub evidence: EvidenceBody,
    /// The artifact hashes of the signed manifest (null if the stored
    /// manifest is unreadable).
    pub artifact_hashes: Option<ArtifactHashesBody>,
    /// sha256 of the canonical manifest.
    pub manifest_sha256: String,
    /// The signature over the canonical manifest.
    pub manifest_signature: ManifestSignatureBody,
    /// The verification done for this response.
    pub verification: VerificationBody,
    /// The report whose hash is `evidence.report_hash`.
    pub report: Value,
}

/// A public key of the evidence keyring.
#[derive(Debug, Clone, Object)]
#[oai(remote = "SignerKey")]
pub struct SignerKeyBody {
    /// The id packages name in `manifest_signature.signer_key_id`.
    pub signer_key_id: String,
    /// `ed25519`.
    pub algorithm: String,
    /// The public key, SPKI PEM: give it to `rrs evidence verify --public-key`.
    pub public_key_pem: String,
    /// sha256 of the 32 key bytes.
    pub fingerprint_sha256: String,
    /// `configured` or `development` (generated because none was configured).
    pub source: String,
    /// When this service first signed with it.
    pub registered_at: Timestamp,
    /// Whether this process signs new packages with it.
    pub current: bool,
}

/// A page of the keyring, oldest key first.
#[derive(Debug, Clone, Object)]
pub struct SignerKeyPage {
    /// The keys.
    pub items: Vec<SignerKeyBody>,
    /// Cursor of the next page; null at the end.
    pub next_cursor: Option<String>,
}

impl From<&Verification> for VerificationBody {
    fn from(v: &Verification) -> Self {
        Self {
            signature_verification: if v.verified {
                SignatureVerification::Verified
            } else {
                SignatureVerification::Failed
            },
            reason_code: v.reason_code,
            verified_at: v.verified_at.into(),
            checks: v
                .checks
                .iter()
                .cloned()
                .map(VerificationCheckBody::from)
                .collect(),
            before_image_mismatches: v
                .before_image_mismatches
                .iter()
                .cloned()
                .map(BeforeImageMismatchBody::from)
                .collect(),
        }
    }
}

impl From<PackageView> for EvidencePackageBody {
    fn from(p: PackageView) -> Self {
        let evidence = EvidenceBody {
            job_id: p.job_id,
            tenant_id: p.tenant_id,
            plan_id: p.plan_id,
            plan_hash: p.plan_hash,
            report_hash: p.report_hash,
            pit_algorithm_version: p.pit_algorithm_version,
            source: p.source.map(instance_body),
            target: p.target.map(instance_body),
            undo_of: p.undo_of.map(|u| UndoOfBody {
                job_id: u.job_id,
                plan_id: u.plan_id,
                evidence_manifest_sha256: u.evidence_manifest_sha256,
            }),
            resume_metadata: ResumeMetadataBody {
                resume_count: p.resume_metadata.resume_count,
                resumes: p
                    .resume_metadata
                    .resumes
                    .into_iter()
                    .map(ResumeEntryBody::from)
                    .collect(),
            },
            package_version: p.package_version,
            generated_at: p.generated_at.into(),
            generated_by: p.generated_by,
            origin: if p.origin == "automatic" {
                EvidenceOrigin::Automatic
            } else {
                EvidenceOrigin::Export
            },
            immutable_storage: ImmutableStorageBody {
                retention_class: p.retention_class,
                worm_enabled: p.worm_enabled,
                retain_until: p.retain_until.into(),
            },
            policy_decisions: p
                .policy_decisions
                .into_iter()
                .map(PolicyDecisionBody::from)
                .collect(),
        };
        Self {
            evidence,
            artifact_hashes: p.artifact_hashes.map(ArtifactHashesBody::from),
            manifest_sha256: p.manifest_sha256,
            manifest_signature: ManifestSignatureBody {
                signer_key_id: p.signature.signer_key_id,
                algorithm: p.signature.algorithm,
                signature: p.signature.signature,
            },
            verification: VerificationBody::from(&p.verification),
            report: p.report,
        }
    }
}

/// Prune the rollback journal's before-images of every eligible job.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneJournalRequest {
    /// Who prunes (kept in the audit trail).
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"\S"))]
    pub actor: String,
    /// Only report what would be pruned; nothing changes or is recorded.
    pub dry_run: Option<bool>,
}

/// Jobs whose before-images stayed, by reason.
#[derive(Debug, Clone, Object)]
pub struct PruneSkippedBody {
    /// Still inside the retention window (or not ended).
    pub retention_not_expired: i64,
    /// Past retention but without an exported evidence package.
    pub evidence_not_exported: i64,
    /// Past retention and exported, but the latest package fails
    /// verification: kept for the integrity investigation.
    pub evidence_verification_failed: Vec<String>,
}

/// What a journal prune did.
#[derive(Debug, Clone, Object)]
pub struct PruneJournalBody {
    /// Id of the audit record; null for a dry run.
    pub prune_id: Option<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The retention window applied, in days after the job ended.
    pub retention_days: u32,
    /// Jobs whose journal still held before-images.
    pub jobs_examined: i64,
    /// Jobs whose before-images were removed.
    pub pruned_job_ids: Vec<String>,
    /// Before-images removed (journal rows, ids and hashes all stay).
    pub before_images_removed: i64,
    /// Bytes of before-image JSON removed.
    pub bytes_removed: i64,
    /// Jobs left alone, by reason.
    pub skipped: PruneSkippedBody,
}

impl From<crate::domain::evidence::retention::PruneReport> for PruneJournalBody {
    fn from(r: crate::domain::evidence::retention::PruneReport) -> Self {
        Self {
            prune_id: r.prune_id,
            dry_run: r.dry_run,
            retention_days: r.retention_days,
            jobs_examined: r.jobs_examined,
            pruned_job_ids: r.pruned_job_ids,
            before_images_removed: r.before_images_removed,
            bytes_removed: r.bytes_removed,
            skipped: PruneSkippedBody {
                retention_not_expired: r.skipped_retention_not_expired,
                evidence_not_exported: r.skipped_evidence_not_exported,
                evidence_verification_failed: r.skipped_evidence_verification_failed,
            },
        }
    }
}

fn instance_body(i: EvidenceInstance) -> InstanceRefBody {
    InstanceRefBody {
        tenant_id: i.tenant_id,
        instance_id: i.instance_id,
    }
}
