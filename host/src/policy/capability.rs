//! The capability decision's public input and output (plain serde structs
//! built by the execution domain), the types it shares with the media caps
//! decision (capabilities, elevated confirmation, allow/deny), their WIT
//! conversions, and the host-side check of the `denial` invariants.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoStaticStr};

use super::bindings::capability_wit;
use super::failure::PolicyFailure;

/// An operator capability: what a token may do, and what the capability
/// and media-cap plugins reason about. The domain authorises with this
/// same type, so a token's grants and a plugin's input never disagree.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Display,
    EnumIter,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Capability {
    RestoreRead,
    RestorePlan,
    RestoreExecute,
    RestoreDelete,
    RestoreOverrideCaps,
    EvidenceExport,
    IndexWrite,
    OpsAdmin,
}

impl Capability {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Comma-separated wire names, for messages.
    pub fn join(caps: &[Capability]) -> String {
        caps.iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What the operator sent to confirm a high-risk action, as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElevatedConfirmation {
    pub confirmed: bool,
    #[serde(default)]
    pub confirmation: String,
    #[serde(default)]
    pub reason: String,
}

/// The size of what an execute or resume call writes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScopeFacts {
    pub rows: u64,
    pub deletes: u64,
    #[serde(default)]
    pub tables: Vec<String>,
}

/// What an execute or resume call exercises. The expected confirmation
/// string (`<tenant_id>/<instance_id>`) is derived by the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityInput {
    pub tenant_id: String,
    pub instance_id: String,
    /// What every such call needs regardless of scope (e.g. `restore_execute`).
    #[serde(default)]
    pub required_capabilities: Vec<Capability>,
    pub exercised_capabilities: Vec<Capability>,
    pub scope: ScopeFacts,
    #[serde(default)]
    pub elevated_confirmation: Option<ElevatedConfirmation>,
}

/// The reason code of a denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DenialReason {
    #[serde(rename = "blocked_missing_capability")]
    MissingCapability,
}

impl DenialReason {
    /// The contract's reason code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingCapability => "blocked_missing_capability",
        }
    }
}

/// A denial: `403` with this reason code and `details` =
/// `{missing_capabilities, requires_elevated_confirmation, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    pub reason_code: DenialReason,
    /// Sorted, without duplicates.
    pub missing_capabilities: Vec<Capability>,
    pub requires_elevated_confirmation: bool,
    pub message: String,
}

/// Allow, or deny with the reason. JSON: `{"decision": "allow"}` or
/// `{"decision": "deny", "reason_code": ..., ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum CapabilityDecision {
    Allow,
    Deny(Denial),
}

impl CapabilityDecision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow)
    }
}

/// Conversions of the types the capability and media caps worlds share;
/// each world has its own generated copy of them.
macro_rules! shared_conversions {
    ($module:ident, $($wit:ident)::+) => {
        pub(crate) mod $module {
            use $($wit)::+ as wit;
            use super::*;

pub(crate) fn capability_to_wit(c: Capability) -> wit::Capability {
                match c {
                    Capability::RestoreRead => wit::Capability::RestoreRead,
                    Capability::RestorePlan => wit::Capability::RestorePlan,
                    Capability::RestoreExecute => wit::Capability::RestoreExecute,
                    Capability::RestoreDelete => wit::Capability::RestoreDelete,
                    Capability::RestoreOverrideCaps => wit::Capability::RestoreOverrideCaps,
                    Capability::EvidenceExport => wit::Capability::EvidenceExport,
                    Capability::IndexWrite => wit::Capability::IndexWrite,
                    Capability::OpsAdmin => wit::Capability::OpsAdmin,
                }
            }

            fn capability_from_wit(c: wit::Capability) -> Capability {
                match c {
                    wit::Capability::RestoreRead => Capability::RestoreRead,
                    wit::Capability::RestorePlan => Capability::RestorePlan,
                    wit::Capability::RestoreExecute => Capability::RestoreExecute,
                    wit::Capability::RestoreDelete => Capability::RestoreDelete,
                    wit::Capability::RestoreOverrideCaps => Capability::RestoreOverrideCaps,
                    wit::Capability::EvidenceExport => Capability::EvidenceExport,
                    wit::Capability::IndexWrite => Capability::IndexWrite,
                    wit::Capability::OpsAdmin => Capability::OpsAdmin,
                }
            }

            pub(crate) fn capabilities_to_wit(caps: &[Capability]) -> Vec<wit::Capability> {
                caps.iter().copied().map(capability_to_wit).collect()
            }

            pub(crate) fn confirmation_to_wit(
                c: Option<&ElevatedConfirmation>,
            ) -> Option<wit::ElevatedConfirmation> {
                c.map(|c| wit::ElevatedConfirmation {
                    confirmed: c.confirmed,
                    confirmation: c.confirmation.clone(),
                    reason: c.reason.clone(),
                })
            }

            /// Converts a decision and checks the `denial` invariants: a denial names a
            /// missing capability or requires elevated confirmation, and never names a
            /// capability the operator exercises.
            pub(crate) fn decision_from_wit(
                exercised: &[Capability],
                decision: wit::CapabilityDecision,
            ) -> Result<CapabilityDecision, PolicyFailure> {
                let denial = match decision {
                    wit::CapabilityDecision::Allow => return Ok(CapabilityDecision::Allow),
                    wit::CapabilityDecision::Deny(denial) => denial,
                };
                let mut missing: Vec<Capability> =
                    denial.missing_capabilities.into_iter().map(capability_from_wit).collect();
                missing.sort();
                missing.dedup();
                if missing.is_empty() && !denial.requires_elevated_confirmation {
                    return Err(PolicyFailure::bad_output(
                        "a denial names no missing capability and does not require elevated confirmation",
                    ));
                }
                if let Some(held) = missing.iter().find(|c| exercised.contains(c)) {
                    return Err(PolicyFailure::bad_output(format!(
                        "a denial names {held:?} as missing, but the operator exercises it"
                    )));
                }
                Ok(CapabilityDecision::Deny(Denial {
                    reason_code: match denial.reason_code {
                        wit::DenialReason::MissingCapability => DenialReason::MissingCapability,
                    },
                    missing_capabilities: missing,
                    requires_elevated_confirmation: denial.requires_elevated_confirmation,
                    message: denial.message,
                }))
            }
        }
    };
}

shared_conversions!(for_capability, crate::policy::bindings::capability_wit);
shared_conversions!(for_media_caps, crate::policy::bindings::media_caps_wit);

/// `<tenant_id>/<instance_id>`: what a valid elevated confirmation carries.
pub(crate) fn expected_confirmation(tenant_id: &str, instance_id: &str) -> String {
    format!("{tenant_id}/{instance_id}")
}

pub(crate) fn to_wit(input: &CapabilityInput) -> capability_wit::CapabilityInput {
    use capability_wit as wit;
    use for_capability::{capabilities_to_wit, confirmation_to_wit};
    wit::CapabilityInput {
        tenant_id: input.tenant_id.clone(),
        instance_id: input.instance_id.clone(),
        required_capabilities: capabilities_to_wit(&input.required_capabilities),
        exercised_capabilities: capabilities_to_wit(&input.exercised_capabilities),
        scope: wit::ScopeFacts {
            rows: input.scope.rows,
            deletes: input.scope.deletes,
            tables: input.scope.tables.clone(),
        },
        elevated_confirmation: confirmation_to_wit(input.elevated_confirmation.as_ref()),
        expected_confirmation: expected_confirmation(&input.tenant_id, &input.instance_id),
    }
}
