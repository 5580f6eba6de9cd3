//! Restoring attachments after the rows, through the plan's target: each
//! media candidate is read from the media store once its parent record
//! exists in the instance, its sha256 checked against the plan, and
//! written next to the record unless the instance already holds it (a
//! resume after a crash between the write and its outcome writes nothing
//! twice). Transient media-store errors are retried; an instance that
//! cannot be reached pauses the execution like a chunk would, and the
//! resume goes on with the candidates that have no outcome yet.
//! A candidate that still fails has a `failed` outcome with its reason,
//! and the job then ends `failed_media_incomplete` rather than `completed`.

use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::super::plan::document::{MediaCandidateDoc, PlanDocument};
use super::super::plan::undo::removal_id;
use super::super::DomainError;
use super::super::ReasonCode;
use super::view::Outcome;
use crate::media_store::{blob_key, MediaStore, MediaStoreError};
use crate::store::execution::MediaOutcomeRow;
use crate::store::Store;
use crate::target::{AttachmentKey, NewAttachment, Target, TargetError};

/// Retry settings.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
}

/// Where the media and the instance are.
pub struct MediaRun<'a> {
    pub store: &'a Store,
    pub media: &'a MediaStore,
    pub target: &'a dyn Target,
    pub retry: Retry,
}

/// Restores every candidate that has no outcome yet. Returns why to pause
/// when the instance cannot be written now (the candidates left keep no
/// outcome, so a resume tries them again).
pub async fn restore_all(
    run: &MediaRun<'_>,
    job_id: &str,
    plan: &PlanDocument,
) -> Result<Option<ReasonCode>, DomainError> {
    let done = outcome_ids(run, job_id).await?;
    for (ordinal, candidate) in plan.media_candidates.iter().enumerate() {
        if done.contains(&candidate.candidate_id) {
            continue;
        }
        let outcome = match restore_one(run, candidate, ordinal as i64).await {
            Ok(outcome) => outcome,
            Err(Interrupted::Pause(reason)) => return Ok(Some(reason)),
            Err(Interrupted::Domain(e)) => return Err(e),
        };
        run.store
            .insert_media_outcome(job_id, &outcome, Utc::now())
            .await?;
    }
    Ok(None)
}

/// The candidates (and removals) that already have an outcome.
async fn outcome_ids(run: &MediaRun<'_>, job_id: &str) -> Result<Vec<String>, DomainError> {
    let outcomes = run.store.media_outcomes(job_id).await?;
    Ok(outcomes.into_iter().map(|m| m.candidate_id).collect())
}

/// Why a candidate got no outcome.
enum Interrupted {
    /// The instance cannot be written now.
    Pause(ReasonCode),
    Domain(DomainError),
}

impl From<DomainError> for Interrupted {
    fn from(e: DomainError) -> Self {
        Interrupted::Domain(e)
    }
}

/// A target error that ends the candidate with an outcome of its own, or
/// pauses the execution.
fn settle(error: TargetError) -> Result<ReasonCode, Interrupted> {
    match error {
        TargetError::Refused { .. } => Ok(ReasonCode::FailedTargetRefused),
        TargetError::NoTable(_) => Ok(ReasonCode::FailedMediaParentMissing),
        TargetError::Unauthorized(_) => {
            Err(Interrupted::Pause(ReasonCode::PausedTargetUnauthorized))
        }
        TargetError::Unavailable(_) | TargetError::Protocol(_) => {
            Err(Interrupted::Pause(ReasonCode::PausedTargetUnavailable))
        }
    }
}

/// Most candidate ids a job's terminal event lists among its failed media.
pub const FAILED_IDS_SHOWN: usize = 100;

/// The candidates of the job whose media outcome failed, in plan order.
pub async fn failed(store: &Store, job_id: &str) -> Result<Vec<String>, DomainError> {
    let failed = Outcome::Failed.as_str();
    let mut outcomes = store.media_outcomes(job_id).await?;
    outcomes.sort_by_key(|m| m.ordinal);
    Ok(outcomes
        .into_iter()
        .filter(|m| m.outcome == failed)
        .map(|m| m.candidate_id)
        .collect())
}

async fn restore_one(
    run: &MediaRun<'_>,
    c: &MediaCandidateDoc,
    ordinal: i64,
) -> Result<MediaOutcomeRow, Interrupted> {
    let mut outcome = MediaOutcomeRow {
        candidate_id: c.candidate_id.clone(),
        ordinal,
        media_id: c.media_id.clone(),
        outcome: Outcome::Failed.as_str().into(),
        reason_code: None,
        attempt_count: 0,
        expected_sha256_plain: c.sha256_plain.clone(),
        observed_sha256_plain: None,
        wrote: Some(false),
    };
    let failed = |mut outcome: MediaOutcomeRow, reason: ReasonCode| {
        outcome.reason_code = Some(reason.as_str().into());
        Ok(outcome)
    };
    match parent_exists(run.target, c).await {
        Ok(true) => {}
        Ok(false) => return failed(outcome, ReasonCode::FailedMediaParentMissing),
        Err(e) => return failed(outcome, settle(e)?),
    }
    let key = AttachmentKey {
        media_id: &c.media_id,
        parent_table: &c.parent_table,
        parent_sys_id: &c.parent_sys_id,
        file_name: &c.file_name,
        sha256_plain: &c.sha256_plain,
    };
    match run.target.find_attachment(&key).await {
        Ok(Some(held)) if held.sha256_plain == c.sha256_plain => {
            outcome.observed_sha256_plain = Some(held.sha256_plain);
            outcome.outcome = Outcome::Applied.as_str().into();
            return Ok(outcome);
        }
        Ok(_) => {}
        Err(e) => return failed(outcome, settle(e)?),
    }
    let Some(bytes) = read_blob(run, &c.sha256_plain, &mut outcome.attempt_count).await else {
        return failed(outcome, ReasonCode::FailedMediaRetryExhausted);
    };
    let observed = hex::encode(Sha256::digest(&bytes));
    outcome.observed_sha256_plain = Some(observed.clone());
    if observed != c.sha256_plain {
        return failed(outcome, ReasonCode::FailedMediaHashMismatch);
    }
    let attachment = NewAttachment {
        key,
        content_type: &c.content_type,
        bytes,
        sha256_plain: &observed,
    };
    match run.target.write_attachment(attachment).await {
        Ok(_) => {
            outcome.outcome = Outcome::Applied.as_str().into();
            outcome.wrote = Some(true);
            Ok(outcome)
        }
        Err(e) => failed(outcome, settle(e)?),
    }
}

/// Removes every attachment an undo plan removes that has no outcome yet,
/// after the candidates it restores. Returns why to pause, as
/// [`restore_all`] does.
pub async fn remove_all(
    run: &MediaRun<'_>,
    job_id: &str,
    plan: &PlanDocument,
) -> Result<Option<ReasonCode>, DomainError> {
    if plan.media_removals.is_empty() {
        return Ok(None);
    }
    let done = outcome_ids(run, job_id).await?;
    let first = plan.media_candidates.len();
    for (i, c) in plan.media_removals.iter().enumerate() {
        let id = removal_id(&c.candidate_id);
        if done.contains(&id) {
            continue;
        }
        let mut outcome = MediaOutcomeRow {
            candidate_id: id,
            ordinal: (first + i) as i64,
            media_id: c.media_id.clone(),
            outcome: Outcome::Applied.as_str().into(),
            reason_code: None,
            attempt_count: 1,
            expected_sha256_plain: c.sha256_plain.clone(),
            observed_sha256_plain: None,
            wrote: Some(false),
        };
        let key = AttachmentKey {
            media_id: &c.media_id,
            parent_table: &c.parent_table,
            parent_sys_id: &c.parent_sys_id,
            file_name: &c.file_name,
            sha256_plain: &c.sha256_plain,
        };
        // Held with the content the job wrote: removed. Gone, or replaced by
        // other content since: left as it is.
        let removed = match run.target.find_attachment(&key).await {
            Ok(Some(held)) if held.sha256_plain == c.sha256_plain => {
                outcome.observed_sha256_plain = Some(held.sha256_plain.clone());
                run.target
                    .delete_attachment(&key, &held)
                    .await
                    .map(|()| true)
            }
            Ok(_) => Ok(false),
            Err(e) => Err(e),
        };
        match removed {
            Ok(wrote) => outcome.wrote = Some(wrote),
            Err(e) => match settle(e) {
                Ok(reason) => {
                    outcome.outcome = Outcome::Failed.as_str().into();
                    outcome.reason_code = Some(reason.as_str().into());
                }
                Err(Interrupted::Pause(reason)) => return Ok(Some(reason)),
                Err(Interrupted::Domain(e)) => return Err(e),
            },
        }
        run.store
            .insert_media_outcome(job_id, &outcome, Utc::now())
            .await?;
    }
    Ok(None)
}

/// Whether the attachment's record exists in the instance now.
async fn parent_exists(target: &dyn Target, c: &MediaCandidateDoc) -> Result<bool, TargetError> {
    let Some(schema) = target.describe_table(&c.parent_table).await? else {
        return Ok(false);
    };
    let found = target
        .read(
            &c.parent_table,
            &schema,
            std::slice::from_ref(&c.parent_sys_id),
        )
        .await?;
    Ok(!found.is_empty())
}

/// The blob, read with retries; `None` when every attempt failed.
async fn read_blob(run: &MediaRun<'_>, sha256: &str, attempts: &mut i32) -> Option<bytes::Bytes> {
    let key = blob_key(sha256);
    while *attempts < run.retry.attempts.max(1) as i32 {
        *attempts += 1;
        match run.media.get(&key).await {
            Ok(read) => return Some(read),
            Err(MediaStoreError::NotFound(_) | MediaStoreError::Unavailable(_)) => {
                tokio::time::sleep(run.retry.backoff * *attempts as u32).await;
            }
        }
    }
    None
}
