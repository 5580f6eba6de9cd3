//! Restoring attachments after the rows: each media candidate is copied
//! from the media store into the target once its parent row exists, its
//! sha256 checked against the plan, transient store errors retried. A
//! candidate that still fails has a `failed` outcome with its reason, and
//! the job then ends `failed_media_incomplete` rather than `completed`.

use super::super::ReasonCode;
use super::view::Outcome;
use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::super::plan::document::PlanDocument;
use super::super::DomainError;
use crate::media_store::{MediaStore, MediaStoreError};
use crate::store::execution::MediaOutcomeRow;
use crate::store::target::TargetMediaRow;
use crate::store::Store;

/// Retry settings.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
}

/// Restores every candidate that has no outcome yet.
pub async fn restore_all(
    store: &Store,
    media: &MediaStore,
    job_id: &str,
    plan: &PlanDocument,
    retry: Retry,
) -> Result<(), DomainError> {
    let done: Vec<String> = store
        .media_outcomes(job_id)
        .await?
        .into_iter()
        .map(|m| m.candidate_id)
        .collect();
    for (ordinal, candidate) in plan.media_candidates.iter().enumerate() {
        if done.contains(&candidate.candidate_id) {
            continue;
        }
        let outcome = restore_one(store, media, plan, candidate, ordinal as i64, retry).await?;
        store
            .insert_media_outcome(job_id, &outcome, Utc::now())
            .await?;
    }
    Ok(())
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
    store: &Store,
    media: &MediaStore,
    plan: &PlanDocument,
    c: &super::super::plan::document::MediaCandidateDoc,
    ordinal: i64,
    retry: Retry,
) -> Result<MediaOutcomeRow, DomainError> {
    let mut outcome = MediaOutcomeRow {
        candidate_id: c.candidate_id.clone(),
        ordinal,
        media_id: c.media_id.clone(),
        outcome: Outcome::Failed.as_str().into(),
        reason_code: None,
        attempt_count: 0,
        expected_sha256_plain: c.sha256_plain.clone(),
        observed_sha256_plain: None,
    };
    let parent = store
        .target_record(
            &plan.tenant_id,
            &plan.instance_id,
            &c.parent_table,
            &c.parent_sys_id,
        )
        .await?;
    if parent.is_none() {
        outcome.reason_code = Some(ReasonCode::FailedMediaParentMissing.as_str().into());
        return Ok(outcome);
    }
    let key = format!(
        "sha256/{}/{}",
        &c.sha256_plain[..2.min(c.sha256_plain.len())],
        c.sha256_plain
    );
    let mut bytes = None;
    while outcome.attempt_count < retry.attempts.max(1) as i32 {
        outcome.attempt_count += 1;
        match media.get(&key).await {
            Ok(read) => {
                bytes = Some(read);
                break;
            }
            Err(MediaStoreError::NotFound(_) | MediaStoreError::Unavailable(_)) => {
                tokio::time::sleep(retry.backoff * outcome.attempt_count as u32).await;
            }
        }
    }
    let Some(bytes) = bytes else {
        outcome.reason_code = Some(ReasonCode::FailedMediaRetryExhausted.as_str().into());
        return Ok(outcome);
    };
    let observed = hex::encode(Sha256::digest(&bytes));
    outcome.observed_sha256_plain = Some(observed.clone());
    if observed != c.sha256_plain {
        outcome.reason_code = Some(ReasonCode::FailedMediaHashMismatch.as_str().into());
        return Ok(outcome);
    }
    let row = TargetMediaRow {
        media_id: c.media_id.clone(),
        parent_sys_id: c.parent_sys_id.clone(),
        file_name: c.file_name.clone(),
        content_type: c.content_type.clone(),
        size_bytes: bytes.len() as i64,
        sha256_plain: observed,
        restored_at: Utc::now(),
    };
    store
        .put_target_media(
            &plan.tenant_id,
            &plan.instance_id,
            &c.parent_table,
            &row,
            &key,
        )
        .await?;
    outcome.outcome = Outcome::Applied.as_str().into();
    Ok(outcome)
}
