//! The package file an auditor receives, and its offline verification
//! (`rrs evidence verify FILE --public-key KEY.pem`): no service, no
//! database, only the file and the signer's public key.
//!
//! The file is one canonical JSON object: the four artifacts in full
//! (streamed from the store page by page when it is written), the manifest,
//! its hash and signature, the report and its hash, the signer's public
//! key for convenience, and the observed hash of every before-image the
//! journal still held when the file was written (`before_image_digests`;
//! never the images themselves). The verifier recomputes every hash from
//! the file's own content, checks each before-image digest against the
//! journal artifact's `before_image_sha256`, and checks the signature with
//! the key the auditor supplies; the embedded key is used only when none
//! is supplied, and the result then says the key was not independently
//! trusted.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::artifact::{self, ArtifactKind, Output};
use super::before_images::{self, BeforeImageDigest};
use super::keys::parse_public_key_pem;
use super::manifest::ManifestSignature;
use super::sources::{ArtifactScope, EvidenceSources};
use super::verify::{self, SignedParts, Verification};
use crate::domain::canonical::{canonical_key_order, value_sha256, write_canonical, write_raw};
use crate::domain::DomainError;

/// `format` of a package file.
pub const PACKAGE_FORMAT: &str = "rrs-evidence-package/1";

/// A package file as read back.
#[derive(Debug, Clone, Deserialize)]
pub struct PackageFile {
    pub format: String,
    pub artifacts: BTreeMap<String, Value>,
    pub manifest: Value,
    pub manifest_sha256: String,
    pub manifest_signature: ManifestSignature,
    pub report: Value,
    pub report_hash: String,
    pub signer_public_key_pem: Option<String>,
    /// Observed hashes of the before-images the service held when it
    /// wrote the file (absent from files of older versions).
    #[serde(default)]
    pub before_image_digests: Vec<BeforeImageDigest>,
}

/// Which key the signature was checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrigin {
    /// The key the auditor supplied.
    Supplied,
    /// The key inside the package: proves integrity, not who signed.
    EmbeddedInPackage,
    /// No key at all.
    None,
}

/// The outcome of an offline verification.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineReport {
    pub job_id: Option<String>,
    pub package_version: Option<i64>,
    pub signer_key_id: String,
    pub manifest_sha256: String,
    pub key: KeyOrigin,
    #[serde(flatten)]
    pub verification: Verification,
}

/// Writes the package file of `parts` to `out`, streaming the artifacts
/// from `sources` over the scope the manifest names.
pub async fn write_package_file<W: Output>(
    sources: &dyn EvidenceSources,
    scope: &ArtifactScope,
    parts: &SignedParts,
    public_key_pem: Option<&str>,
    out: &mut W,
) -> Result<(), DomainError> {
    let mut members = Map::new();
    members.insert("format".into(), Value::from(PACKAGE_FORMAT));
    members.insert("manifest".into(), parts.manifest.clone());
    members.insert(
        "manifest_sha256".into(),
        Value::from(parts.manifest_sha256.clone()),
    );
    let signature = serde_json::to_value(&parts.signature)
        .map_err(|e| DomainError::Internal(format!("signature JSON: {e}")))?;
    members.insert("manifest_signature".into(), signature);
    members.insert("report".into(), parts.report.clone());
    members.insert("report_hash".into(), Value::from(parts.report_hash.clone()));
    members.insert("signer_public_key_pem".into(), Value::from(public_key_pem));
    let order = canonical_key_order(
        members
            .keys()
            .cloned()
            .chain(["artifacts".into(), "before_image_digests".into()])
            .collect(),
    );
    write_raw(out, b"{")?;
    for (index, key) in order.iter().enumerate() {
        if index > 0 {
            write_raw(out, b",")?;
        }
        write_canonical(out, key)?;
        write_raw(out, b":")?;
        match (members.get(key), key.as_str()) {
            (Some(value), _) => write_canonical(out, value)?,
            (None, "before_image_digests") => {
                before_images::write_digests(sources, &scope.job_id, out).await?
            }
            _ => write_artifacts(sources, scope, out).await?,
        }
    }
    write_raw(out, b"}")?;
    out.page_done().await
}

async fn write_artifacts<W: Output>(
    sources: &dyn EvidenceSources,
    scope: &ArtifactScope,
    out: &mut W,
) -> Result<(), DomainError> {
    let names = canonical_key_order(
        ArtifactKind::ALL
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
    );
    write_raw(out, b"{")?;
    for (index, name) in names.iter().enumerate() {
        let Some(kind) = ArtifactKind::ALL.into_iter().find(|k| k.as_str() == name) else {
            continue;
        };
        if index > 0 {
            write_raw(out, b",")?;
        }
        write_canonical(out, name)?;
        write_raw(out, b":")?;
        artifact::stream(sources.artifact(scope, kind).as_ref(), out).await?;
    }
    write_raw(out, b"}")
}

/// Verifies a package file's bytes with the supplied public key (SPKI
/// PEM), or the embedded one when none is supplied.
pub fn verify_package_bytes(
    bytes: &[u8],
    public_key_pem: Option<&str>,
    now: DateTime<Utc>,
) -> Result<OfflineReport, String> {
    let file: PackageFile =
        serde_json::from_slice(bytes).map_err(|e| format!("not an evidence package file: {e}"))?;
    if file.format != PACKAGE_FORMAT {
        return Err(format!("unknown package format {:?}", file.format));
    }
    let mut recomputed = BTreeMap::new();
    for kind in ArtifactKind::ALL {
        if let Some(value) = file.artifacts.get(kind.as_str()) {
            recomputed.insert(kind, value_sha256(value).map_err(|e| e.to_string())?);
        }
    }
    let (key, origin) = match (public_key_pem, file.signer_public_key_pem.as_deref()) {
        (Some(pem), _) => (
            parse_public_key_pem(pem).map_err(|e| e.to_string())?,
            KeyOrigin::Supplied,
        ),
        (None, Some(pem)) => match parse_public_key_pem(pem) {
            Ok(key) => (key, KeyOrigin::EmbeddedInPackage),
            Err(e) => {
                return Ok(report(
                    &file,
                    Err(e.to_string()),
                    KeyOrigin::None,
                    &recomputed,
                    now,
                ))
            }
        },
        (None, None) => {
            let missing = Err("no public key was supplied and none is embedded".to_owned());
            return Ok(report(&file, missing, KeyOrigin::None, &recomputed, now));
        }
    };
    Ok(report(&file, Ok(key), origin, &recomputed, now))
}

fn report(
    file: &PackageFile,
    key: Result<ed25519_dalek::VerifyingKey, String>,
    origin: KeyOrigin,
    recomputed: &BTreeMap<ArtifactKind, String>,
    now: DateTime<Utc>,
) -> OfflineReport {
    let parts = SignedParts {
        manifest: file.manifest.clone(),
        manifest_sha256: file.manifest_sha256.clone(),
        signature: file.manifest_signature.clone(),
        report: file.report.clone(),
        report_hash: file.report_hash.clone(),
    };
    OfflineReport {
        job_id: file
            .manifest
            .get("job_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        package_version: file.manifest.get("package_version").and_then(Value::as_i64),
        signer_key_id: file.manifest_signature.signer_key_id.clone(),
        manifest_sha256: file.manifest_sha256.clone(),
        key: origin,
        verification: verify::verify(
            &parts,
            recomputed,
            before_images::check_file(
                file.artifacts.get(ArtifactKind::RollbackJournal.as_str()),
                &file.before_image_digests,
            ),
            key,
            now,
        ),
    }
}

/// Reads and verifies a package file; the public key file is SPKI PEM.
pub fn verify_package_file(
    path: &Path,
    public_key_path: Option<&Path>,
) -> Result<OfflineReport, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let key = public_key_path
        .map(|p| {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        })
        .transpose()?;
    verify_package_bytes(&bytes, key.as_deref(), Utc::now())
}

/// `rrs evidence verify FILE [--public-key PEM]`: prints the outcome as
/// JSON and fails unless the package verifies.
pub fn run_verify(file: &Path, public_key: Option<&Path>) -> anyhow::Result<()> {
    let report = verify_package_file(file, public_key).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    match report.key {
        KeyOrigin::EmbeddedInPackage => eprintln!(
            "warning: checked with the public key embedded in the package; pass --public-key \
             with the signer's published key to know who signed it"
        ),
        KeyOrigin::None => eprintln!("warning: no public key: the signature was not checked"),
        KeyOrigin::Supplied => {}
    }
    match report.verification.reason_code {
        None => {
            eprintln!("verified: {}", file.display());
            Ok(())
        }
        Some(reason_code) => anyhow::bail!("evidence verification failed: {reason_code}"),
    }
}
