//! The bearer-token security scheme and the guard every `/v1` operation
//! calls first: resolve the token to a principal, then check capabilities.

use chrono::Utc;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::error::ApiResult;
use super::state::AppState;
use crate::domain::auth;
use crate::domain::capability::{Capability, Principal};

/// `Authorization: Bearer <token>`. Tokens are issued by
/// `POST /v1/auth/tokens`; the bootstrap admin token is printed once at
/// first start (or configured with `RRS_AUTH_BOOTSTRAP_TOKEN`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "opaque")]
pub struct BearerAuth(pub Bearer);

/// Authenticates the call and checks that every capability is granted.
pub async fn authorize(
    state: &AppState,
    bearer: &BearerAuth,
    needed: &[Capability],
) -> ApiResult<Principal> {
    let principal = auth::authenticate(&state.store, &bearer.0.token, Utc::now()).await?;
    principal.require(needed)?;
    Ok(principal)
}
