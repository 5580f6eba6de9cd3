//! `/v1/policies`: the loaded policy plugins, and their reload.

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::error::ApiResult;
use super::paging;
pub use super::policy_log_types::PolicyKindName;
use super::policy_log_types::{DecisionBody, DecisionOutcomeName, DecisionPage, ShadowReport};
use super::security::BearerAuth;
use super::types::Timestamp;
use super::ApiTags;
use crate::domain::policies::PolicySetView;
use crate::domain::policy_log::DecisionQuery;
use crate::domain::RestoreService;
use crate::policy::PolicyInfo;

/// Policy endpoints.
pub struct PoliciesApi;

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
    /// The recorded generation of this set: every replica converges to the
    /// latest one within `policies.sync_interval_ms`. Null until this
    /// replica knows it.
    pub generation: Option<i64>,
    /// sha256 over each kind's plugin digest and settings (shadows
    /// included): equal on replicas serving the same set.
    pub set_digest: String,
    /// Shadow candidates: decide beside the live plugin of their kind,
    /// never enforced (`GET /v1/policies/shadow`).
    pub shadows: Vec<PolicyBody>,
}

#[derive(ApiResponse)]
enum ListResponse {
    /// The loaded policies.
    #[oai(status = 200)]
    Ok(Json<PolicyList>),
}

fn policy_body(p: PolicyInfo) -> PolicyBody {
    PolicyBody {
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
    }
}

fn body(view: PolicySetView) -> PolicyList {
    PolicyList {
        items: view.policies.into_iter().map(policy_body).collect(),
        next_cursor: None,
        generation: view.generation,
        set_digest: view.set_digest,
        shadows: view.shadows.into_iter().map(policy_body).collect(),
    }
}

#[derive(ApiResponse)]
enum DecisionsResponse {
    /// A page of the decision log.
    #[oai(status = 200)]
    Ok(Json<DecisionPage>),
}

#[derive(ApiResponse)]
enum ShadowResponse {
    /// Shadow evaluation per kind.
    #[oai(status = 200)]
    Ok(Json<ShadowReport>),
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
    /// failure the old set keeps serving, nothing is recorded, and the
    /// answer is `409 policy_reload_failed` naming the file and the reason.
    /// An accepted set is recorded as the next `generation`, which every
    /// replica on the database converges to. SIGHUP does the same. Needs
    /// `ops_admin`.
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
            svc.reload_policies(&principal).await?,
        ))))
    }

    /// List policy decisions
    ///
    /// The decision log: every gate, capability and media-caps decision
    /// with the input it decided on, its outcome and reason codes, and the
    /// digest of the plugin that decided. Oldest first, paged with `limit`
    /// and `cursor`, filtered by `kind`, `outcome`, `since` (inclusive),
    /// `until` (exclusive; a range ending before it starts matches
    /// nothing), and `plan_id` and/or `job_id` (both: the decisions about
    /// either, such as a job's and its plan's gate). A token
    /// scoped to tenants sees only its tenants' decisions. Needs
    /// `restore_read`.
    #[oai(
        path = "/v1/policies/decisions",
        method = "get",
        operation_id = "list_policy_decisions"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn decisions(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Only decisions of this kind.
        kind: Query<Option<PolicyKindName>>,
        /// Only decisions with this outcome.
        outcome: Query<Option<DecisionOutcomeName>>,
        /// Only decisions made at or after this time (RFC 3339).
        since: Query<Option<Timestamp>>,
        /// Only decisions made before this time (RFC 3339).
        until: Query<Option<Timestamp>>,
        /// Only the gate decision of this plan.
        #[oai(validator(min_length = 1, max_length = 256))]
        plan_id: Query<Option<String>>,
        /// Only the decisions authorising this job.
        #[oai(validator(min_length = 1, max_length = 256))]
        job_id: Query<Option<String>>,
        /// Page size (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page. Positions in the log are
        /// decimal, so the schema names every cursor the service can issue.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<DecisionsResponse> {
        let principal = bearer.principal(&svc).await?;
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_LIMIT);
        let query = DecisionQuery {
            kind: kind.0.map(Into::into),
            outcome: outcome.0.map(Into::into),
            since: since.0.map(Into::into),
            until: until.0.map(Into::into),
            plan_id: plan_id.0,
            job_id: job_id.0,
        };
        let rows = svc.policy_decisions(&principal, &query, page).await?;
        Ok(DecisionsResponse::Ok(Json(DecisionPage {
            next_cursor: paging::cursor(rows.next_after),
            items: rows.items.into_iter().map(DecisionBody::from).collect(),
        })))
    }

    /// Shadow evaluation
    ///
    /// A policy file may name a shadow candidate beside a kind's live
    /// plugin (`shadow = { plugin, sha256 }`). The candidate decides every
    /// input of its kind after the live decision, off the request path, and
    /// is never enforced. This lists, per kind, how many times a candidate
    /// disagreed (another outcome or other reason codes, a failure
    /// included) and the `recent` latest disagreements (default 20, at most
    /// 100), both across replicas and within the token's tenants. Needs
    /// `restore_read`.
    #[oai(
        path = "/v1/policies/shadow",
        method = "get",
        operation_id = "get_policy_shadow"
    )]
    async fn shadow(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// How many of the latest disagreements to list (default 20).
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))]
        recent: Query<Option<u32>>,
    ) -> ApiResult<ShadowResponse> {
        let principal = bearer.principal(&svc).await?;
        let summary = svc
            .shadow_summary(&principal, recent.0.unwrap_or(20))
            .await?;
        Ok(ShadowResponse::Ok(Json(summary.into())))
    }
}
