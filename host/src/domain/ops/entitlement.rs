//! The per-tenant restore entitlement (the `entitlement_disable` drill).
//!
//! While a tenant's entitlement is disabled, dry-run, job creation, execute
//! and resume for it are refused with `403 blocked_entitlement_disabled`
//! ([`ensure_entitled`], called by each of them), and a running execution
//! pauses at its next chunk boundary with `paused_entitlement_disabled`
//! ([`is_entitled`], read by the execution loop between chunks). The state
//! lives in the database, so every replica sees a change at once; a tenant
//! never set is entitled.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::change_meta;
use super::controls::SetBy;
use crate::domain::principal::{Capability, Principal};
use crate::domain::{DomainError, ReasonCode, RestoreService};
use crate::store::ops::EntitlementRow;
use crate::store::Store;

/// A tenant's restore entitlement.
#[derive(Debug, Clone)]
pub struct Entitlement {
    pub tenant_id: String,
    pub restore_enabled: bool,
    /// Empty while it was never set (the tenant is entitled by default).
    pub set_by: SetBy,
}

impl From<EntitlementRow> for Entitlement {
    fn from(row: EntitlementRow) -> Self {
        Self {
            tenant_id: row.tenant_id,
            restore_enabled: row.restore_enabled,
            set_by: row.set_by.into(),
        }
    }
}

/// Whether the tenant may restore now: one primary-key read, cheap enough
/// for the execution loop to call between chunks.
pub async fn is_entitled(store: &Store, tenant_id: &str) -> Result<bool, DomainError> {
    Ok(store
        .tenant_entitlement(tenant_id)
        .await?
        .is_none_or(|row| row.restore_enabled))
}

/// Refuses with `403 blocked_entitlement_disabled` (details: `tenant_id`)
/// when the tenant's entitlement is disabled.
pub async fn ensure_entitled(store: &Store, tenant_id: &str) -> Result<(), DomainError> {
    if is_entitled(store, tenant_id).await? {
        return Ok(());
    }
    Err(DomainError::Forbidden {
        reason_code: ReasonCode::BlockedEntitlementDisabled,
        message: format!(
            "restores for tenant {tenant_id} are disabled by its entitlement; an operator \
             re-enables them with PUT /v1/admin/tenants/{{tenant_id}}/entitlement"
        ),
        details: Some(json!({ "tenant_id": tenant_id })),
    })
}

impl RestoreService {
    /// The tenant's entitlement (enabled when never set). The caller must see
    /// the tenant (`403 blocked_tenant_scope` otherwise).
    pub async fn tenant_entitlement(
        &self,
        principal: &Principal,
        tenant_id: &str,
    ) -> Result<Entitlement, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::OpsAdmin])?;
        principal.require_tenant(tenant_id)?;
        Ok(match store.tenant_entitlement(tenant_id).await? {
            Some(row) => row.into(),
            None => Entitlement {
                tenant_id: tenant_id.to_owned(),
                restore_enabled: true,
                set_by: SetBy::default(),
            },
        })
    }

    /// Enables or disables the tenant's restores on behalf of `actor`; audited.
    pub async fn set_tenant_entitlement(
        &self,
        principal: &Principal,
        tenant_id: &str,
        restore_enabled: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Entitlement, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::OpsAdmin])?;
        principal.require_tenant(tenant_id)?;
        let meta = change_meta(principal, actor, now);
        let changed = store
            .set_tenant_entitlement(tenant_id, restore_enabled, true, &meta)
            .await?;
        tracing::info!(tenant_id, restore_enabled, actor, operator_id = %principal.operator_id,
        "tenant entitlement set");
        Ok(changed.current.into())
    }
}
