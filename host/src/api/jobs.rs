//! `/v1/jobs`: creating jobs from executable plans, reading them with their
//! queue metadata and events, and an operator's completion.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::body::JsonBody;
use super::error::ApiResult;
use super::job_types::{
    CompleteJobRequest, CompletedJob, CreateJobRequest, JobBody, JobEventBody, JobEventPage,
    JobPage, JobStatusName,
};
use super::paging;
use super::security::BearerAuth;
use super::ApiTags;
use crate::domain::job_lifecycle::{Completion, CreateJob};
use crate::domain::jobs::JobQuery;
use crate::domain::RestoreService;

/// Job endpoints.
pub struct JobsApi;

#[derive(ApiResponse)]
enum CreateJobResponse {
    /// The job was created, `running` or `queued`.
    #[oai(status = 201)]
    Created(Json<JobBody>),
}

#[derive(ApiResponse)]
enum JobResponse {
    /// The job.
    #[oai(status = 200)]
    Ok(Json<JobBody>),
}

#[derive(ApiResponse)]
enum JobListResponse {
    /// A page of jobs.
    #[oai(status = 200)]
    Ok(Json<JobPage>),
}

#[derive(ApiResponse)]
enum JobEventsResponse {
    /// A page of the job's events.
    #[oai(status = 200)]
    Ok(Json<JobEventPage>),
}

#[derive(ApiResponse)]
enum CompleteJobResponse {
    /// The job ended; `promoted_job_ids` lists the jobs its release started.
    #[oai(status = 200)]
    Ok(Json<CompletedJob>),
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobsApi {
    /// Create a job from a plan
    ///
    /// Creates an execute-intent job from an `executable` plan. The job
    /// runs at once when none of its `(tenant_id, instance_id, table)`
    /// tuples is held by a running job or wanted by an earlier queued job;
    /// otherwise it is `queued`, first-come-first-served per tuple. Needs
    /// `restore_execute`. `404 plan_not_found` (also for a plan of a tenant
    /// outside the token's scope); `409 blocked_plan_hash_mismatch` when
    /// `plan_hash` is not the plan's; `409` with the plan's gate
    /// `reason_code` when the plan is `preview_only` or `blocked`.
    #[oai(path = "/v1/jobs", method = "post", operation_id = "create_job")]
    async fn create_job(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<CreateJobRequest>,
    ) -> ApiResult<CreateJobResponse> {
        let principal = bearer.principal(&svc).await?;
        let request = CreateJob {
            plan_id: body.0.plan_id,
            plan_hash: body.0.plan_hash,
        };
        let job = svc.create_job(&principal, request, Utc::now()).await?;
        Ok(CreateJobResponse::Created(Json(job.into())))
    }

    /// Read a job
    ///
    /// The job with its status and, while queued, its queue metadata
    /// (`wait_reason_code`, `wait_tables`, `queue_position`,
    /// `blocking_job_ids`). Needs `restore_read`; a job of a tenant outside
    /// the token's scope is `404 job_not_found`.
    #[oai(path = "/v1/jobs/:job_id", method = "get", operation_id = "get_job")]
    async fn get_job(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
    ) -> ApiResult<JobResponse> {
        let principal = bearer.principal(&svc).await?;
        let job = svc.get_job(&principal, &job_id.0).await?;
        Ok(JobResponse::Ok(Json(job.into())))
    }

    /// List jobs
    ///
    /// Jobs of the token's tenants, oldest first, optionally filtered by
    /// status, tenant, instance and table; paged with `limit` and `cursor`.
    /// Needs `restore_read`.
    #[oai(path = "/v1/jobs", method = "get", operation_id = "list_jobs")]
    #[allow(clippy::too_many_arguments)]
    async fn list_jobs(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Only jobs in this status.
        status: Query<Option<JobStatusName>>,
        /// Only jobs of this tenant.
        #[oai(validator(min_length = 1, max_length = 256))]
        tenant_id: Query<Option<String>>,
        /// Only jobs of this instance.
        #[oai(validator(min_length = 1, max_length = 256))]
        instance_id: Query<Option<String>>,
        /// Only jobs covering this table.
        #[oai(validator(min_length = 1, max_length = 256))]
        table: Query<Option<String>>,
        /// Page size (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<JobListResponse> {
        let principal = bearer.principal(&svc).await?;
        let query = JobQuery {
            status: status.0.map(Into::into),
            tenant_id: tenant_id.0,
            instance_id: instance_id.0,
            table: table.0,
        };
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_LIMIT);
        let found = svc.list_jobs(&principal, query, page).await?;
        Ok(JobListResponse::Ok(Json(JobPage {
            next_cursor: paging::cursor(found.next_after),
            items: found.items.into_iter().map(JobBody::from).collect(),
        })))
    }

    /// List a job's events
    ///
    /// Every transition and execution step of the job, oldest first:
    /// `job_queued`, `job_started`, execution events, and exactly one
    /// terminal event once it ended. Paged with `limit` (default 1000) and
    /// `cursor`. Needs `restore_read`.
    #[oai(
        path = "/v1/jobs/:job_id/events",
        method = "get",
        operation_id = "list_job_events"
    )]
    async fn list_job_events(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        /// Page size (default 1000).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<JobEventsResponse> {
        let principal = bearer.principal(&svc).await?;
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_EMBEDDED_LIMIT);
        let events = svc.job_events(&principal, &job_id.0, page).await?;
        Ok(JobEventsResponse::Ok(Json(JobEventPage {
            next_cursor: paging::cursor(events.next_after),
            events: events.items.into_iter().map(JobEventBody::from).collect(),
        })))
    }

    /// End a job as an operator
    ///
    /// Marks a queued or running job `failed` or `cancelled` with its
    /// terminal event, releases its table locks and, in the same
    /// transaction, promotes every queued job whose tables all became free,
    /// in queue order (`promoted_job_ids`). Needs `restore_execute`.
    /// `409 job_already_terminal` for a job that already ended (nothing
    /// changes).
    #[oai(
        path = "/v1/jobs/:job_id/complete",
        method = "post",
        operation_id = "complete_job"
    )]
    async fn complete_job(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        body: JsonBody<CompleteJobRequest>,
    ) -> ApiResult<CompleteJobResponse> {
        let principal = bearer.principal(&svc).await?;
        let body = body.0;
        let completion = Completion {
            status: body.status.into(),
            reason_code: body.reason_code,
            actor: body.actor,
            note: body.note,
        };
        let finished = svc
            .complete_job(&principal, &job_id.0, completion, Utc::now())
            .await?;
        Ok(CompleteJobResponse::Ok(Json(CompletedJob {
            job: finished.job.into(),
            promoted_job_ids: finished.promoted_job_ids,
        })))
    }
}
