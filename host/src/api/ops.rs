//! `/v1/admin/ops` and `/v1/admin/tenants`: the switches operators record
//! on the way to GA (staging mode, runbook sign-off, failure drills), the
//! tenant restore entitlement, and the audit trail of every change. All
//! `ops_admin`. The SLO and GA read-outs are in `ops_status`.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::body::JsonBody;
use super::error::ApiResult;
use super::ops_types::{
    FailureDrillRequest, FailureDrillState, FailureDrills, OpsAuditEntry, OpsAuditKind,
    OpsAuditPage, RunbooksSignoffRequest, RunbooksSignoffState, StagingModeRequest,
    StagingModeState, TenantEntitlementRequest, TenantEntitlementState,
};
use super::paging;
use super::security::BearerAuth;
use super::ApiTags;
use crate::domain::ops::controls::{AuditFilter, Switch};
use crate::domain::RestoreService;

/// Operations control endpoints.
pub struct OpsApi;

#[derive(ApiResponse)]
enum StagingModeResponse {
    /// The stored staging mode.
    #[oai(status = 200)]
    Ok(Json<StagingModeState>),
}

#[derive(ApiResponse)]
enum SignoffResponse {
    /// The stored runbook sign-off.
    #[oai(status = 200)]
    Ok(Json<RunbooksSignoffState>),
}

#[derive(ApiResponse)]
enum DrillResponse {
    /// The drill's stored outcome.
    #[oai(status = 200)]
    Ok(Json<FailureDrillState>),
}

#[derive(ApiResponse)]
enum DrillsResponse {
    /// Every drill with its latest outcome.
    #[oai(status = 200)]
    Ok(Json<FailureDrills>),
}

#[derive(ApiResponse)]
enum EntitlementResponse {
    /// The tenant's stored entitlement.
    #[oai(status = 200)]
    Ok(Json<TenantEntitlementState>),
}

#[derive(ApiResponse)]
enum AuditResponse {
    /// A page of the audit trail, oldest first.
    #[oai(status = 200)]
    Ok(Json<OpsAuditPage>),
}

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Read staging mode
    ///
    /// Whether staging mode (GA-targeted validation) is on, and who set it
    /// when. Off until first set. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/staging-mode",
        method = "get",
        operation_id = "get_staging_mode"
    )]
    async fn get_staging_mode(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<StagingModeResponse> {
        let principal = bearer.principal(&svc).await?;
        let stored = svc.switch(&principal, Switch::StagingMode).await?;
        Ok(StagingModeResponse::Ok(Json(StagingModeState::from(
            stored,
        ))))
    }

    /// Set staging mode
    ///
    /// Turns staging mode on or off on behalf of `actor` and returns the
    /// stored state. The change is kept in the audit trail
    /// (`kind = staging_mode`), also when it sets the value it already had.
    /// Staging mode on is one condition of the GA readiness gate. Needs
    /// `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/staging-mode",
        method = "post",
        operation_id = "set_staging_mode"
    )]
    async fn set_staging_mode(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<StagingModeRequest>,
    ) -> ApiResult<StagingModeResponse> {
        let principal = bearer.principal(&svc).await?;
        let body = body.0;
        let stored = svc
            .set_switch(
                &principal,
                Switch::StagingMode,
                body.enabled,
                &body.actor,
                Utc::now(),
            )
            .await?;
        Ok(StagingModeResponse::Ok(Json(StagingModeState::from(
            stored,
        ))))
    }

    /// Read the runbook sign-off
    ///
    /// Whether the runbooks are signed off, and who signed when. Not signed
    /// off until first set. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/runbooks-signoff",
        method = "get",
        operation_id = "get_runbooks_signoff"
    )]
    async fn get_runbooks_signoff(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<SignoffResponse> {
        let principal = bearer.principal(&svc).await?;
        let stored = svc.switch(&principal, Switch::RunbooksSignoff).await?;
        Ok(SignoffResponse::Ok(Json(RunbooksSignoffState::from(
            stored,
        ))))
    }

    /// Record the runbook sign-off
    ///
    /// Signs the runbooks off (or withdraws the sign-off) on behalf of
    /// `actor` and returns the stored state; kept in the audit trail
    /// (`kind = runbooks_signoff`). Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/runbooks-signoff",
        method = "post",
        operation_id = "set_runbooks_signoff"
    )]
    async fn set_runbooks_signoff(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<RunbooksSignoffRequest>,
    ) -> ApiResult<SignoffResponse> {
        let principal = bearer.principal(&svc).await?;
        let body = body.0;
        let stored = svc
            .set_switch(
                &principal,
                Switch::RunbooksSignoff,
                body.signed_off,
                &body.actor,
                Utc::now(),
            )
            .await?;
        Ok(SignoffResponse::Ok(Json(RunbooksSignoffState::from(
            stored,
        ))))
    }

    /// List failure drills
    ///
    /// The six failure drills with their latest recorded outcome (`pending`
    /// until first recorded), in contract order. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/failure-drills",
        method = "get",
        operation_id = "list_failure_drills"
    )]
    async fn list_failure_drills(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<DrillsResponse> {
        let principal = bearer.principal(&svc).await?;
        let drills = svc.failure_drills(&principal).await?;
        Ok(DrillsResponse::Ok(Json(FailureDrills {
            drills: drills.into_iter().map(FailureDrillState::from).collect(),
        })))
    }

    /// Record a failure drill outcome
    ///
    /// Stores the drill's latest outcome (`pass`, `fail` or `pending`) with
    /// optional notes on behalf of `actor` and returns it; kept in the audit
    /// trail (`kind = failure_drill`, `subject` = the drill id). An unknown
    /// `drill_id` or `status` is `400 invalid_request` naming the allowed
    /// values. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/failure-drills",
        method = "post",
        operation_id = "record_failure_drill"
    )]
    async fn record_failure_drill(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<FailureDrillRequest>,
    ) -> ApiResult<DrillResponse> {
        let principal = bearer.principal(&svc).await?;
        let body = body.0;
        let stored = svc
            .record_drill(
                &principal,
                (body.drill_id.into(), body.status.into()),
                body.notes.as_deref(),
                &body.actor,
                Utc::now(),
            )
            .await?;
        Ok(DrillResponse::Ok(Json(FailureDrillState::from(stored))))
    }

    /// List the operations audit trail
    ///
    /// Every change made through the operations endpoints (staging mode,
    /// runbook sign-off, failure drills, tenant entitlements): who (`actor`
    /// and the token's `operator_id`), when, and the state before and after.
    /// Oldest first, paged with `limit` and `cursor`, optionally filtered by
    /// `kind` and `subject`. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/ops/audit",
        method = "get",
        operation_id = "list_ops_audit"
    )]
    async fn list_ops_audit(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Only changes of this kind.
        kind: Query<Option<OpsAuditKind>>,
        /// Only changes of this subject: a drill id, a tenant id, or
        /// `staging_mode` / `runbooks_signoff`.
        #[oai(validator(min_length = 1, max_length = 256))]
        subject: Query<Option<String>>,
        /// Page size (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page. Positions in the trail are
        /// decimal, so the schema names every cursor the service can issue.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<AuditResponse> {
        let principal = bearer.principal(&svc).await?;
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_LIMIT);
        let filter = AuditFilter {
            kind: kind.0.map(|k| k.as_str().to_owned()),
            subject: subject.0,
        };
        let rows = svc.ops_audit(&principal, &filter, page).await?;
        Ok(AuditResponse::Ok(Json(OpsAuditPage {
            next_cursor: paging::cursor(rows.next_after),
            items: rows.items.into_iter().map(OpsAuditEntry::from).collect(),
        })))
    }

    /// Read a tenant's restore entitlement
    ///
    /// Whether the tenant may restore (`restore_enabled`); a tenant never
    /// set is entitled. Needs `ops_admin` and the tenant in the token's
    /// scope (`403 blocked_tenant_scope`).
    #[oai(
        path = "/v1/admin/tenants/:tenant_id/entitlement",
        method = "get",
        operation_id = "get_tenant_entitlement"
    )]
    async fn get_tenant_entitlement(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The tenant.
        #[oai(validator(min_length = 1, max_length = 256))]
        tenant_id: Path<String>,
    ) -> ApiResult<EntitlementResponse> {
        let principal = bearer.principal(&svc).await?;
        let stored = svc.tenant_entitlement(&principal, &tenant_id.0).await?;
        Ok(EntitlementResponse::Ok(Json(stored.into())))
    }

    /// Set a tenant's restore entitlement
    ///
    /// Enables or disables restores for the tenant on behalf of `actor`;
    /// kept in the audit trail (`kind = tenant_entitlement`). While
    /// disabled, dry-run, job creation, execute and resume for the tenant
    /// answer `403 blocked_entitlement_disabled`, and a running execution
    /// pauses at its next chunk boundary with `status_reason_code =
    /// paused_entitlement_disabled`; once re-enabled it resumes from its
    /// checkpoint. Needs `ops_admin` and the tenant in the token's scope.
    #[oai(
        path = "/v1/admin/tenants/:tenant_id/entitlement",
        method = "put",
        operation_id = "set_tenant_entitlement"
    )]
    async fn set_tenant_entitlement(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The tenant.
        #[oai(validator(min_length = 1, max_length = 256))]
        tenant_id: Path<String>,
        body: JsonBody<TenantEntitlementRequest>,
    ) -> ApiResult<EntitlementResponse> {
        let principal = bearer.principal(&svc).await?;
        let body = body.0;
        let stored = svc
            .set_tenant_entitlement(
                &principal,
                &tenant_id.0,
                body.restore_enabled,
                &body.actor,
                Utc::now(),
            )
            .await?;
        Ok(EntitlementResponse::Ok(Json(stored.into())))
    }
}
