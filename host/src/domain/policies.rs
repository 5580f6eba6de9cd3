//! Reading and reloading the loaded policy set. A reload compiles,
//! validates and test-instantiates the whole new set before swapping it in;
//! on any failure the old set keeps serving.

use super::principal::{Capability, Principal};
use super::{DomainError, ReasonCode, RestoreService};
use crate::policy::PolicyInfo;

impl RestoreService {
    /// `GET /v1/policies`.
    pub fn list_policies(&self, principal: &Principal) -> Result<Vec<PolicyInfo>, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        Ok(self.policies.list())
    }

    /// `POST /v1/admin/policies/reload`: `409 policy_reload_failed` (with
    /// the loader's message) when the new set does not load, or
    /// `409 policy_signature_rejected` (with `details.signature`:
    /// `signature_missing`, `signature_untrusted` or `signature_invalid`)
    /// when a plugin's signature is refused; the old set stays.
    pub fn reload_policies(&self, principal: &Principal) -> Result<Vec<PolicyInfo>, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        self.policies.reload().map_err(|error| match error.refusal {
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
        })
    }
}
