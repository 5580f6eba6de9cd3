//! `/v1/policies`: the loaded policy plugins, and their reload.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::error::ApiResult;
use super::security::BearerAuth;
use super::ApiTags;
use crate::domain::RestoreService;
use crate::policy::{PolicyInfo, PolicyKind};

/// Policy endpoints.
pub struct PoliciesApi;

/// What a policy decides: `gate` (dry-run executability), `capability`
/// (execute and resume) or `media_caps` (attachment caps).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "PolicyKind")]
pub enum PolicyKindName {
    Gate,
    Capability,
    MediaCaps,
}

/// A loaded policy plugin.
#[derive(Debug, Object)]
pub struct PolicyBody {
    /// The plugin's name (from its metadata).
    pub name: String,
    /// What it decides.
    pub kind: PolicyKindName,
    /// The plugin's version.
    pub version: String,
    /// Hex sha256 of the wasm; decisions record it.
    pub digest: String,
    /// The settings it runs with.
    pub settings: serde_json::Value,
    /// Where it came from: `builtin:<name>` or a path.
    pub plugin: String,
    /// The trusted key that signed the plugin file (`[signatures]` of the
    /// policy file); null for builtin and unsigned plugins.
    pub signer: Option<PolicySignerBody>,
}

/// Who signed a plugin.
#[derive(Debug, Object)]
pub struct PolicySignerBody {
    /// The trusted key's name in the policy file.
    pub key_name: String,
    /// `sha256:` and the first 16 hex digits of the sha256 of its public
    /// key.
    pub fingerprint: String,
}

/// The loaded policies.
#[derive(Debug, Object)]
pub struct PolicyList {
    /// One per kind.
    pub items: Vec<PolicyBody>,
    /// Always null: the list is complete.
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
enum ListResponse {
    /// The loaded policies.
    #[oai(status = 200)]
    Ok(Json<PolicyList>),
}

fn body(list: Vec<PolicyInfo>) -> PolicyList {
    let items = list
        .into_iter()
        .map(|p| PolicyBody {
            name: p.name,
            kind: p.kind.into(),
            version: p.version,
            digest: p.digest,
            settings: p.settings,
            plugin: p.plugin,
            signer: p.signer.map(|s| PolicySignerBody {
                key_name: s.key_name,
                fingerprint: s.fingerprint,
            }),
        })
        .collect();
    PolicyList {
        items,
        next_cursor: None,
    }
}

#[OpenApi(tag = "ApiTags::Policies")]
impl PoliciesApi {
    /// List policies
    ///
    /// The loaded policy plugins with their kind, version, digest and
    /// settings. Needs `restore_read`.
    #[oai(path = "/v1/policies", method = "get", operation_id = "list_policies")]
    async fn list(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<ListResponse> {
        let principal = bearer.principal(&svc).await?;
        Ok(ListResponse::Ok(Json(body(svc.list_policies(&principal)?))))
    }

    /// Reload policies
    ///
    /// Re-reads the policy file, then compiles, validates and
    /// test-instantiates the whole new set before swapping it in. On any
    /// failure the old set keeps serving and the answer is
    /// `409 policy_reload_failed` naming the file and the reason. SIGHUP
    /// does the same. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/policies/reload",
        method = "post",
        operation_id = "reload_policies"
    )]
    async fn reload(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<ListResponse> {
        let principal = bearer.principal(&svc).await?;
        Ok(ListResponse::Ok(Json(body(
            svc.reload_policies(&principal)?,
        ))))
    }
}
