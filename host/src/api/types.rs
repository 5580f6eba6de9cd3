//! Wire types shared by several resources.

use poem_openapi::Enum;

use crate::domain::capability::Capability;

/// A capability: `restore_read` (read plans, jobs and their documents),
/// `restore_plan` (dry-runs), `restore_execute` (jobs, execute, resume),
/// `restore_delete` (plans that delete rows), `restore_override_caps`
/// (exceed media caps and other high-risk scopes), `evidence_export`,
/// `index_write` (sidecar ingestion and target set-up), `ops_admin`
/// (`/v1/admin/*` and token issuance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CapabilityName {
    RestoreRead,
    RestorePlan,
    RestoreExecute,
    RestoreDelete,
    RestoreOverrideCaps,
    EvidenceExport,
    IndexWrite,
    OpsAdmin,
}

impl From<CapabilityName> for Capability {
    fn from(name: CapabilityName) -> Self {
        match name {
            CapabilityName::RestoreRead => Capability::RestoreRead,
            CapabilityName::RestorePlan => Capability::RestorePlan,
            CapabilityName::RestoreExecute => Capability::RestoreExecute,
            CapabilityName::RestoreDelete => Capability::RestoreDelete,
            CapabilityName::RestoreOverrideCaps => Capability::RestoreOverrideCaps,
            CapabilityName::EvidenceExport => Capability::EvidenceExport,
            CapabilityName::IndexWrite => Capability::IndexWrite,
            CapabilityName::OpsAdmin => Capability::OpsAdmin,
        }
    }
}

impl From<Capability> for CapabilityName {
    fn from(cap: Capability) -> Self {
        match cap {
            Capability::RestoreRead => CapabilityName::RestoreRead,
            Capability::RestorePlan => CapabilityName::RestorePlan,
            Capability::RestoreExecute => CapabilityName::RestoreExecute,
            Capability::RestoreDelete => CapabilityName::RestoreDelete,
            Capability::RestoreOverrideCaps => CapabilityName::RestoreOverrideCaps,
            Capability::EvidenceExport => CapabilityName::EvidenceExport,
            Capability::IndexWrite => CapabilityName::IndexWrite,
            Capability::OpsAdmin => CapabilityName::OpsAdmin,
        }
    }
}
