//! Evidence packages: what an auditor receives for every terminal restore
//! to prove what was planned, what ran, what changed and which policy
//! allowed it.
//!
//! A package hashes four artifacts of the job (plan, execution, rollback
//! journal, job events) over their canonical RFC 8785 form, streamed so
//! memory does not grow with the job; states the policy decisions, the
//! resume history and the retention terms in a manifest; hashes a report;
//! and signs the canonical manifest with ed25519. Packages are insert-only
//! (a new export is a new version), and every read verifies afresh from
//! the stored artifacts, so tampering with a plan, journal row or event in
//! the database shows as `failed_evidence_artifact_hash_mismatch`. The
//! journal artifact leaves out the prunable before-images but keeps their
//! hashes, so a package still verifies after retention pruning; every
//! verification also checks that each before-image still held hashes to
//! its signed `before_image_sha256` (`failed_evidence_before_image_mismatch`,
//! naming the rows; see `domain::journal`).
//!
//! Layout: `domain::canonical` (streamed RFC 8785 and sha256), [`artifact`]
//! (artifact streaming), [`keys`] (the signer), [`manifest`] (the signed
//! types), [`package`] (seal and verify over any sources), [`verify`] (the
//! checks, shared with the offline verifier in [`offline`]), [`sources`]
//! (the traits the store fills).

pub mod artifact;
pub mod before_images;
pub mod keys;
pub mod manifest;
pub mod offline;
pub mod operations;
pub mod owed;
pub mod package;
pub mod retention;
pub mod service;
pub mod sources;
pub mod store_sources;
pub mod verify;

#[cfg(test)]
mod tests;

pub use artifact::{ArtifactDigest, ArtifactKind, ArtifactSource, Page};
pub use keys::{KeyError, KeySource, Signer};
pub use manifest::{Manifest, ManifestSignature, Origin, Report};
pub use package::{Evidence, Retention};
pub use sources::{ArtifactScope, EvidenceSources, JobFacts, Keyring, RetainedBeforeImage};
pub use verify::{
    Verification, ARTIFACT_HASH_MISMATCH, BEFORE_IMAGE_MISMATCH, REPORT_HASH_MISMATCH,
    SIGNATURE_FAILED,
};
