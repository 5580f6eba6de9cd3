//! `/v1/plans`: dry-runs and reading plans and their rows.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::body::JsonBody;
use super::error::ApiResult;
use super::paging;
use super::plan_types::*;
use super::security::BearerAuth;
use super::types::Timestamp;
use super::ApiTags;
use crate::domain::plan::request::PlanRequest;
use crate::domain::plan::undo::UndoRequest;
use crate::domain::RestoreService;

/// Plan endpoints.
pub struct PlansApi;

/// The records to restore.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    /// Tables, each whole or narrowed to `sys_ids`.
    #[oai(validator(min_items = 1, max_items = 1000))]
    pub tables: Vec<ScopeTableBody>,
}

/// A dry-run request.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// Client-chosen id (letters, digits, `.`, `_`, `:`, `-`); generated when
    /// absent. Repeating it with the same inputs returns the stored plan.
    #[oai(validator(pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"))]
    pub plan_id: Option<String>,
    /// Tenant to restore: the source, whose backup is read.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub tenant_id: String,
    /// Instance of the tenant (the source).
    #[oai(validator(min_length = 1, max_length = 256))]
    pub instance_id: String,
    /// The instance to restore into, when not the source (a sandbox, say):
    /// the diff is against it and the job writes it. Absent: the source.
    /// The token must see both tenants.
    pub target: Option<InstanceRefBody>,
    /// The point in time to restore to.
    pub pit: Timestamp,
    /// What to restore.
    pub scope: ScopeBody,
    /// Decisions on delete candidates of an earlier plan (by `candidate_id`);
    /// decisions for ids that are no longer candidates are ignored.
    #[oai(validator(max_items = 100000))]
    pub delete_decisions: Option<Vec<DeleteDecisionBody>>,
    /// Whether to restore the attachments of restored records (default false).
    pub include_media: Option<bool>,
    /// Executed rows per chunk (default 500).
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub chunk_size: Option<u32>,
}

#[derive(ApiResponse)]
enum DryRunResponse {
    /// A new plan was made.
    #[oai(status = 201)]
    Created(Json<PlanBody>),
    /// The same `plan_id` with the same inputs: the stored plan.
    #[oai(status = 200)]
    Existing(Json<PlanBody>),
}

/// A request for an undo plan.
#[derive(Debug, Default, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndoPlanRequest {
    /// Client-chosen id, as for a dry-run; generated when absent.
    /// Repeating it with the same inputs returns the stored plan.
    #[oai(validator(pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"))]
    pub plan_id: Option<String>,
    /// Decisions on the undo's delete candidates (the rows the job
    /// created), by `candidate_id` of an earlier undo plan.
    #[oai(validator(max_items = 100000))]
    pub delete_decisions: Option<Vec<DeleteDecisionBody>>,
    /// Decisions on conflicts (rows changed since the job wrote them), by
    /// `conflict_id` of an earlier undo plan.
    #[oai(validator(max_items = 100000))]
    pub conflict_decisions: Option<Vec<ConflictDecisionBody>>,
    /// Executed rows per chunk (default 500).
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub chunk_size: Option<u32>,
}

#[derive(ApiResponse)]
enum PlanResponse {
    /// The plan.
    #[oai(status = 200)]
    Ok(Json<PlanBody>),
}

#[derive(ApiResponse)]
enum RowsResponse {
    /// A page of the plan's rows.
    #[oai(status = 200)]
    Ok(Json<PlanRowsPage>),
}

#[OpenApi(tag = "ApiTags::Plans")]
impl PlansApi {
    /// Dry-run a restore
    ///
    /// Compares each record in scope at the point in time (its latest index
    /// version with `event_time <= pit`) with the target's current row, and
    /// lets the gate policy decide whether the plan may execute. The plan is
    /// immutable: the same `plan_id` with the same inputs returns it (200);
    /// with other inputs `409 blocked_plan_hash_mismatch`. Needs
    /// `restore_plan` and the tenant in the token's scope.
    #[oai(
        path = "/v1/plans/dry-run",
        method = "post",
        operation_id = "dry_run_plan"
    )]
    async fn dry_run(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<DryRunRequest>,
    ) -> ApiResult<DryRunResponse> {
        let principal = bearer.principal(&svc).await?;
        let request = plan_request(body.0);
        let (document, created) = svc.dry_run(&principal, request, Utc::now()).await?;
        let body = Json(PlanBody::from(document));
        Ok(if created {
            DryRunResponse::Created(body)
        } else {
            DryRunResponse::Existing(body)
        })
    }

    /// Plan the undo of a job
    ///
    /// An immutable plan that reverts what a terminal job wrote, built from
    /// its rollback journal: a row it created is deleted (a delete
    /// candidate, decided as in a dry-run), a row it updated or deleted gets
    /// its before-image back, attachments it wrote are removed. A row
    /// changed since the job wrote it is a conflict in `undo.conflicts`; the
    /// plan is `blocked_undo_conflicts_undecided` until each has a
    /// decision (`keep_current` or `revert`). The gate policy decides as for
    /// any plan; a job, execution, journal and evidence follow as for a
    /// restore (`undo.evidence_manifest_sha256` names the undone job's
    /// package). `409 undo_job_not_terminal`, `409 undo_nothing_applied`,
    /// `409 undo_before_images_pruned` (lists the rows),
    /// `409 undo_before_image_mismatch`; nothing is written then. Needs
    /// `restore_plan`; `404 job_not_found` for another tenant's job.
    #[oai(
        path = "/v1/jobs/:job_id/undo-plan",
        method = "post",
        operation_id = "undo_plan"
    )]
    async fn undo_plan(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job to undo.
        job_id: Path<String>,
        body: JsonBody<UndoPlanRequest>,
    ) -> ApiResult<DryRunResponse> {
        let principal = bearer.principal(&svc).await?;
        let body = body.0;
        let request = UndoRequest {
            plan_id: body.plan_id,
            delete_decisions: body
                .delete_decisions
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            conflict_decisions: body
                .conflict_decisions
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            chunk_size: body.chunk_size,
        };
        let (document, created) = svc
            .undo_plan(&principal, &job_id, request, Utc::now())
            .await?;
        let body = Json(PlanBody::from(document));
        Ok(if created {
            DryRunResponse::Created(body)
        } else {
            DryRunResponse::Existing(body)
        })
    }

    /// Get a plan
    ///
    /// The stored plan. `404 plan_not_found` for an unknown plan or one of
    /// a tenant outside the token's scope. Needs `restore_read`.
    #[oai(path = "/v1/plans/:plan_id", method = "get", operation_id = "get_plan")]
    async fn get_plan(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The plan's id.
        plan_id: Path<String>,
    ) -> ApiResult<PlanResponse> {
        let principal = bearer.principal(&svc).await?;
        let document = svc.get_plan(&principal, &plan_id).await?;
        Ok(PlanResponse::Ok(Json(document.into())))
    }

    /// List a plan's rows
    ///
    /// Every record in scope with its action, in plan order, paged with
    /// `limit` (default 100, at most 1000) and `cursor`. Each row carries
    /// the `before_sha256` execution checks. Needs `restore_read`.
    #[oai(
        path = "/v1/plans/:plan_id/rows",
        method = "get",
        operation_id = "list_plan_rows"
    )]
    async fn list_rows(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The plan's id.
        plan_id: Path<String>,
        /// Rows per page (1-1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<RowsResponse> {
        let principal = bearer.principal(&svc).await?;
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_LIMIT);
        let rows = svc.plan_rows(&principal, &plan_id, page).await?;
        Ok(RowsResponse::Ok(Json(PlanRowsPage {
            next_cursor: paging::cursor(rows.next_after),
            items: rows.items.into_iter().map(PlanRowBody::from).collect(),
        })))
    }
}

fn plan_request(body: DryRunRequest) -> PlanRequest {
    PlanRequest {
        plan_id: body.plan_id,
        tenant_id: body.tenant_id,
        instance_id: body.instance_id,
        target: body.target.map(Into::into),
        pit: body.pit.0,
        tables: body.scope.tables.into_iter().map(Into::into).collect(),
        delete_decisions: body
            .delete_decisions
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        include_media: body.include_media.unwrap_or(false),
        chunk_size: body.chunk_size,
    }
}
