//! Every reason code the service can answer, in one enum.
//!
//! A reason code is the stable, machine-readable half of every refusal and
//! of every recorded outcome: the `reason_code` of error bodies, of the
//! gate, of row and media outcomes, of a job's `status_reason_code` and of
//! an evidence verification. Clients switch on them and runbooks are
//! indexed by them, so they are one closed set: the domain names them by
//! variant (a typo is a compile error), the API lists them as an enum in
//! the OpenAPI document, and a test checks each one has a runbook entry and
//! a test that asserts it. Stored codes are read back with `FromStr`.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoStaticStr};

/// A stable reason code; its wire and stored form is the `snake_case` name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Display,
    EnumIter,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReasonCode {
    // Requests and authentication.
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    RouteNotFound,
    MethodNotAllowed,
    AuthUnauthenticated,
    AuthTokenExpired,
    BlockedMissingCapability,
    BlockedTenantScope,
    TokenNotFound,
    // The service itself.
    InternalError,
    DatabaseUnavailable,
    NotReady,
    // Plans and the gate.
    PlanNotFound,
    BlockedPlanHashMismatch,
    BlockedPolicyError,
    BlockedFreshnessUnknown,
    BlockedUnresolvedDeleteCandidates,
    BlockedReferenceConflict,
    BlockedFreshnessStale,
    BlockedPlanNotExecutable,
    BlockedEntitlementDisabled,
    // Undo plans.
    BlockedUndoConflictsUndecided,
    UndoJobNotTerminal,
    UndoNothingApplied,
    UndoBeforeImagesPruned,
    UndoBeforeImageMismatch,
    // The target instance.
    TargetTableNotFound,
    TargetUnavailable,
    TargetUnauthorized,
    TargetProtocolError,
    TargetRefused,
    RecordNotFound,
    MediaNotFound,
    MediaStoreUnavailable,
    // Jobs and the lock queue.
    JobNotFound,
    JobNotRunning,
    JobAlreadyTerminal,
    WaitingTableLock,
    /// The `status_reason_code` of a job whose execution ran to the end.
    Completed,
    FailedInternalError,
    CancelledByOperator,
    // Execution.
    ExecutionNotStarted,
    ExecutionInProgress,
    ExecutionAlreadyStarted,
    FailedSchemaConflict,
    FailedPermissionConflict,
    SkippedTargetChanged,
    PausedMaxChunks,
    PausedAuthExpired,
    PausedServerShutdown,
    PausedEntitlementDisabled,
    PausedTargetUnavailable,
    PausedTargetUnauthorized,
    FailedTargetRefused,
    // Checkpoint and resume.
    CheckpointMissing,
    BlockedResumeCheckpointMissing,
    BlockedResumePreconditionMismatch,
    // Media.
    FailedMediaParentMissing,
    FailedMediaHashMismatch,
    FailedMediaRetryExhausted,
    /// The `status_reason_code` of a job whose rows were all executed but
    /// at least one of whose media outcomes failed: the job ends `failed`.
    FailedMediaIncomplete,
    // Evidence.
    EvidenceNotFound,
    EvidenceJobNotTerminal,
    EvidenceExportContended,
    FailedEvidenceArtifactHashMismatch,
    FailedEvidenceBeforeImageMismatch,
    FailedEvidenceReportHashMismatch,
    FailedEvidenceSignatureVerification,
    // Policies.
    PolicyReloadFailed,
    /// A plugin file of a policy set was refused for its signature
    /// (`require_signatures`): missing, by an untrusted key, or invalid.
    PolicySignatureRejected,
    // Restore drills.
    DrillScheduleNotFound,
    /// A drill of the schedule is running (on this or another replica).
    DrillAlreadyRunning,
    /// A drill's recorded outcome: a restored row in the sandbox differs
    /// from the backup's version at the PIT.
    DrillVerificationMismatch,
    /// A drill's recorded outcome: the restore machinery failed (the
    /// message says which step).
    DrillRestoreFailed,
    /// A drill's recorded outcome: the sandbox could not be put back.
    DrillCleanupFailed,
}

impl ReasonCode {
    /// The wire and stored name, e.g. `plan_not_found`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name; `None` for a name this build does not know.
    pub fn parse(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for code in ReasonCode::iter() {
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::json!(code.as_str()));
        }
        assert_eq!(ReasonCode::PlanNotFound.as_str(), "plan_not_found");
        assert_eq!(ReasonCode::parse("no_such_code"), None);
    }
}
