//! `/v1/auth`: issuing, inspecting and revoking bearer tokens.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;

use super::body::JsonBody;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::error::ApiResult;
use super::security::BearerAuth;
use super::types::{CapabilityName, Timestamp};
use super::ApiTags;
use crate::domain::auth::{TokenRequest, MAX_TTL_SECONDS};
use crate::domain::principal::Capability;
use crate::domain::RestoreService;

/// Token endpoints.
pub struct AuthApi;

/// A token to issue.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// The operator the token acts as; execute and resume bodies must name it.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub operator_id: String,
    /// Capabilities granted; each must be held by the issuing token.
    pub capabilities: Vec<CapabilityName>,
    /// Tenants the token may touch (`"*"` for all); must lie within the
    /// issuer's own tenants.
    #[oai(validator(
        min_items = 1,
        max_items = 1000,
        min_length = 1,
        max_length = 200,
        pattern = r"\S"
    ))]
    pub tenants: Vec<String>,
    /// Lifetime in seconds; without it the token never expires.
    #[oai(validator(minimum(value = "1"), maximum(value = "31622400")))]
    pub ttl_seconds: Option<i64>,
}

/// A newly issued token. `token` is shown only here; the service keeps
/// only its hash.
#[derive(Debug, Object)]
pub struct IssuedTokenBody {
    /// The secret to send as `Authorization: Bearer <token>`.
    pub token: String,
    /// The token's id, for revocation.
    pub token_id: String,
    /// When the token stops working; null when it has no TTL.
    pub expires_at: Option<Timestamp>,
}

/// Who the presented token is.
#[derive(Debug, Object)]
pub struct WhoAmI {
    /// The token's id.
    pub token_id: String,
    /// The operator it acts as.
    pub operator_id: String,
    /// Capabilities it holds.
    pub capabilities: Vec<CapabilityName>,
    /// Tenants it may touch (`"*"` for all).
    pub tenants: Vec<String>,
    /// When it expires; null for never.
    pub expires_at: Option<Timestamp>,
}

#[derive(ApiResponse)]
enum CreateTokenResponse {
    /// The token was issued.
    #[oai(status = 201)]
    Created(Json<IssuedTokenBody>),
}

#[derive(ApiResponse)]
enum WhoAmIResponse {
    /// The calling token's grants.
    #[oai(status = 200)]
    Ok(Json<WhoAmI>),
}

#[derive(ApiResponse)]
enum RevokeTokenResponse {
    /// The token was revoked; it no longer authenticates.
    #[oai(status = 204)]
    Revoked,
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Issue a token
    ///
    /// Issues a bearer token for an operator with the given capabilities,
    /// tenants and optional TTL. Needs `ops_admin`; a token can only grant
    /// what the issuing token holds.
    #[oai(
        path = "/v1/auth/tokens",
        method = "post",
        operation_id = "create_token"
    )]
    async fn create_token(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<CreateTokenRequest>,
    ) -> ApiResult<CreateTokenResponse> {
        let issuer = bearer.principal(&svc).await?;
        let body = body.0;
        let request = TokenRequest {
            operator_id: body.operator_id,
            capabilities: body
                .capabilities
                .into_iter()
                .map(Capability::from)
                .collect(),
            tenants: body.tenants,
            ttl_seconds: body.ttl_seconds.map(|ttl| ttl.min(MAX_TTL_SECONDS)),
        };
        let issued = svc.issue_token(&issuer, request, Utc::now()).await?;
        Ok(CreateTokenResponse::Created(Json(IssuedTokenBody {
            token: issued.token,
            token_id: issued.token_id,
            expires_at: issued.expires_at.map(Timestamp),
        })))
    }

    /// Revoke a token
    ///
    /// Revokes a token at once; later calls with it answer
    /// `401 auth_unauthenticated`. Needs `ops_admin`. Unknown or already
    /// revoked ids answer `404 token_not_found`.
    #[oai(
        path = "/v1/auth/tokens/:token_id",
        method = "delete",
        operation_id = "revoke_token"
    )]
    async fn revoke_token(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The `token_id` returned when the token was issued.
        token_id: Path<String>,
    ) -> ApiResult<RevokeTokenResponse> {
        let issuer = bearer.principal(&svc).await?;
        svc.revoke_token(&issuer, &token_id.0, Utc::now()).await?;
        Ok(RevokeTokenResponse::Revoked)
    }

    /// Describe the calling token
    ///
    /// Returns the operator, capabilities, tenants and expiry of the
    /// presented token. Any valid token may call it.
    #[oai(path = "/v1/auth/whoami", method = "get", operation_id = "who_am_i")]
    async fn who_am_i(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<WhoAmIResponse> {
        let principal = bearer.principal(&svc).await?;
        Ok(WhoAmIResponse::Ok(Json(WhoAmI {
            token_id: principal.token_id,
            operator_id: principal.operator_id,
            capabilities: principal
                .capabilities
                .into_iter()
                .map(CapabilityName::from)
                .collect(),
            tenants: principal.tenants.to_list(),
            expires_at: principal.expires_at.map(Timestamp),
        })))
    }
}
