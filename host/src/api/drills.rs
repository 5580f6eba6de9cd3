//! `/v1/admin/drills`: restore drill schedules and their runs, all
//! `ops_admin`. A drill restores a tenant's backup into a sandbox through
//! the real pipeline, verifies it and puts the sandbox back; see
//! `domain::drills`.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::body::JsonBody;
use super::drill_types::{
    DrillRunBody, DrillRunPage, DrillScheduleBody, DrillScheduleRequest, DrillSchedules,
};
use super::error::ApiResult;
use super::paging;
use super::security::BearerAuth;
use super::ApiTags;
use crate::domain::drills::runs::RunQuery;
use crate::domain::RestoreService;

/// Restore drill endpoints.
pub struct DrillsApi;

#[derive(ApiResponse)]
enum CreatedScheduleResponse {
    /// The schedule was created; `next_run_at` is its first slot.
    #[oai(status = 201)]
    Created(Json<DrillScheduleBody>),
}

#[derive(ApiResponse)]
enum ScheduleResponse {
    /// The schedule.
    #[oai(status = 200)]
    Ok(Json<DrillScheduleBody>),
}

#[derive(ApiResponse)]
enum SchedulesResponse {
    /// Every schedule the caller may see.
    #[oai(status = 200)]
    Ok(Json<DrillSchedules>),
}

#[derive(ApiResponse)]
enum DeletedScheduleResponse {
    /// The schedule was deleted; its runs are kept.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
enum RunResponse {
    /// The drill ran; its recorded run.
    #[oai(status = 200)]
    Ok(Json<DrillRunBody>),
}

#[derive(ApiResponse)]
enum RunsResponse {
    /// A page of runs, oldest first.
    #[oai(status = 200)]
    Ok(Json<DrillRunPage>),
}

#[OpenApi(tag = "ApiTags::Drills")]
impl DrillsApi {
    /// Create a drill schedule
    ///
    /// A drill restores `tables` of `source`'s backup into `sandbox` on
    /// `cron` (UTC), verifies every restored row against the backup, puts
    /// the sandbox back, and records a run. The caller must be able to act
    /// on both tenants. A malformed cron expression or a sandbox equal to
    /// the source is `400 invalid_request`. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/drills/schedules",
        method = "post",
        operation_id = "create_drill_schedule"
    )]
    async fn create_schedule(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<DrillScheduleRequest>,
    ) -> ApiResult<CreatedScheduleResponse> {
        let principal = bearer.principal(&svc).await?;
        let schedule = svc
            .create_drill_schedule(&principal, body.0.into(), Utc::now())
            .await?;
        Ok(CreatedScheduleResponse::Created(Json(schedule.into())))
    }

    /// List drill schedules
    ///
    /// Every schedule of the caller's tenants, by id. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/drills/schedules",
        method = "get",
        operation_id = "list_drill_schedules"
    )]
    async fn list_schedules(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
    ) -> ApiResult<SchedulesResponse> {
        let principal = bearer.principal(&svc).await?;
        let items = svc.drill_schedules(&principal).await?;
        Ok(SchedulesResponse::Ok(Json(DrillSchedules {
            items: items.into_iter().map(Into::into).collect(),
        })))
    }

    /// Read a drill schedule
    ///
    /// `404 drill_schedule_not_found` for an unknown id or another
    /// tenant's schedule. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/drills/schedules/:schedule_id",
        method = "get",
        operation_id = "get_drill_schedule"
    )]
    async fn get_schedule(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The schedule's id.
        #[oai(validator(min_length = 1, max_length = 256))]
        schedule_id: Path<String>,
    ) -> ApiResult<ScheduleResponse> {
        let principal = bearer.principal(&svc).await?;
        let schedule = svc.drill_schedule(&principal, &schedule_id.0).await?;
        Ok(ScheduleResponse::Ok(Json(schedule.into())))
    }

    /// Delete a drill schedule
    ///
    /// No drill runs from it any more; its recorded runs are kept.
    /// `404 drill_schedule_not_found` for an unknown id or another
    /// tenant's schedule. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/drills/schedules/:schedule_id",
        method = "delete",
        operation_id = "delete_drill_schedule"
    )]
    async fn delete_schedule(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The schedule's id.
        #[oai(validator(min_length = 1, max_length = 256))]
        schedule_id: Path<String>,
    ) -> ApiResult<DeletedScheduleResponse> {
        let principal = bearer.principal(&svc).await?;
        svc.delete_drill_schedule(&principal, &schedule_id.0)
            .await?;
        Ok(DeletedScheduleResponse::Deleted)
    }

    /// Run a drill now
    ///
    /// Runs the schedule's drill at once, outside its cron, and answers
    /// the recorded run when it ended (a skipped or failed drill is a
    /// `200` too: see its `outcome` and `reason_code`). The schedule's next
    /// slot is unchanged. `409 drill_already_running` while a drill of the
    /// schedule runs on any replica; `404 drill_schedule_not_found`. Needs
    /// `ops_admin`.
    #[oai(
        path = "/v1/admin/drills/schedules/:schedule_id/run",
        method = "post",
        operation_id = "run_drill_schedule"
    )]
    async fn run_schedule(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The schedule's id.
        #[oai(validator(min_length = 1, max_length = 256))]
        schedule_id: Path<String>,
    ) -> ApiResult<RunResponse> {
        let principal = bearer.principal(&svc).await?;
        let run = svc
            .run_drill_now(&principal, &schedule_id.0, Utc::now())
            .await?;
        Ok(RunResponse::Ok(Json(run.into())))
    }

    /// List drill runs
    ///
    /// Every recorded drill of the caller's tenants, oldest first, with
    /// its outcome, measured recovery time and point, rows verified and
    /// mismatched, and evidence manifest hash. Paged with `limit` (default
    /// 100) and `cursor`. Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/drills/runs",
        method = "get",
        operation_id = "list_drill_runs"
    )]
    async fn list_runs(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Only runs of this schedule.
        #[oai(validator(min_length = 1, max_length = 256))]
        schedule_id: Query<Option<String>>,
        /// Only runs of this tenant.
        #[oai(validator(min_length = 1, max_length = 256))]
        tenant_id: Query<Option<String>>,
        /// Page size (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<RunsResponse> {
        let principal = bearer.principal(&svc).await?;
        let query = RunQuery {
            schedule_id: schedule_id.0,
            tenant_id: tenant_id.0,
        };
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_LIMIT);
        let found = svc.drill_runs(&principal, query, page).await?;
        Ok(RunsResponse::Ok(Json(DrillRunPage {
            next_cursor: paging::cursor(found.next_after),
            items: found.items.into_iter().map(Into::into).collect(),
        })))
    }
}
