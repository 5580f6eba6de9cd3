//! Verification of a package, the same code for the service (artifact
//! hashes recomputed from the stored rows) and the offline verifier
//! (recomputed from the package file): the manifest's hash and ed25519
//! signature, the report hash, each artifact hash, and the retained
//! before-images against the journal's `before_image_sha256`. Every check
//! is run and reported; the reason code is the first failure in the order
//! artifact, before-image, report, signature.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::Value;

use super::artifact::ArtifactKind;
use super::keys::{verify_signature, ALGORITHM};
use super::manifest::{Manifest, ManifestSignature, MANIFEST_FORMAT};
use crate::domain::canonical::{canonical_json, sha256_hex};
use crate::domain::reason::ReasonCode;

/// An artifact's recomputed hash differs from the manifest's.
pub const ARTIFACT_HASH_MISMATCH: ReasonCode = ReasonCode::FailedEvidenceArtifactHashMismatch;
/// A retained before-image does not hash to its journal row's
/// `before_image_sha256`.
pub const BEFORE_IMAGE_MISMATCH: ReasonCode = ReasonCode::FailedEvidenceBeforeImageMismatch;
/// Name of the before-image check.
pub const BEFORE_IMAGES_CHECK: &str = "before_images";
/// At most this many mismatched journal rows are listed (all are counted).
pub const MISMATCHES_LISTED: usize = 100;
/// The report's hash differs from the manifest's.
pub const REPORT_HASH_MISMATCH: ReasonCode = ReasonCode::FailedEvidenceReportHashMismatch;
/// The manifest's hash or signature does not verify.
pub const SIGNATURE_FAILED: ReasonCode = ReasonCode::FailedEvidenceSignatureVerification;

/// What is checked: the signed parts of a package as stored or shipped.
#[derive(Debug, Clone)]
pub struct SignedParts {
    pub manifest: Value,
    pub manifest_sha256: String,
    pub signature: ManifestSignature,
    pub report: Value,
    pub report_hash: String,
}

/// One check and how it came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `artifact_hash:<artifact>`, `before_images`, `report_hash`,
    /// `manifest_sha256` or `signature`.
    pub name: String,
    pub passed: bool,
    /// The failure's reason code.
    pub reason_code: Option<ReasonCode>,
    pub expected: Option<String>,
    pub observed: Option<String>,
    pub message: Option<String>,
}

/// A journal row whose retained before-image does not hash to its
/// `before_image_sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BeforeImageMismatch {
    pub journal_id: String,
    pub plan_row_id: Option<i64>,
    /// The journal row's hash (covered by the signed journal artifact);
    /// `None` when the row has none, or is not in the journal.
    pub before_image_sha256: Option<String>,
    /// The hash of the image as it is stored now.
    pub observed_sha256: String,
}

/// What the before-image check found over the retained images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BeforeImageFindings {
    /// Retained images checked.
    pub checked: u64,
    /// Of them, images that do not hash to their `before_image_sha256`.
    pub mismatched: u64,
    /// The first [`MISMATCHES_LISTED`] of them, in journal order.
    pub rows: Vec<BeforeImageMismatch>,
}

impl BeforeImageFindings {
    /// Records one retained image whose observed hash is `observed`
    /// against the journal row's `expected` hash.
    pub fn record(
        &mut self,
        journal_id: &str,
        plan_row_id: Option<i64>,
        expected: Option<&str>,
        observed: &str,
    ) {
        self.checked += 1;
        if expected == Some(observed) {
            return;
        }
        self.mismatched += 1;
        if self.rows.len() < MISMATCHES_LISTED {
            self.rows.push(BeforeImageMismatch {
                journal_id: journal_id.to_owned(),
                plan_row_id,
                before_image_sha256: expected.map(str::to_owned),
                observed_sha256: observed.to_owned(),
            });
        }
    }
}

/// The outcome of verifying a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub verified: bool,
    /// First failure in contract order; `None` when verified.
    pub reason_code: Option<ReasonCode>,
    pub verified_at: DateTime<Utc>,
    pub checks: Vec<Check>,
    /// The journal rows whose retained before-image does not hash to its
    /// `before_image_sha256` (the first [`MISMATCHES_LISTED`]).
    pub before_image_mismatches: Vec<BeforeImageMismatch>,
}

impl Verification {
    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// Verifies `parts` against the recomputed artifact hashes and the
/// before-image findings, with the public key of the manifest's signer
/// (or why there is none).
pub fn verify(
    parts: &SignedParts,
    recomputed: &BTreeMap<ArtifactKind, String>,
    before_images: BeforeImageFindings,
    key: Result<VerifyingKey, String>,
    now: DateTime<Utc>,
) -> Verification {
    let mut checks = Vec::new();
    let manifest = parse_manifest(&parts.manifest);
    if let Ok(manifest) = &manifest {
        for kind in ArtifactKind::ALL {
            checks.push(artifact_check(kind, manifest, recomputed.get(&kind)));
        }
        checks.push(before_image_check(&before_images));
        checks.push(report_check(parts, manifest));
    }
    checks.extend(manifest_checks(
        parts,
        manifest.as_ref().map_err(Clone::clone),
        key,
    ));
    let reason_code = [
        ARTIFACT_HASH_MISMATCH,
        BEFORE_IMAGE_MISMATCH,
        REPORT_HASH_MISMATCH,
        SIGNATURE_FAILED,
    ]
    .into_iter()
    .find(|code| checks.iter().any(|c| c.reason_code == Some(*code)));
    Verification {
        verified: reason_code.is_none(),
        reason_code,
        verified_at: now,
        checks,
        before_image_mismatches: before_images.rows,
    }
}

/// `before_images`: every retained before-image hashes to its journal
/// row's `before_image_sha256`. `observed` is the number of images checked.
fn before_image_check(findings: &BeforeImageFindings) -> Check {
    let failure = (findings.mismatched > 0).then(|| {
        let ids: Vec<&str> = findings
            .rows
            .iter()
            .map(|r| r.journal_id.as_str())
            .collect();
        let more = findings.mismatched - findings.rows.len() as u64;
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let message = format!(
            "{} of {} retained before-images do not hash to their before_image_sha256: \
             journal rows {}{more}",
            findings.mismatched,
            findings.checked,
            ids.join(", ")
        );
        (BEFORE_IMAGE_MISMATCH, message)
    });
    let mut result = check(BEFORE_IMAGES_CHECK, failure);
    if result.passed {
        result.message = Some(format!(
            "{} retained before-images hash to their before_image_sha256",
            findings.checked
        ));
    }
    result
}

/// The manifest as a typed value, refusing unknown formats.
pub fn parse_manifest(value: &Value) -> Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_value(value.clone())
        .map_err(|e| format!("the manifest does not parse: {e}"))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(format!("unknown manifest format {:?}", manifest.format));
    }
    Ok(manifest)
}

fn check(name: impl Into<String>, failure: Option<(ReasonCode, String)>) -> Check {
    let (reason_code, message) = failure.map_or((None, None), |(r, m)| (Some(r), Some(m)));
    Check {
        name: name.into(),
        passed: reason_code.is_none(),
        reason_code,
        expected: None,
        observed: None,
        message,
    }
}

fn compared(name: String, code: ReasonCode, expected: &str, observed: Option<&str>) -> Check {
    let passed = observed == Some(expected);
    let failure = (!passed).then(|| {
        let message = match observed {
            Some(_) => "the recomputed hash differs from the manifest's".to_owned(),
            None => "no hash could be recomputed".to_owned(),
        };
        (code, message)
    });
    Check {
        expected: Some(expected.to_owned()),
        observed: observed.map(str::to_owned),
        ..check(name, failure)
    }
}

fn artifact_check(kind: ArtifactKind, manifest: &Manifest, observed: Option<&String>) -> Check {
    compared(
        format!("artifact_hash:{}", kind.as_str()),
        ARTIFACT_HASH_MISMATCH,
        manifest.artifact_hashes.get(kind),
        observed.map(String::as_str),
    )
}

fn report_check(parts: &SignedParts, manifest: &Manifest) -> Check {
    let observed = canonical_json(&parts.report)
        .map(|c| sha256_hex(c.as_bytes()))
        .ok();
    let mut result = compared(
        "report_hash".to_owned(),
        REPORT_HASH_MISMATCH,
        &manifest.report_hash,
        observed.as_deref(),
    );
    if result.passed && parts.report_hash != manifest.report_hash {
        result.passed = false;
        result.reason_code = Some(REPORT_HASH_MISMATCH);
        result.message = Some("the package's report_hash differs from the manifest's".to_owned());
    }
    result
}

fn manifest_checks(
    parts: &SignedParts,
    manifest: Result<&Manifest, String>,
    key: Result<VerifyingKey, String>,
) -> Vec<Check> {
    let canonical = match canonical_json(&parts.manifest) {
        Ok(canonical) => canonical,
        Err(e) => return vec![check("signature", Some((SIGNATURE_FAILED, e.to_string())))],
    };
    let observed = sha256_hex(canonical.as_bytes());
    let hash = compared(
        "manifest_sha256".to_owned(),
        SIGNATURE_FAILED,
        &parts.manifest_sha256,
        Some(&observed),
    );
    let failure = signature_failure(parts, manifest, key, canonical.as_bytes());
    vec![
        hash,
        check("signature", failure.map(|m| (SIGNATURE_FAILED, m))),
    ]
}

fn signature_failure(
    parts: &SignedParts,
    manifest: Result<&Manifest, String>,
    key: Result<VerifyingKey, String>,
    message: &[u8],
) -> Option<String> {
    let manifest = match manifest {
        Ok(manifest) => manifest,
        Err(e) => return Some(e),
    };
    if parts.signature.algorithm != ALGORITHM || manifest.algorithm != ALGORITHM {
        return Some(format!(
            "unsupported algorithm {:?}",
            parts.signature.algorithm
        ));
    }
    if parts.signature.signer_key_id != manifest.signer_key_id {
        return Some("the signature's signer_key_id differs from the manifest's".to_owned());
    }
    let key = match key {
        Ok(key) => key,
        Err(e) => return Some(e),
    };
    verify_signature(&key, message, &parts.signature.signature).err()
}
