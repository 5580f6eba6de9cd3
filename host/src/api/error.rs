//! The one place errors become HTTP responses.
//!
//! Every error body is `{reason_code, message, details?}`. Domain errors
//! are mapped with one exhaustive match; the framework's own rejections
//! (malformed JSON, a missing field, an unknown route, a wrong method, an
//! oversize body) are rewritten into the same body by [`framework_error`],
//! so a client never sees a bare string or an empty body.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use serde_json::{json, Value};

use crate::domain::{DomainError, ReasonCode};

/// The body of every error response.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ErrorBody {
    /// Stable, machine-readable reason, e.g. `plan_not_found` or `invalid_request`.
    pub reason_code: ReasonCode,
    /// Human-readable explanation; its wording may change.
    pub message: String,
    /// Structured context for the reason (for example `missing_capabilities`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl ErrorBody {
    /// A body without details.
    pub fn new(reason_code: ReasonCode, message: impl Into<String>) -> Self {
        Self {
            reason_code,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Option<Value>) -> Self {
        self.details = details;
        self
    }
}

/// Every error an operation can answer.
#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "request_rejected")]
pub enum ApiError {
    /// The request is malformed: bad JSON, a missing or mistyped field, an
    /// unknown enum value or an unacceptable value (`invalid_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No valid credentials: `auth_unauthenticated` (no, unknown or revoked
    /// token) or `auth_token_expired`.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Refused: `blocked_missing_capability` (with
    /// `details.missing_capabilities`), `blocked_tenant_scope`, or a policy
    /// refusal such as `blocked_entitlement_disabled`.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The resource does not exist for this caller (`plan_not_found`,
    /// `job_not_found`, `checkpoint_missing`, `evidence_not_found`,
    /// `token_not_found`, ...).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request conflicts with the resource's state; `reason_code` says
    /// which rule (e.g. `blocked_plan_hash_mismatch`, `job_already_terminal`).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The body is larger than the configured limit (`payload_too_large`).
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not JSON (`unsupported_media_type`): send
    /// `Content-Type: application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// The server failed (`internal_error`); nothing about the cause leaks.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is unreachable or its pool is exhausted
    /// (`database_unavailable`); retry after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        String,
    ),
}

/// `Retry-After` placeholder; the request middleware replaces it on every
/// `503` with the configured `database.retry_after_seconds`.
fn retry_after() -> String {
    "2".to_owned()
}

impl ApiError {
    /// An `invalid_request` naming what is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::BadRequest(Json(ErrorBody::new(ReasonCode::InvalidRequest, message)))
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn from_status(status: StatusCode, body: ErrorBody) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(Json(body)),
            StatusCode::FORBIDDEN => ApiError::Forbidden(Json(body)),
            StatusCode::NOT_FOUND => ApiError::NotFound(Json(body)),
            StatusCode::CONFLICT => ApiError::Conflict(Json(body)),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(Json(body)),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(Json(body)),
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(Json(body), retry_after()),
            s if s.is_server_error() => ApiError::Internal(Json(body)),
            _ => ApiError::BadRequest(Json(body)),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        match error {
            DomainError::Unauthenticated(_) => ApiError::Unauthorized(Json(ErrorBody::new(
                ReasonCode::AuthUnauthenticated,
                message,
            ))),
            DomainError::TokenExpired => {
                ApiError::Unauthorized(Json(ErrorBody::new(ReasonCode::AuthTokenExpired, message)))
            }
            DomainError::MissingCapability {
                missing,
                mut details,
            } => {
                let names: Vec<&str> = missing.iter().map(|c| c.as_str()).collect();
                details.insert("missing_capabilities".into(), json!(names));
                details
                    .entry("message")
                    .or_insert_with(|| json!(message.clone()));
                let body = ErrorBody::new(ReasonCode::BlockedMissingCapability, message)
                    .with_details(Some(Value::Object(details)));
                ApiError::Forbidden(Json(body))
            }
            DomainError::TenantOutOfScope { tenant_id } => ApiError::Forbidden(Json(
                ErrorBody::new(ReasonCode::BlockedTenantScope, message)
                    .with_details(Some(json!({ "tenant_id": tenant_id }))),
            )),
            DomainError::NotFound { reason_code, .. } => {
                ApiError::NotFound(Json(ErrorBody::new(reason_code, message)))
            }
            DomainError::Conflict {
                reason_code,
                details,
                ..
            } => ApiError::Conflict(Json(
                ErrorBody::new(reason_code, message).with_details(details),
            )),
            DomainError::Forbidden {
                reason_code,
                details,
                ..
            } => ApiError::Forbidden(Json(
                ErrorBody::new(reason_code, message).with_details(details),
            )),
            DomainError::Invalid { details, .. } => ApiError::BadRequest(Json(
                ErrorBody::new(ReasonCode::InvalidRequest, message).with_details(details),
            )),
            DomainError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable(
                    Json(ErrorBody::new(
                        ReasonCode::DatabaseUnavailable,
                        "the database is unavailable; retry later",
                    )),
                    retry_after(),
                )
            }
            DomainError::MediaStoreUnavailable(cause) => {
                tracing::warn!(%cause, "media store unavailable");
                ApiError::Unavailable(
                    Json(ErrorBody::new(
                        ReasonCode::MediaStoreUnavailable,
                        "the media store is unavailable; retry later",
                    )),
                    retry_after(),
                )
            }
            DomainError::Target(error) => target_unavailable(error),
            DomainError::Store(cause) => internal(&cause.to_string()),
            DomainError::Internal(cause) => internal(&cause),
        }
    }
}

/// The target instance cannot serve: `503` with what to retry or fix.
fn target_unavailable(error: crate::target::TargetError) -> ApiError {
    use crate::target::TargetError;
    tracing::warn!(%error, "target instance failed");
    let reason = match &error {
        TargetError::Unavailable(_) | TargetError::NoTable(_) => ReasonCode::TargetUnavailable,
        TargetError::Unauthorized(_) => ReasonCode::TargetUnauthorized,
        TargetError::Protocol(_) => ReasonCode::TargetProtocolError,
        TargetError::Refused { .. } => ReasonCode::TargetRefused,
    };
    ApiError::Unavailable(
        Json(ErrorBody::new(reason, error.to_string())),
        retry_after(),
    )
}

fn internal(cause: &str) -> ApiError {
    tracing::error!(%cause, "internal error");
    ApiError::Internal(Json(ErrorBody::new(
        ReasonCode::InternalError,
        "the server failed to handle the request",
    )))
}

/// poem-openapi's rejections of a request before the handler runs (bad
/// JSON, a missing field, a bad path or query parameter, no credentials).
fn request_rejected(error: poem::Error) -> ApiError {
    let status = error.status();
    if status == StatusCode::UNAUTHORIZED {
        return ApiError::Unauthorized(Json(ErrorBody::new(
            ReasonCode::AuthUnauthenticated,
            "an `Authorization: Bearer <token>` header is required",
        )));
    }
    let (reason, message) = describe_framework_error(status, &error.to_string());
    ApiError::from_status(status, ErrorBody::new(reason, message))
}

fn describe_framework_error(status: StatusCode, raw: &str) -> (ReasonCode, String) {
    match status {
        StatusCode::NOT_FOUND => (ReasonCode::RouteNotFound, "no such route".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            ReasonCode::MethodNotAllowed,
            "this route does not accept that method".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ReasonCode::PayloadTooLarge,
            "the request body is larger than the limit".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ReasonCode::UnsupportedMediaType,
            "send the body as application/json".to_owned(),
        ),
        StatusCode::UNAUTHORIZED => (
            ReasonCode::AuthUnauthenticated,
            "authentication required".to_owned(),
        ),
        s if s.is_server_error() => (
            ReasonCode::InternalError,
            "the server failed to handle the request".to_owned(),
        ),
        _ => (ReasonCode::InvalidRequest, raw.to_owned()),
    }
}

/// Rewrites any error that escaped the operations (unknown route, wrong
/// method, body over the limit, ...) into the JSON error body.
pub async fn framework_error(error: poem::Error) -> Response {
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(error = %error, "unhandled error");
    }
    let (reason, message) = describe_framework_error(status, &error.to_string());
    let mut response = poem_openapi::payload::Json(ErrorBody::new(reason, message)).into_response();
    response.set_status(status);
    response
}

/// Result type of every operation.
pub type ApiResult<T> = Result<T, ApiError>;
