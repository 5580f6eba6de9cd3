//! Reading and reloading the loaded policy set. A reload compiles,
//! validates and test-instantiates the whole new set before swapping it in;
//! on any failure the old set keeps serving and nothing is recorded. An
//! accepted reload is recorded as the next generation, which every replica
//! converges to (`policy_sync`).

use super::principal::{Capability, Principal};
use super::{DomainError, ReasonCode, RestoreService};
use crate::policy::PolicyInfo;

/// The policy set a replica serves (`GET /v1/policies`).
#[derive(Debug, Clone)]
pub struct PolicySetView {
    pub policies: Vec<PolicyInfo>,
    /// The recorded generation this replica serves; `None` until known.
    pub generation: Option<i64>,
    /// The set's digest (plugin digests and settings, shadows included).
    pub set_digest: String,
    /// Each kind's shadow candidate, when the set names one.
    pub shadows: Vec<PolicyInfo>,
}

impl RestoreService {
    fn policy_set_view(&self) -> PolicySetView {
        PolicySetView {
            policies: self.policies.list(),
            generation: self.policies.generation(),
            set_digest: self.policies.set_digest(),
            shadows: crate::policy::PolicyKind::ALL
                .into_iter()
                .filter_map(|kind| self.policies.shadow_policy(kind))
                .collect(),
        }
    }

    /// `GET /v1/policies`.
    pub fn list_policies(&self, principal: &Principal) -> Result<PolicySetView, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        Ok(self.policy_set_view())
    }

    /// `POST /v1/admin/policies/reload`: `409 policy_reload_failed` (with
    /// the loader's message) when the new set does not load, or
    /// `409 policy_signature_rejected` (with `details.signature`:
    /// `signature_missing`, `signature_untrusted` or `signature_invalid`)
    /// when a plugin's signature is refused; the old set stays and nothing
    /// is recorded. An accepted set is recorded as the next generation for
    /// the other replicas.
    pub async fn reload_policies(
        &self,
        principal: &Principal,
    ) -> Result<PolicySetView, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        self.reload_and_record(&format!("reload by {}", principal.operator_id))
            .await?;
        Ok(self.policy_set_view())
    }

    /// Reloads the policy file (API or SIGHUP) and records the accepted set.
    pub async fn reload_and_record(&self, recorded_by: &str) -> Result<i64, DomainError> {
        let _guard = self.policies.sync_guard().await;
        let registry = self.policies.clone();
        let reloaded = tokio::task::spawn_blocking(move || registry.reload())
            .await
            .map_err(|e| DomainError::Internal(format!("the policy reload did not finish: {e}")))?;
        reloaded.map_err(|error| match error.refusal {
            Some(refusal) => DomainError::Conflict {
                reason_code: ReasonCode::PolicySignatureRejected,
                message: format!(
                    "a plugin's signature was refused; the old set keeps serving: {error}"
                ),
                details: Some(serde_json::json!({
                    "error": error.to_string(),
                    "signature": refusal.as_str(),
                    "kind": error.kind.map(|k| k.as_str()),
                    "plugin": error.plugin,
                })),
            },
            None => DomainError::Conflict {
                reason_code: ReasonCode::PolicyReloadFailed,
                message: format!(
                    "the new policy set was refused; the old set keeps serving: {error}"
                ),
                details: Some(serde_json::json!({ "error": error.to_string() })),
            },
        })?;
        self.record_policy_set(recorded_by).await
    }
}
