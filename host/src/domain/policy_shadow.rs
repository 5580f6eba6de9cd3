//! Shadow evaluation as the service keeps it: the disagreements the policy
//! host's shadow worker reports are recorded (`policy_shadow_disagreements`)
//! by one background task, off every request, and read back as per-kind
//! counts and the most recent ones (`GET /v1/policies/shadow`).

use chrono::{DateTime, Utc};

use super::error::parse_stored;
use super::principal::{Capability, Principal, TenantScope};
use super::{DomainError, RestoreService};
use crate::policy::{DecisionOutcome, PolicyKind, PolicyRef, ShadowDisagreement};
use crate::store::policy_sets::DisagreementRow;

/// One side of a recorded disagreement.
#[derive(Debug, Clone)]
pub struct SideView {
    pub policy: PolicyRef,
    pub outcome: DecisionOutcome,
    pub output: serde_json::Value,
}

/// A recorded disagreement.
#[derive(Debug, Clone)]
pub struct DisagreementView {
    pub decision_id: String,
    pub kind: PolicyKind,
    pub live: SideView,
    pub candidate: SideView,
    pub decided_at: DateTime<Utc>,
}

/// `GET /v1/policies/shadow`.
#[derive(Debug, Clone)]
pub struct ShadowSummary {
    /// Every kind with its recorded disagreements (0 included) and its
    /// current candidate, if any.
    pub kinds: Vec<(PolicyKind, i64, Option<PolicyRef>)>,
    /// The most recent disagreements, newest first.
    pub recent: Vec<DisagreementView>,
}

impl RestoreService {
    /// Records the shadow worker's disagreements until aborted.
    pub(super) fn spawn_shadow_recorder(&self) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let Some(mut reports) = service.policies.take_shadow_disagreements() else {
                return;
            };
            while let Some(report) = reports.recv().await {
                let row = disagreement_row(report);
                if let Err(error) = service.store.insert_disagreement(&row).await {
                    tracing::warn!(%error, decision_id = %row.decision_id,
                        "cannot record a shadow disagreement");
                }
            }
        })
    }

    /// Per-kind disagreement counts and the latest `recent` ones; needs
    /// `restore_read` (like the policy list), scoped to the token's tenants.
    pub async fn shadow_summary(
        &self,
        principal: &Principal,
        recent: u32,
    ) -> Result<ShadowSummary, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let tenants = match &principal.tenants {
            TenantScope::All => None,
            TenantScope::Only(set) => Some(set.iter().cloned().collect::<Vec<_>>()),
        };
        let counts = self.store.disagreement_counts(tenants.as_deref()).await?;
        let kinds = PolicyKind::ALL
            .into_iter()
            .map(|kind| {
                let count = counts
                    .iter()
                    .find(|c| c.kind == kind.as_str())
                    .map_or(0, |c| c.disagreements);
                let candidate = self.policies.shadow_policy(kind).map(|p| PolicyRef {
                    name: p.name,
                    version: p.version,
                    digest: p.digest,
                });
                (kind, count, candidate)
            })
            .collect();
        let recent = self
            .store
            .recent_disagreements(tenants.as_deref(), u64::from(recent))
            .await?
            .into_iter()
            .map(disagreement_view)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ShadowSummary { kinds, recent })
    }
}

fn disagreement_row(report: ShadowDisagreement) -> DisagreementRow {
    let tenant_id = serde_json::from_str::<serde_json::Value>(&report.input)
        .ok()
        .and_then(|input| {
            input
                .get("tenant_id")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        });
    DisagreementRow {
        seq: 0,
        decision_id: report.decision_id.to_string(),
        kind: report.kind.as_str().to_owned(),
        tenant_id,
        live_digest: report.live.policy.digest,
        live_outcome: report.live.outcome.as_str().to_owned(),
        live_output: report.live.output,
        candidate_name: report.candidate.policy.name,
        candidate_version: report.candidate.policy.version,
        candidate_digest: report.candidate.policy.digest,
        candidate_outcome: report.candidate.outcome.as_str().to_owned(),
        candidate_output: report.candidate.output,
        decided_at: report.decided_at,
    }
}

fn disagreement_view(row: DisagreementRow) -> Result<DisagreementView, DomainError> {
    Ok(DisagreementView {
        decision_id: row.decision_id,
        kind: parse_stored("policy kind", &row.kind)?,
        live: SideView {
            policy: PolicyRef {
                name: String::new(),
                version: String::new(),
                digest: row.live_digest,
            },
            outcome: parse_stored("decision outcome", &row.live_outcome)?,
            output: row.live_output,
        },
        candidate: SideView {
            policy: PolicyRef {
                name: row.candidate_name,
                version: row.candidate_version,
                digest: row.candidate_digest,
            },
            outcome: parse_stored("decision outcome", &row.candidate_outcome)?,
            output: row.candidate_output,
        },
        decided_at: row.decided_at,
    })
}
