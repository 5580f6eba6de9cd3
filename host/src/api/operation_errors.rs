//! Which errors each operation can answer: its statuses and, for each, the
//! reason codes it may carry. The OpenAPI document lists exactly these per
//! operation (a generated client gets a typed enum per response and no
//! status an operation never answers), and the end-to-end suite checks
//! every error it provokes against this table, so a new refusal that is not
//! declared here fails a test.

use crate::domain::ReasonCode::{self, *};

/// What an operation reads, which decides the errors common to all of its
/// kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// No parameter that can be malformed, no body.
    Nothing,
    /// Path or query parameters the schema constrains (`400`).
    Params,
    /// A JSON body (`400`, `413`, `415`).
    Body,
}

/// One operation's errors beyond those of every authenticated call.
pub struct OperationErrors {
    pub operation_id: &'static str,
    /// Open operations answer no `401` or `403`.
    pub authenticated: bool,
    /// Whether the call needs a capability (`403 blocked_missing_capability`).
    pub capability: bool,
    pub input: Input,
    /// Refusals particular to this operation, by status.
    pub specific: &'static [(u16, &'static [ReasonCode])],
}

const fn op(
    operation_id: &'static str,
    input: Input,
    specific: &'static [(u16, &'static [ReasonCode])],
) -> OperationErrors {
    OperationErrors {
        operation_id,
        authenticated: true,
        capability: true,
        input,
        specific,
    }
}

const SCOPE: &[ReasonCode] = &[BlockedMissingCapability, BlockedTenantScope];
const ENTITLED: &[ReasonCode] = &[
    BlockedMissingCapability,
    BlockedTenantScope,
    BlockedEntitlementDisabled,
];
const EXECUTE_FORBIDDEN: &[ReasonCode] = &[
    BlockedMissingCapability,
    BlockedEntitlementDisabled,
    BlockedPolicyError,
];
const JOB: &[ReasonCode] = &[JobNotFound];
const DRILL: &[ReasonCode] = &[DrillScheduleNotFound];
/// A target instance that cannot serve (besides `database_unavailable`).
const TARGET: &[ReasonCode] = &[
    TargetUnavailable,
    TargetUnauthorized,
    TargetProtocolError,
    TargetRefused,
];

use Input::{Body, Nothing, Params};

/// Every operation's errors, in document order.
pub const OPERATIONS: &[OperationErrors] = &[
    OperationErrors {
        operation_id: "healthz",
        authenticated: false,
        capability: false,
        input: Nothing,
        specific: &[],
    },
    OperationErrors {
        operation_id: "readyz",
        authenticated: false,
        capability: false,
        input: Nothing,
        specific: &[(503, &[NotReady])],
    },
    OperationErrors {
        operation_id: "metrics",
        authenticated: false,
        capability: false,
        input: Nothing,
        specific: &[],
    },
    op("create_token", Body, &[(403, SCOPE)]),
    op("revoke_token", Params, &[(404, &[TokenNotFound])]),
    OperationErrors {
        operation_id: "who_am_i",
        authenticated: true,
        capability: false,
        input: Nothing,
        specific: &[],
    },
    op("ingest_index_records", Body, &[(403, SCOPE)]),
    op("publish_watermarks", Body, &[(403, SCOPE)]),
    op("list_watermarks", Params, &[]),
    op(
        "ingest_index_media",
        Body,
        &[(403, SCOPE), (503, &[MediaStoreUnavailable])],
    ),
    op("list_targets", Nothing, &[]),
    op("put_target_table", Body, &[(403, SCOPE)]),
    op("get_target_table", Params, &[(404, &[TargetTableNotFound])]),
    op(
        "put_target_record",
        Body,
        &[(403, SCOPE), (404, &[TargetTableNotFound])],
    ),
    op(
        "delete_target_record",
        Params,
        &[(403, SCOPE), (404, &[RecordNotFound])],
    ),
    op("get_target_record", Params, &[(404, &[RecordNotFound])]),
    op("get_target_media", Params, &[(404, &[MediaNotFound])]),
    op(
        "dry_run_plan",
        Body,
        &[
            (403, ENTITLED),
            (409, &[BlockedPlanHashMismatch]),
            (503, TARGET),
        ],
    ),
    op(
        "undo_plan",
        Body,
        &[
            (403, ENTITLED),
            (404, JOB),
            (
                409,
                &[
                    BlockedPlanHashMismatch,
                    UndoJobNotTerminal,
                    UndoNothingApplied,
                    UndoBeforeImagesPruned,
                    UndoBeforeImageMismatch,
                ],
            ),
            (503, TARGET),
        ],
    ),
    op("get_plan", Params, &[(404, &[PlanNotFound])]),
    op("list_plan_rows", Params, &[(404, &[PlanNotFound])]),
    op(
        "create_job",
        Body,
        &[
            (403, ENTITLED),
            (404, &[PlanNotFound]),
            (
                409,
                &[
                    BlockedPlanHashMismatch,
                    BlockedPolicyError,
                    BlockedFreshnessUnknown,
                    BlockedUnresolvedDeleteCandidates,
                    BlockedReferenceConflict,
                    BlockedFreshnessStale,
                    BlockedPlanNotExecutable,
                    BlockedUndoConflictsUndecided,
                ],
            ),
        ],
    ),
    op("get_job", Params, &[(404, JOB)]),
    op("list_jobs", Params, &[]),
    op("list_job_events", Params, &[(404, JOB)]),
    op(
        "complete_job",
        Body,
        &[(404, JOB), (409, &[JobAlreadyTerminal])],
    ),
    op(
        "execute_job",
        Body,
        &[
            (403, EXECUTE_FORBIDDEN),
            (404, JOB),
            (
                409,
                &[
                    JobNotRunning,
                    ExecutionAlreadyStarted,
                    ExecutionInProgress,
                    FailedSchemaConflict,
                    FailedPermissionConflict,
                    BlockedReferenceConflict,
                ],
            ),
            (503, TARGET),
        ],
    ),
    op(
        "resume_job",
        Body,
        &[
            (403, EXECUTE_FORBIDDEN),
            (404, JOB),
            (
                409,
                &[
                    JobNotRunning,
                    ExecutionInProgress,
                    BlockedResumeCheckpointMissing,
                    BlockedResumePreconditionMismatch,
                    FailedSchemaConflict,
                    FailedPermissionConflict,
                    BlockedReferenceConflict,
                ],
            ),
            (503, TARGET),
        ],
    ),
    op(
        "get_execution",
        Params,
        &[(404, &[JobNotFound, ExecutionNotStarted])],
    ),
    op(
        "get_checkpoint",
        Params,
        &[(404, &[JobNotFound, CheckpointMissing])],
    ),
    op("get_rollback_journal", Params, &[(404, JOB)]),
    op("list_policies", Nothing, &[]),
    op(
        "reload_policies",
        Nothing,
        &[(409, &[PolicyReloadFailed, PolicySignatureRejected])],
    ),
    op("list_policy_decisions", Params, &[]),
    op("get_policy_shadow", Params, &[]),
    op("get_staging_mode", Nothing, &[]),
    op("set_staging_mode", Body, &[]),
    op("get_runbooks_signoff", Nothing, &[]),
    op("set_runbooks_signoff", Body, &[]),
    op("list_failure_drills", Nothing, &[]),
    op("record_failure_drill", Body, &[]),
    op("list_ops_audit", Params, &[]),
    op("get_tenant_entitlement", Params, &[(403, SCOPE)]),
    op("set_tenant_entitlement", Body, &[(403, SCOPE)]),
    op("get_ops_slo", Nothing, &[]),
    op("get_ga_readiness", Nothing, &[]),
    op("get_journal_growth", Nothing, &[]),
    op(
        "get_evidence",
        Params,
        &[
            (404, &[JobNotFound, EvidenceNotFound]),
            (409, &[EvidenceJobNotTerminal]),
        ],
    ),
    op(
        "export_evidence",
        Params,
        &[
            (404, JOB),
            (409, &[EvidenceJobNotTerminal, EvidenceExportContended]),
        ],
    ),
    op(
        "download_evidence_package",
        Params,
        &[
            (404, &[JobNotFound, EvidenceNotFound]),
            (409, &[EvidenceJobNotTerminal]),
        ],
    ),
    op("list_evidence_keys", Params, &[]),
    op("prune_journal", Body, &[]),
    op("create_drill_schedule", Body, &[(403, SCOPE)]),
    op("list_drill_schedules", Nothing, &[]),
    op("get_drill_schedule", Params, &[(404, DRILL)]),
    op(
        "delete_drill_schedule",
        Params,
        &[(403, SCOPE), (404, DRILL)],
    ),
    op(
        "run_drill_schedule",
        Params,
        &[(403, SCOPE), (404, DRILL), (409, &[DrillAlreadyRunning])],
    ),
    op("list_drill_runs", Params, &[]),
];

/// Every status and reason code `operation_id` can answer with, sorted by
/// status; `None` for an operation this table does not know.
pub fn errors_of(operation_id: &str) -> Option<Vec<(u16, Vec<ReasonCode>)>> {
    let op = OPERATIONS.iter().find(|o| o.operation_id == operation_id)?;
    let mut out: Vec<(u16, Vec<ReasonCode>)> = Vec::new();
    let mut add =
        |status: u16, codes: &[ReasonCode]| match out.iter_mut().find(|(s, _)| *s == status) {
            Some((_, existing)) => existing.extend_from_slice(codes),
            None => out.push((status, codes.to_vec())),
        };
    if op.input != Nothing {
        add(400, &[InvalidRequest]);
    }
    if op.authenticated {
        add(401, &[AuthUnauthenticated, AuthTokenExpired]);
    }
    if op.capability {
        add(403, &[BlockedMissingCapability]);
    }
    if op.input == Body {
        add(413, &[PayloadTooLarge]);
        add(415, &[UnsupportedMediaType]);
    }
    add(500, &[InternalError]);
    if op.authenticated {
        add(503, &[DatabaseUnavailable]);
    }
    for (status, codes) in op.specific {
        add(*status, codes);
    }
    for (_, codes) in &mut out {
        codes.sort();
        codes.dedup();
    }
    out.sort_by_key(|(status, _)| *status);
    Some(out)
}
