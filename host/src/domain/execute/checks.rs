//! The checks of execute and resume that come before anything is written:
//! who the operator is and what they exercise, the capability policy and
//! the media-cap policy. Each decision is logged with the policy's digest.

use crate::domain::ReasonCode;
use std::collections::BTreeSet;

use serde_json::json;

use super::super::plan::document::PlanDocument;
use super::super::principal::{Capability, Principal};
use super::super::DomainError;
use crate::policy::{
    self, CapabilityDecision, CapabilityInput, ElevatedConfirmation, MediaCapsInput, ScopeFacts,
};
use crate::store::decisions::DecisionRow;
use crate::store::Store;

/// What the caller says it exercises.
#[derive(Debug, Clone, Default)]
pub struct Exercise {
    pub operator_id: Option<String>,
    pub operator_capabilities: Option<Vec<Capability>>,
    pub elevated_confirmation: Option<ElevatedConfirmation>,
}

/// The capabilities exercised for this call: as listed (each must be
/// granted and the operator must be the token's), or the token's own.
pub fn exercised(
    principal: &Principal,
    exercise: &Exercise,
) -> Result<Vec<Capability>, DomainError> {
    if let Some(operator) = &exercise.operator_id {
        if operator != &principal.operator_id {
            return Err(DomainError::Forbidden {
                reason_code: ReasonCode::BlockedMissingCapability,
                message: format!("operator_id {operator:?} is not the token's operator"),
                details: Some(
                    json!({"missing_capabilities": [], "requires_elevated_confirmation": false,
                    "message": "operator_id must equal the token's operator"}),
                ),
            });
        }
    }
    match &exercise.operator_capabilities {
        None => Ok(principal.capabilities.iter().copied().collect()),
        Some(listed) => {
            let not_granted: Vec<Capability> = listed
                .iter()
                .copied()
                .filter(|c| !principal.capabilities.contains(c))
                .collect();
            if !not_granted.is_empty() {
                return Err(DomainError::MissingCapability {
                    missing: not_granted,
                    details: Default::default(),
                });
            }
            Ok(listed
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect())
        }
    }
}

fn decision_row(record: &policy::DecisionRecord, job_id: &str, tenant_id: &str) -> DecisionRow {
    DecisionRow {
        decision_id: record.decision_id.to_string(),
        kind: record.kind.as_str().to_owned(),
        policy_name: record.policy_name.clone(),
        policy_version: record.policy_version.clone(),
        policy_digest: record.policy_digest.clone(),
        policy_signer: record.policy_signer.as_ref().map(|s| s.key_name.clone()),
        policy_signer_fingerprint: record.policy_signer.as_ref().map(|s| s.fingerprint.clone()),
        input_sha256: record.input_sha256.clone(),
        input: Some(record.input.clone()),
        tenant_id: Some(tenant_id.to_owned()),
        output: record.output.clone(),
        outcome: record.outcome.as_str().to_owned(),
        subject_kind: "job".to_owned(),
        subject_id: job_id.to_owned(),
        decided_at: record.decided_at,
    }
}

fn policy_failed(failure: policy::PolicyFailure) -> DomainError {
    DomainError::Forbidden {
        reason_code: ReasonCode::BlockedPolicyError,
        message: format!(
            "the policy failed and denies (fail closed): {}",
            failure.message
        ),
        details: Some(json!({"policy_error": failure.kind.as_str(), "message": failure.message})),
    }
}

/// Step 2: the capability policy over what the plan does.
pub async fn capability(
    store: &Store,
    policies: &policy::PolicyRegistry,
    job_id: &str,
    plan: &PlanDocument,
    caps: &[Capability],
    confirmation: Option<&ElevatedConfirmation>,
) -> Result<(), DomainError> {
    let s = &plan.summary;
    let input = CapabilityInput {
        // Execution writes the target: its policies judge the target.
        tenant_id: plan.target_instance().tenant_id,
        instance_id: plan.target_instance().instance_id,
        required_capabilities: vec![policy::Capability::RestoreExecute],
        exercised_capabilities: caps.to_vec(),
        scope: ScopeFacts {
            rows: (s.creates + s.updates + s.deletes) as u64,
            deletes: s.deletes as u64,
            tables: plan.tables.iter().map(|t| t.table.clone()).collect(),
        },
        elevated_confirmation: confirmation.cloned(),
    };
    let decision = policies.decide_capability(&input);
    store
        .insert_decision(&decision_row(&decision.record, job_id, &input.tenant_id))
        .await?;
    match decision.result.map_err(policy_failed)? {
        CapabilityDecision::Allow => Ok(()),
        CapabilityDecision::Deny(denial) => Err(denied(denial, None)),
    }
}

/// Step 3: the media-cap policy over the plan's media candidates.
pub async fn media_caps(
    store: &Store,
    policies: &policy::PolicyRegistry,
    job_id: &str,
    plan: &PlanDocument,
    caps: &[Capability],
    confirmation: Option<&ElevatedConfirmation>,
) -> Result<(), DomainError> {
    let input = MediaCapsInput {
        // Execution writes the target: its policies judge the target.
        tenant_id: plan.target_instance().tenant_id,
        instance_id: plan.target_instance().instance_id,
        candidate_count: plan.media_summary.count as u64,
        total_bytes: plan.media_summary.total_bytes as u64,
        exercised_capabilities: caps.to_vec(),
        elevated_confirmation: confirmation.cloned(),
    };
    let decision = policies.decide_media_caps(&input);
    store
        .insert_decision(&decision_row(&decision.record, job_id, &input.tenant_id))
        .await?;
    let output = decision.result.map_err(policy_failed)?;
    match output.decision {
        CapabilityDecision::Allow => Ok(()),
        CapabilityDecision::Deny(denial) => {
            let media = json!({
                "count": plan.media_summary.count,
                "total_bytes": plan.media_summary.total_bytes,
                "max_items": output.caps.max_items,
                "max_bytes": output.caps.max_bytes,
            });
            Err(denied(denial, Some(media)))
        }
    }
}

/// The refusal a policy's denial makes; the media-cap policy's also names
/// the `media` it judged.
fn denied(denial: policy::Denial, media: Option<serde_json::Value>) -> DomainError {
    let mut details = json!({
        "missing_capabilities": denial.missing_capabilities,
        "requires_elevated_confirmation": denial.requires_elevated_confirmation,
        "message": denial.message,
    });
    if let Some(media) = media {
        details["media"] = media;
    }
    DomainError::Forbidden {
        reason_code: ReasonCode::from(denial.reason_code),
        message: denial.message,
        details: Some(details),
    }
}

impl From<policy::DenialReason> for ReasonCode {
    fn from(reason: policy::DenialReason) -> Self {
        match reason {
            policy::DenialReason::MissingCapability => ReasonCode::BlockedMissingCapability,
        }
    }
}
