//! `/v1/jobs/{job_id}/execution`, `/checkpoint`, `/resume` and
//! `/rollback-journal`: running a job's plan and reading what it did.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::body::JsonBody;
use super::error::ApiResult;
use super::execution_types::*;
use super::paging;
use super::security::BearerAuth;
use super::ApiTags;
use crate::domain::execute::{ExecOutcome, Exercise, ResumeExpectation};
use crate::domain::principal::Capability;
use crate::domain::RestoreService;
use crate::policy::ElevatedConfirmation;

/// Execution endpoints.
pub struct ExecutionApi;

#[derive(ApiResponse)]
enum RunResponse {
    /// The job reached a terminal status.
    #[oai(status = 200)]
    Terminal(Json<ExecutionBody>),
    /// Paused at a chunk boundary (`max_chunks`, token expired, shutdown,
    /// entitlement disabled); resume from the checkpoint.
    #[oai(status = 202)]
    Paused(Json<ExecutionBody>),
}

#[derive(ApiResponse)]
enum ExecutionResponse {
    /// The execution.
    #[oai(status = 200)]
    Ok(Json<ExecutionBody>),
}

#[derive(ApiResponse)]
enum CheckpointResponse {
    /// The checkpoint.
    #[oai(status = 200)]
    Ok(Json<CheckpointDocBody>),
}

#[derive(ApiResponse)]
enum JournalResponse {
    /// A page of the journal and its mirror.
    #[oai(status = 200)]
    Ok(Json<RollbackJournalBody>),
}

fn exercise(
    operator_id: Option<String>,
    caps: Option<Vec<super::types::CapabilityName>>,
    confirmation: Option<ElevatedConfirmationBody>,
) -> Exercise {
    Exercise {
        operator_id,
        operator_capabilities: caps.map(|c| c.into_iter().map(Capability::from).collect()),
        elevated_confirmation: confirmation.map(|c| ElevatedConfirmation {
            confirmed: c.confirmed,
            confirmation: c.confirmation.unwrap_or_default(),
            reason: c.reason.unwrap_or_default(),
        }),
    }
}

fn run_response(outcome: ExecOutcome) -> RunResponse {
    match outcome {
        ExecOutcome::Terminal(view) => RunResponse::Terminal(Json(view.into())),
        ExecOutcome::Paused(view) => RunResponse::Paused(Json(view.into())),
    }
}

#[OpenApi(tag = "ApiTags::Execution")]
impl ExecutionApi {
    /// Execute a job
    ///
    /// Applies the running job's plan in chunks. Checks, in order, before
    /// any row is written: the job is running (`409 job_not_running`); the
    /// capability policy (`403 blocked_missing_capability`); the media-cap
    /// policy (`403`, `details.media`); the target still matches the plan
    /// (`409 failed_schema_conflict`, `failed_permission_conflict`,
    /// `blocked_reference_conflict`, which fail the job). `200` when the job
    /// is terminal (`completed`, or `failed` with `failed_media_incomplete`
    /// when an attachment could not be restored), `202` when paused at a
    /// chunk boundary. A second call
    /// while one is executing: `409 execution_in_progress`. Needs `restore_execute`.
    #[oai(
        path = "/v1/jobs/:job_id/execution",
        method = "post",
        operation_id = "execute_job"
    )]
    async fn execute(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        request: JsonBody<ExecuteRequest>,
    ) -> ApiResult<RunResponse> {
        let principal = bearer.principal(&svc).await?;
        let r = request.0;
        let ex = exercise(
            r.operator_id,
            r.operator_capabilities,
            r.elevated_confirmation,
        );
        Ok(run_response(
            svc.execute_job(&principal, &job_id, ex, r.max_chunks)
                .await?,
        ))
    }

    /// Resume a job
    ///
    /// Continues a paused (or crashed) execution from its checkpoint after
    /// checking `expected_plan_checksum` and `expected_precondition_checksum`
    /// and that the target still satisfies them
    /// (`409 blocked_resume_precondition_mismatch`, nothing written, a
    /// `resume_blocked` event); `409 blocked_resume_checkpoint_missing`
    /// without a checkpoint. Then the same checks as execute; `200` or `202`.
    #[oai(
        path = "/v1/jobs/:job_id/resume",
        method = "post",
        operation_id = "resume_job"
    )]
    async fn resume(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        request: JsonBody<ResumeRequest>,
    ) -> ApiResult<RunResponse> {
        let principal = bearer.principal(&svc).await?;
        let r = request.0;
        let expect = ResumeExpectation {
            plan_checksum: r.expected_plan_checksum,
            precondition_checksum: r.expected_precondition_checksum,
        };
        let ex = exercise(
            r.operator_id,
            r.operator_capabilities,
            r.elevated_confirmation,
        );
        Ok(run_response(
            svc.resume_job(&principal, &job_id, ex, expect, r.max_chunks)
                .await?,
        ))
    }

    /// Get a job's execution
    ///
    /// The execution with a page of row outcomes (`limit` default 1000,
    /// `cursor`). `404 execution_not_started` before the first execute.
    /// Needs `restore_read`.
    #[oai(
        path = "/v1/jobs/:job_id/execution",
        method = "get",
        operation_id = "get_execution"
    )]
    async fn get_execution(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        /// Row outcomes per page (1-1000, default 1000).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<ExecutionResponse> {
        let principal = bearer.principal(&svc).await?;
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_EMBEDDED_LIMIT);
        let view = svc.execution(&principal, &job_id, page).await?;
        Ok(ExecutionResponse::Ok(Json(view.into())))
    }

    /// Get a job's checkpoint
    ///
    /// Where execution continues and the checksums resume must present.
    /// `404 checkpoint_missing` before the first execute. Needs `restore_read`.
    #[oai(
        path = "/v1/jobs/:job_id/checkpoint",
        method = "get",
        operation_id = "get_checkpoint"
    )]
    async fn get_checkpoint(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
    ) -> ApiResult<CheckpointResponse> {
        let principal = bearer.principal(&svc).await?;
        let checkpoint = svc.checkpoint(&principal, &job_id).await?;
        Ok(CheckpointResponse::Ok(Json(checkpoint.into())))
    }

    /// Get a job's rollback journal
    ///
    /// One journal row per applied row (before-image, hashes, linkage ids)
    /// and the SN mirror rows (ids and hashes, never a before-image), paged
    /// together by plan row (`limit` default 1000, `cursor`). Needs `restore_read`.
    #[oai(
        path = "/v1/jobs/:job_id/rollback-journal",
        method = "get",
        operation_id = "get_rollback_journal"
    )]
    async fn get_journal(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        /// Journal rows per page (1-1000, default 1000).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<JournalResponse> {
        let principal = bearer.principal(&svc).await?;
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_EMBEDDED_LIMIT);
        let j = svc.rollback_journal(&principal, &job_id, page).await?;
        Ok(JournalResponse::Ok(Json(RollbackJournalBody {
            job_id: job_id.0,
            plan_hash: j.plan_hash,
            next_cursor: paging::cursor(j.journal.next_after),
            rollback_journal: j.journal.items.into_iter().map(Into::into).collect(),
            sn_mirror: j.mirror.into_iter().map(Into::into).collect(),
        })))
    }
}
