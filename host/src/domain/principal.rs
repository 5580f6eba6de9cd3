//! Capabilities a token can be granted, and the principal holding them.

use std::collections::BTreeSet;

use super::DomainError;

/// What a token may do: the policy contract's capabilities.
pub use crate::policy::Capability;

/// The tenants a token may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// `"*"`: every tenant.
    All,
    /// Exactly these tenants.
    Only(BTreeSet<String>),
}

impl TenantScope {
    /// Builds the scope from the wire list (`"*"` means all).
    pub fn from_list(list: &[String]) -> Self {
        if list.iter().any(|t| t == "*") {
            TenantScope::All
        } else {
            TenantScope::Only(list.iter().cloned().collect())
        }
    }

    /// Whether the tenant is inside the scope.
    pub fn contains(&self, tenant_id: &str) -> bool {
        match self {
            TenantScope::All => true,
            TenantScope::Only(set) => set.contains(tenant_id),
        }
    }

    /// Whether every tenant of `other` is inside this scope.
    pub fn covers(&self, other: &TenantScope) -> bool {
        match (self, other) {
            (TenantScope::All, _) => true,
            (TenantScope::Only(_), TenantScope::All) => false,
            (TenantScope::Only(mine), TenantScope::Only(theirs)) => theirs.is_subset(mine),
        }
    }

    /// The wire list.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            TenantScope::All => vec!["*".to_owned()],
            TenantScope::Only(set) => set.iter().cloned().collect(),
        }
    }
}

/// Who is calling: the authenticated token's grants.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: String,
    pub operator_id: String,
    pub capabilities: BTreeSet<Capability>,
    pub tenants: TenantScope,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Principal {
    /// Refuses with `blocked_missing_capability` unless every capability
    /// is granted.
    pub fn require(&self, needed: &[Capability]) -> Result<(), DomainError> {
        let missing: Vec<Capability> = needed
            .iter()
            .copied()
            .filter(|c| !self.capabilities.contains(c))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(DomainError::MissingCapability {
            missing,
            details: serde_json::Map::new(),
        })
    }

    /// Refuses with `blocked_tenant_scope` when the tenant is outside the
    /// token's scope (for acting on a tenant).
    pub fn require_tenant(&self, tenant_id: &str) -> Result<(), DomainError> {
        if self.tenants.contains(tenant_id) {
            Ok(())
        } else {
            Err(DomainError::TenantOutOfScope {
                tenant_id: tenant_id.to_owned(),
            })
        }
    }

    /// Whether the caller may see a resource of this tenant; callers answer
    /// `404` when not, so another tenant's ids are never revealed.
    pub fn sees_tenant(&self, tenant_id: &str) -> bool {
        self.tenants.contains(tenant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(caps: &[Capability], tenants: &[&str]) -> Principal {
        Principal {
            token_id: "t".into(),
            operator_id: "op".into(),
            capabilities: caps.iter().copied().collect(),
            tenants: TenantScope::from_list(
                &tenants.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ),
            expires_at: None,
        }
    }

    #[test]
    fn require_lists_exactly_the_missing() {
        let p = principal(&[Capability::RestoreRead], &["acme"]);
        let err = p.require(&[
            Capability::RestoreRead,
            Capability::RestoreDelete,
            Capability::OpsAdmin,
        ]);
        match err {
            Err(DomainError::MissingCapability { missing, .. }) => {
                assert_eq!(
                    missing,
                    vec![Capability::RestoreDelete, Capability::OpsAdmin]
                )
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(p.require(&[Capability::RestoreRead]).is_ok());
    }

    #[test]
    fn tenant_scope() {
        let p = principal(&[], &["acme"]);
        assert!(p.sees_tenant("acme"));
        assert!(!p.sees_tenant("globex"));
        assert!(principal(&[], &["*"]).sees_tenant("anything"));
        assert!(TenantScope::All.covers(&TenantScope::from_list(&["a".into()])));
        assert!(!TenantScope::from_list(&["a".into()]).covers(&TenantScope::All));
    }

    #[test]
    fn capability_names_round_trip() {
        for cap in <Capability as strum::IntoEnumIterator>::iter() {
            assert_eq!(cap.as_str().parse::<Capability>().unwrap(), cap);
            assert_eq!(serde_json::to_value(cap).unwrap(), cap.as_str());
        }
    }
}
