//! `/v1/jobs/{job_id}/execution`, `/checkpoint`, `/resume` and
//! `/rollback-journal`: running a job's plan and reading what it did.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::execution_types::*;
use super::paging::{self, PageRequest};
use super::security::{authorize, BearerAuth};
use super::state::AppState;
use super::types::Timestamp;
use super::ApiTags;
use crate::domain::capability::Capability;
use crate::domain::execute::view::ExecutionView;
use crate::domain::execute::{self, ExecOutcome, Exercise, ResumeExpectation};
use crate::domain::DomainError;
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

fn body(view: ExecutionView) -> Result<ExecutionBody, ApiError> {
    let next = view
        .next_after
        .map(|after| paging::encode(&after.to_string()));
    let mut body: ExecutionBody = serde_json::to_value(view)
        .and_then(serde_json::from_value)
        .map_err(|e| ApiError::from(DomainError::Internal(format!("execution document: {e}"))))?;
    body.next_cursor = next;
    Ok(body)
}

fn run_response(outcome: ExecOutcome) -> ApiResult<RunResponse> {
    Ok(match outcome {
        ExecOutcome::Terminal(view) => RunResponse::Terminal(Json(body(view)?)),
        ExecOutcome::Paused(view) => RunResponse::Paused(Json(body(view)?)),
    })
}

fn after_of(page: &PageRequest) -> Result<i64, ApiError> {
    match &page.after {
        Some(after) => after
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("cursor is not a valid cursor")),
        None => Ok(0),
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
    /// is terminal, `202` when paused at a chunk boundary. A second call
    /// while one is executing: `409 execution_in_progress`. Needs `restore_execute`.
    #[oai(
        path = "/v1/jobs/:job_id/execution",
        method = "post",
        operation_id = "execute_job"
    )]
    async fn execute(
        &self,
        state: Data<&AppState>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        request: JsonBody<ExecuteRequest>,
    ) -> ApiResult<RunResponse> {
        let principal = authorize(&state, &bearer, &[Capability::RestoreExecute]).await?;
        let r = request.0;
        let ex = exercise(
            r.operator_id,
            r.operator_capabilities,
            r.elevated_confirmation,
        );
        run_response(
            execute::execute(&state.exec_context(), &principal, &job_id, ex, r.max_chunks).await?,
        )
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
        state: Data<&AppState>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        request: JsonBody<ResumeRequest>,
    ) -> ApiResult<RunResponse> {
        let principal = authorize(&state, &bearer, &[Capability::RestoreExecute]).await?;
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
        run_response(
            execute::resume(
                &state.exec_context(),
                &principal,
                &job_id,
                ex,
                expect,
                r.max_chunks,
            )
            .await?,
        )
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
        state: Data<&AppState>,
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
        let principal = authorize(&state, &bearer, &[Capability::RestoreRead]).await?;
        let page = PageRequest::new(limit.0, cursor.0, paging::DEFAULT_EMBEDDED_LIMIT)?;
        let view = execute::read(
            &state.store,
            &principal,
            &job_id,
            after_of(&page)?,
            u64::from(page.limit),
        )
        .await?;
        Ok(ExecutionResponse::Ok(Json(body(view)?)))
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
        state: Data<&AppState>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
    ) -> ApiResult<CheckpointResponse> {
        let principal = authorize(&state, &bearer, &[Capability::RestoreRead]).await?;
        let e = execute::checkpoint(&state.store, &principal, &job_id).await?;
        Ok(CheckpointResponse::Ok(Json(CheckpointDocBody {
            job_id: e.job_id,
            next_chunk_index: e.next_chunk_index,
            total_chunks: e.total_chunks,
            plan_checksum: e.plan_checksum,
            precondition_checksum: e.precondition_checksum,
            updated_at: Timestamp(e.updated_at),
        })))
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
        state: Data<&AppState>,
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
        let principal = authorize(&state, &bearer, &[Capability::RestoreRead]).await?;
        let page = PageRequest::new(limit.0, cursor.0, paging::DEFAULT_EMBEDDED_LIMIT)?;
        let j = execute::journal(
            &state.store,
            &principal,
            &job_id,
            after_of(&page)?,
            u64::from(page.limit),
        )
        .await?;
        let rollback_journal = j
            .journal
            .into_iter()
            .map(|r| ExecJournalRowBody {
                journal_id: r.journal_id,
                plan_hash: r.plan_hash,
                plan_row_id: r.plan_row_id,
                chunk_id: r.chunk_id,
                row_attempt: r.row_attempt,
                table: r.table,
                sys_id: r.sys_id,
                action: r.action,
                before_image: r.before_image,
                before_image_sha256: r.before_image_sha256,
                after_image_sha256: r.after_image_sha256,
                created_at: Timestamp(r.created_at),
            })
            .collect();
        let sn_mirror = j
            .mirror
            .into_iter()
            .map(|m| ExecMirrorRowBody {
                journal_id: m.journal_id,
                table: m.table,
                sys_id: m.sys_id,
                plan_row_id: m.plan_row_id,
                chunk_id: m.chunk_id,
                before_image_sha256: m.before_image_sha256,
                synced_at: Timestamp(m.synced_at),
            })
            .collect();
        Ok(JournalResponse::Ok(Json(RollbackJournalBody {
            job_id: job_id.0,
            plan_hash: j.plan_hash,
            rollback_journal,
            sn_mirror,
            next_cursor: j.next_after.map(|a| paging::encode(&a.to_string())),
        })))
    }
}
