//! The domain's error: every refusal the service can give, named by what
//! happened rather than by an HTTP status. `api::error` maps each variant
//! once, exhaustively, to a status and the stable `reason_code`.

use serde_json::Value;

use super::principal::Capability;
use super::reason::ReasonCode;
use crate::store::StoreError;

/// A refusal or failure of a domain operation.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// No credentials, or an unknown or revoked token.
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    /// The token's `expires_at` has passed.
    #[error("the token expired")]
    TokenExpired,
    /// The principal lacks capabilities this call exercises.
    #[error("missing capabilities: {}", Capability::join(missing))]
    MissingCapability {
        missing: Vec<Capability>,
        details: serde_json::Map<String, Value>,
    },
    /// The principal may not act on this tenant.
    #[error("tenant {tenant_id} is outside this token's scope")]
    TenantOutOfScope { tenant_id: String },
    /// Something the caller named does not exist (for this caller).
    #[error("{message}")]
    NotFound {
        reason_code: ReasonCode,
        message: String,
    },
    /// The request conflicts with the state of a resource.
    #[error("{message}")]
    Conflict {
        reason_code: ReasonCode,
        message: String,
        details: Option<Value>,
    },
    /// A policy or rule forbids the request.
    #[error("{message}")]
    Forbidden {
        reason_code: ReasonCode,
        message: String,
        details: Option<Value>,
    },
    /// The request is well-formed JSON but its values are not acceptable.
    #[error("{message}")]
    Invalid {
        message: String,
        details: Option<Value>,
    },
    /// The database cannot serve now (unreachable, pool exhausted, busy
    /// past the timeout): retry later, nothing was half-written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The media store cannot store or read blobs now (unreachable bucket,
    /// refused credentials, full disk): retry later, nothing was recorded.
    #[error("media store unavailable: {0}")]
    MediaStoreUnavailable(String),
    /// The target instance failed (unreachable, refusing the service's
    /// credentials, answering nonsense).
    #[error(transparent)]
    Target(#[from] crate::target::TargetError),
    /// Storage failed otherwise.
    #[error(transparent)]
    Store(StoreError),
    /// An invariant broke; a bug, never the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// A `404` for an unknown or out-of-scope resource.
    pub fn not_found(reason_code: ReasonCode, message: impl Into<String>) -> Self {
        Self::NotFound {
            reason_code,
            message: message.into(),
        }
    }

    /// A `409` with a reason code and no details.
    pub fn conflict(reason_code: ReasonCode, message: impl Into<String>) -> Self {
        Self::Conflict {
            reason_code,
            message: message.into(),
            details: None,
        }
    }

    /// A `400 invalid_request` naming what is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
            details: None,
        }
    }
}

/// Reads back a name the service stored (a status, an event type); one it
/// does not know is corrupt data, never the caller's fault.
pub fn parse_stored<T: std::str::FromStr>(kind: &str, name: &str) -> Result<T, DomainError> {
    name.parse()
        .map_err(|_| DomainError::Internal(format!("unknown stored {kind} {name:?}")))
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => DomainError::Unavailable(cause),
            other => DomainError::Store(other),
        }
    }
}
