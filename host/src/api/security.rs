//! The bearer-token security scheme: every `/v1` operation resolves its
//! token to a principal first; the domain call then checks capabilities
//! and tenant scope.

use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::error::ApiResult;
use crate::domain::principal::Principal;
use crate::domain::RestoreService;

/// `Authorization: Bearer <token>`. Tokens are issued by
/// `POST /v1/auth/tokens`; the bootstrap admin token is printed once at
/// first start (or configured with `RRS_AUTH_BOOTSTRAP_TOKEN`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "opaque")]
pub struct BearerAuth(pub Bearer);

impl BearerAuth {
    /// The principal the token belongs to (`401` for a bad token).
    pub async fn principal(&self, service: &RestoreService) -> ApiResult<Principal> {
        Ok(service.authenticate(&self.0.token).await?)
    }
}
