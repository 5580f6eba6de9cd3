//! What evidence is built from, behind two small traits: the job's facts
//! and its four artifacts ([`EvidenceSources`]), and the public keys of
//! every signer id ([`Keyring`]). The service reads both from the store;
//! tests and the benchmark can hand in fixtures with the same shape.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use super::artifact::{ArtifactKind, ArtifactSource};
use super::manifest::{EvidenceInstance, PolicyDecisionRef, ResumeMetadata, UndoOf};
use crate::domain::DomainError;

/// What a package states about its job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    pub job_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    /// The instance the job wrote (the plan's target).
    pub tenant_id: String,
    pub instance_id: String,
    /// Whose backup the plan read, when known.
    pub source: Option<EvidenceInstance>,
    pub tables: Vec<String>,
    /// `queued|running|completed|failed|cancelled`.
    pub status: String,
    pub status_reason_code: Option<String>,
    pub operator_id: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The plan's `pit_algorithm_version`.
    pub pit_algorithm_version: Option<String>,
    pub resume_metadata: ResumeMetadata,
    /// Gate decisions of the plan, capability and media decisions of the job.
    pub policy_decisions: Vec<PolicyDecisionRef>,
    /// The job's last event `seq` now.
    pub last_event_seq: i64,
    /// Outcome counts for the report.
    pub outcome_summary: Value,
    /// The job this one undid, when it ran an undo plan.
    pub undo_of: Option<UndoOf>,
}

impl JobFacts {
    /// The source and the target, when the source is known.
    pub fn source_and_target(&self) -> (Option<EvidenceInstance>, Option<EvidenceInstance>) {
        let target = self.source.as_ref().map(|_| EvidenceInstance {
            tenant_id: self.tenant_id.clone(),
            instance_id: self.instance_id.clone(),
        });
        (self.source.clone(), target)
    }

    /// Whether the job reached `completed`, `failed` or `cancelled`.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "cancelled")
    }
}

/// What an artifact covers: the job, its plan, and its events up to a
/// `seq` (a package covers the events that existed when it was made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactScope {
    pub job_id: String,
    pub plan_id: String,
    pub events_through_seq: i64,
}

/// A before-image the journal still holds (not pruned).
#[derive(Debug, Clone, PartialEq)]
pub struct RetainedBeforeImage {
    pub journal_id: String,
    pub plan_row_id: i64,
    pub before_image: Value,
    /// The journal row's hash of it, as stored.
    pub before_image_sha256: Option<String>,
}

/// The job's facts and artifacts.
#[async_trait]
pub trait EvidenceSources: Send + Sync {
    /// The job, or `None` when it does not exist.
    async fn job(&self, job_id: &str) -> Result<Option<JobFacts>, DomainError>;
    /// One artifact of the scope.
    fn artifact<'a>(
        &'a self,
        scope: &'a ArtifactScope,
        kind: ArtifactKind,
    ) -> Box<dyn ArtifactSource + 'a>;
    /// Up to `limit` retained before-images of the job's journal after
    /// `plan_row_id` `after`, in `plan_row_id` order.
    async fn retained_before_images(
        &self,
        job_id: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<RetainedBeforeImage>, DomainError>;
}

/// Public keys by signer key id.
#[async_trait]
pub trait Keyring: Send + Sync {
    /// The key registered for `signer_key_id`, if any.
    async fn public_key(&self, signer_key_id: &str) -> Result<Option<VerifyingKey>, DomainError>;
}
