//! The rollback journal's before-images as something to trust: each is
//! what a rollback would write back into the target, so it must still be
//! the image that was journaled. A journal row records the image and its
//! `before_image_sha256` (the sha256 of the image's canonical RFC 8785
//! form, computed when the target row was written: `payload_sha256`); the
//! journal artifact of every evidence package signs the hash, never the
//! image (retention prunes images). So an image changed in the database
//! after the fact no longer hashes to its signed hash, and:
//! - evidence verification (service and offline verifier) reports it as
//!   `failed_evidence_before_image_mismatch`, naming the rows;
//! - [`verified_before_image`] refuses it: any code that writes a
//!   before-image back must take it from there.
//!
//! The hash is taken over the parsed JSON value, so it is the same on
//! SQLite (text) and PostgreSQL (json), whatever key order or spacing the
//! database hands back.

use serde_json::Value;

use super::canonical::value_sha256;
use super::execute::view::JournalEntry;
use super::{DomainError, ReasonCode};

/// What a journal row's before-image is, checked against its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeforeImageState {
    /// The image hashes to `before_image_sha256`.
    Intact,
    /// The row was created by the restore: there was no record before it
    /// (no image, no hash).
    NoPriorRecord,
    /// Retention pruned the image; its hash remains. Legitimate.
    Pruned,
    /// The image does not hash to `before_image_sha256` (or has none).
    Mismatch {
        expected: Option<String>,
        observed: String,
    },
}

/// The sha256 of a before-image as `before_image_sha256` states it: over
/// the image's canonical JSON.
pub fn before_image_sha256(image: &Value) -> Result<String, DomainError> {
    value_sha256(image)
}

/// Checks a stored before-image against its stored hash.
pub fn check_before_image(
    image: Option<&Value>,
    expected: Option<&str>,
) -> Result<BeforeImageState, DomainError> {
    let Some(image) = image else {
        return Ok(match expected {
            Some(_) => BeforeImageState::Pruned,
            None => BeforeImageState::NoPriorRecord,
        });
    };
    let observed = before_image_sha256(image)?;
    if expected == Some(observed.as_str()) {
        Ok(BeforeImageState::Intact)
    } else {
        Ok(BeforeImageState::Mismatch {
            expected: expected.map(str::to_owned),
            observed,
        })
    }
}

/// What writing a journal row's before-image back means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBack<'a> {
    /// Put this image back.
    Image(&'a Value),
    /// The record did not exist before the restore: remove it.
    NoPriorRecord,
}

/// Why a before-image cannot be written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeforeImageRefusal {
    /// Retention pruned it; only its hash remains. Legitimate, but there
    /// is nothing to write back.
    Pruned { journal_id: String },
    /// It no longer hashes to its `before_image_sha256`: it was changed
    /// after it was journaled.
    Mismatch {
        journal_id: String,
        expected: Option<String>,
        observed: String,
    },
    /// It could not be hashed at all.
    Unreadable { journal_id: String, error: String },
}

impl BeforeImageRefusal {
    /// The reason code of a refusal that means tampering.
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            BeforeImageRefusal::Mismatch { .. } => {
                Some(ReasonCode::FailedEvidenceBeforeImageMismatch)
            }
            BeforeImageRefusal::Pruned { .. } | BeforeImageRefusal::Unreadable { .. } => None,
        }
    }

    /// The refusal as an answer: `409 failed_evidence_before_image_mismatch`
    /// for a changed image; a pruned image is the caller's to explain (an
    /// undo past retention), so it is an internal error here.
    pub fn into_error(self) -> DomainError {
        match self {
            BeforeImageRefusal::Mismatch {
                journal_id,
                expected,
                observed,
            } => DomainError::Conflict {
                reason_code: ReasonCode::FailedEvidenceBeforeImageMismatch,
                message: format!(
                    "the before-image of journal row {journal_id} does not hash to its \
                     before_image_sha256; it was changed after it was journaled"
                ),
                details: Some(serde_json::json!({"journal_id": journal_id,
                    "before_image_sha256": expected, "observed_sha256": observed})),
            },
            BeforeImageRefusal::Pruned { journal_id } => DomainError::Internal(format!(
                "the before-image of journal row {journal_id} was pruned by retention"
            )),
            BeforeImageRefusal::Unreadable { journal_id, error } => DomainError::Internal(format!(
                "the before-image of journal row {journal_id} cannot be hashed: {error}"
            )),
        }
    }
}

/// A journal row's before-image as journaled: what
/// [`verified_before_image`] checks.
#[derive(Debug, Clone, Copy)]
pub struct JournaledImage<'a> {
    pub journal_id: &'a str,
    pub image: Option<&'a Value>,
    pub sha256: Option<&'a str>,
}

impl<'a> From<&'a JournalEntry> for JournaledImage<'a> {
    fn from(entry: &'a JournalEntry) -> Self {
        Self {
            journal_id: &entry.journal_id,
            image: entry.before_image.as_ref(),
            sha256: entry.before_image_sha256.as_deref(),
        }
    }
}

/// The before-image of a journal row fit to be written back into the target:
/// only an image that still hashes to its journaled `before_image_sha256`
/// (or, for a row the restore created, the absence of one). Every code
/// path that writes a before-image back must take it from here.
pub fn verified_before_image<'a>(
    row: impl Into<JournaledImage<'a>>,
) -> Result<WriteBack<'a>, BeforeImageRefusal> {
    let row = row.into();
    let journal_id = || row.journal_id.to_owned();
    let image = row.image;
    let state =
        check_before_image(image, row.sha256).map_err(|e| BeforeImageRefusal::Unreadable {
            journal_id: journal_id(),
            error: e.to_string(),
        })?;
    match (state, image) {
        (BeforeImageState::Intact, Some(image)) => Ok(WriteBack::Image(image)),
        (BeforeImageState::NoPriorRecord, _) => Ok(WriteBack::NoPriorRecord),
        (BeforeImageState::Mismatch { expected, observed }, _) => {
            Err(BeforeImageRefusal::Mismatch {
                journal_id: journal_id(),
                expected,
                observed,
            })
        }
        (BeforeImageState::Pruned | BeforeImageState::Intact, _) => {
            Err(BeforeImageRefusal::Pruned {
                journal_id: journal_id(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::domain::plan::document::RowAction;

    fn entry(image: Option<Value>, sha: Option<String>) -> JournalEntry {
        JournalEntry {
            journal_id: "jr_1".into(),
            plan_hash: "p".into(),
            plan_row_id: 1,
            chunk_id: "job:0".into(),
            row_attempt: 1,
            table: "incident".into(),
            sys_id: "a1".into(),
            action: RowAction::Update,
            before_image: image,
            before_image_sha256: sha,
            after_image_sha256: None,
            created_at: Utc::now(),
        }
    }

    fn sha(value: &Value) -> String {
        before_image_sha256(value).unwrap()
    }

    #[test]
    fn an_intact_image_is_handed_out() {
        let image = json!({"short_description": "before", "n": 1});
        let row = entry(Some(image.clone()), Some(sha(&image)));
        assert_eq!(
            verified_before_image(&row).unwrap(),
            WriteBack::Image(&image)
        );
    }

    #[test]
    fn the_hash_ignores_key_order_spacing_and_number_spelling() {
        // What a database may hand back: members reordered, 1.0 for 1.
        let journaled = json!({"a": 1, "b": {"y": [1, 2], "x": "é"}});
        let reread: Value =
            serde_json::from_str(r#"{ "b": {"x": "é", "y": [1.0, 2]}, "a": 1.0 }"#).unwrap();
        let row = entry(Some(reread), Some(sha(&journaled)));
        assert!(matches!(
            verified_before_image(&row).unwrap(),
            WriteBack::Image(_)
        ));
    }

    #[test]
    fn a_changed_image_is_refused_with_its_reason_code() {
        let image = json!({"short_description": "before"});
        let tampered = json!({"short_description": "mallory was here"});
        let row = entry(Some(tampered.clone()), Some(sha(&image)));
        let refusal = verified_before_image(&row).unwrap_err();
        assert_eq!(
            refusal,
            BeforeImageRefusal::Mismatch {
                journal_id: "jr_1".into(),
                expected: Some(sha(&image)),
                observed: sha(&tampered),
            }
        );
        assert_eq!(
            refusal.reason_code(),
            Some(ReasonCode::FailedEvidenceBeforeImageMismatch)
        );
        match refusal.into_error() {
            DomainError::Conflict {
                reason_code,
                details,
                ..
            } => {
                assert_eq!(reason_code, ReasonCode::FailedEvidenceBeforeImageMismatch);
                assert_eq!(details.unwrap()["journal_id"], "jr_1");
            }
            other => panic!("{other:?}"),
        }
        // An image without a hash is no more trustworthy.
        let unhashed = entry(Some(image), None);
        assert!(matches!(
            verified_before_image(&unhashed),
            Err(BeforeImageRefusal::Mismatch { expected: None, .. })
        ));
    }

    #[test]
    fn pruned_images_are_legitimate_but_cannot_be_written_back() {
        let image = json!({"short_description": "before"});
        let pruned = entry(None, Some(sha(&image)));
        assert_eq!(
            check_before_image(None, pruned.before_image_sha256.as_deref()).unwrap(),
            BeforeImageState::Pruned
        );
        let refusal = verified_before_image(&pruned).unwrap_err();
        assert_eq!(
            refusal,
            BeforeImageRefusal::Pruned {
                journal_id: "jr_1".into()
            }
        );
        assert_eq!(refusal.reason_code(), None, "pruning is not tampering");
    }

    #[test]
    fn a_row_the_restore_created_writes_back_as_no_record() {
        assert_eq!(
            verified_before_image(&entry(None, None)).unwrap(),
            WriteBack::NoPriorRecord
        );
    }
}
