//! The rules that turn what a drill saw into its outcome: which refusals
//! skip a drill (the source may not be restored now) and which fail it,
//! that a failed cleanup fails a drill that had not failed, and that any
//! mismatch fails a restore that otherwise worked.

use super::DrillOutcome;
use crate::domain::{DomainError, ReasonCode};
use crate::store::drill_runs::DrillRunUpdate;

/// How a drill went, before it is stored.
pub type Finding = DrillRunUpdate;

/// An ended finding.
pub fn ended(
    mut f: Finding,
    outcome: DrillOutcome,
    reason: ReasonCode,
    message: String,
) -> Finding {
    f.outcome = outcome.as_str().to_owned();
    f.reason_code = Some(reason.as_str().to_owned());
    f.message = Some(message);
    f
}

/// A finding ended by a refusal: skipped when its reason [`skips`], else
/// failed.
pub fn refused(f: Finding, reason: ReasonCode, message: String) -> Finding {
    let outcome = if skips(reason) {
        DrillOutcome::Skipped
    } else {
        DrillOutcome::Failed
    };
    ended(f, outcome, reason, message)
}

/// Whether a gate refusal means the source may not be restored now (the
/// drill is skipped) rather than that the restore does not work.
pub fn skips(reason: ReasonCode) -> bool {
    matches!(
        reason,
        ReasonCode::BlockedFreshnessStale
            | ReasonCode::BlockedFreshnessUnknown
            | ReasonCode::BlockedEntitlementDisabled
            | ReasonCode::WaitingTableLock
    )
}

/// A failed step's reason code: the error's own when it has one that is
/// a skip, else `drill_restore_failed`.
pub fn failure_reason(error: &DomainError) -> ReasonCode {
    match error {
        DomainError::Forbidden { reason_code, .. }
        | DomainError::Conflict { reason_code, .. }
        | DomainError::NotFound { reason_code, .. }
            if skips(*reason_code) =>
        {
            *reason_code
        }
        _ => ReasonCode::DrillRestoreFailed,
    }
}

/// A failed cleanup fails a drill that had not failed before (a drill
/// that failed already keeps its first reason; the cleanup is logged).
pub fn after_cleanup(
    mut finding: Finding,
    put_back: Result<i64, DomainError>,
    job_id: &str,
) -> Finding {
    match put_back {
        Ok(_) => {
            finding.sandbox_cleaned = true;
            finding
        }
        Err(error) if finding.outcome == DrillOutcome::Running.as_str() => ended(
            finding,
            DrillOutcome::Failed,
            ReasonCode::DrillCleanupFailed,
            format!("cleanup of the sandbox: {error}"),
        ),
        Err(error) => {
            tracing::warn!(%error, job_id, "cannot put the sandbox back");
            finding
        }
    }
}

/// The outcome of a drill that restored and was put back: passed unless
/// a row mismatched.
pub fn decided(mut finding: Finding) -> Finding {
    if finding.rows_mismatched > 0 {
        let n = finding.rows_mismatched;
        return ended(
            finding,
            DrillOutcome::Failed,
            ReasonCode::DrillVerificationMismatch,
            format!("{n} restored rows differ from the backup at the PIT"),
        );
    }
    finding.outcome = DrillOutcome::Passed.as_str().to_owned();
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> Finding {
        Finding {
            outcome: DrillOutcome::Running.as_str().to_owned(),
            ..Finding::default()
        }
    }

    #[test]
    fn freshness_refusals_skip_and_other_errors_fail_the_restore() {
        let stale = DomainError::Forbidden {
            reason_code: ReasonCode::BlockedEntitlementDisabled,
            message: "off".into(),
            details: None,
        };
        assert_eq!(
            failure_reason(&stale),
            ReasonCode::BlockedEntitlementDisabled
        );
        let broken = DomainError::Internal("boom".into());
        assert_eq!(failure_reason(&broken), ReasonCode::DrillRestoreFailed);
        let conflict = DomainError::conflict(ReasonCode::ExecutionInProgress, "busy");
        assert_eq!(failure_reason(&conflict), ReasonCode::DrillRestoreFailed);
        assert!(skips(ReasonCode::BlockedFreshnessStale));
        assert!(!skips(ReasonCode::DrillVerificationMismatch));
    }

    #[test]
    fn a_failed_cleanup_fails_a_drill_that_had_not_failed() {
        let failed = after_cleanup(running(), Err(DomainError::Internal("refused".into())), "j");
        assert_eq!(failed.outcome, "failed");
        assert_eq!(
            failed.reason_code.as_deref(),
            Some(ReasonCode::DrillCleanupFailed.as_str())
        );
        assert!(!failed.sandbox_cleaned);
        let earlier = ended(
            running(),
            DrillOutcome::Failed,
            ReasonCode::DrillRestoreFailed,
            "job".into(),
        );
        let kept = after_cleanup(earlier, Err(DomainError::Internal("refused".into())), "j");
        assert_eq!(kept.reason_code.as_deref(), Some("drill_restore_failed"));
        assert!(after_cleanup(running(), Ok(3), "j").sandbox_cleaned);
    }

    #[test]
    fn mismatches_fail_and_none_pass() {
        let mut mismatched = running();
        mismatched.rows_mismatched = 2;
        let failed = decided(mismatched);
        assert_eq!(
            failed.reason_code.as_deref(),
            Some(ReasonCode::DrillVerificationMismatch.as_str())
        );
        assert_eq!(decided(running()).outcome, "passed");
    }
}
