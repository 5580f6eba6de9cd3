//! The two ways a policy can fail. At load, a [`PolicyLoadError`] refuses
//! the whole policy set with a message naming the file and the reason (the
//! service must not start, or a reload must keep the old set). Per decision,
//! a [`PolicyFailure`] is a typed denial: the caller answers
//! `reason_code = blocked_policy_error` with `details.policy_error` = the
//! kind, so a broken plugin denies only its own decisions (fail closed).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::kind::PolicyKind;
use super::signature::SignatureRefusal;

/// The reason code every [`PolicyFailure`] maps to.
pub const POLICY_ERROR_REASON_CODE: &str = "blocked_policy_error";

/// What went wrong in a decision (`details.policy_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum PolicyFailureKind {
    /// The plugin ran past its deadline (epoch interruption).
    PolicyTimeout,
    /// The plugin trapped: a panic, `unreachable`, the memory cap, a stack
    /// overflow, or it could not be instantiated.
    PolicyTrap,
    /// The plugin returned something the contract does not allow (an ABI
    /// violation or an output breaking the WIT-documented invariants).
    PolicyBadOutput,
}

impl PolicyFailureKind {
    /// `policy_timeout`, `policy_trap` or `policy_bad_output`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for PolicyFailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision the plugin failed to make: a denial with a typed reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct PolicyFailure {
    pub kind: PolicyFailureKind,
    /// For people and logs; never shown as a bare internal error.
    pub message: String,
}

impl PolicyFailure {
    pub(crate) fn new(kind: PolicyFailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn bad_output(message: impl Into<String>) -> Self {
        Self::new(PolicyFailureKind::PolicyBadOutput, message)
    }

    /// Always `blocked_policy_error`.
    pub fn reason_code(&self) -> &'static str {
        POLICY_ERROR_REASON_CODE
    }

    /// The error response's `details`: `{"policy_error": kind, "message"}`.
    pub fn details(&self) -> serde_json::Value {
        serde_json::json!({ "policy_error": self.kind, "message": self.message })
    }
}

/// Why a policy set could not be loaded; names the policy file, the kind and
/// plugin concerned (when known) and the reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("policy file {}: {}{reason}", file.display(), context(*kind, plugin.as_deref()))]
pub struct PolicyLoadError {
    /// The policy configuration file (or `<embedded default>`).
    pub file: PathBuf,
    pub kind: Option<PolicyKind>,
    /// The plugin location as configured, e.g. `builtin:gate` or a path.
    pub plugin: Option<String>,
    pub reason: String,
    /// Set when a plugin was refused for its signature (the API answers
    /// `policy_signature_rejected` with this in `details.signature`).
    pub refusal: Option<SignatureRefusal>,
}

fn context(kind: Option<PolicyKind>, plugin: Option<&str>) -> String {
    match (kind, plugin) {
        (Some(kind), Some(plugin)) => format!("[{kind}] plugin {plugin}: "),
        (Some(kind), None) => format!("[{kind}] "),
        (None, Some(plugin)) => format!("plugin {plugin}: "),
        (None, None) => String::new(),
    }
}
