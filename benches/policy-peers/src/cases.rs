//! The calls every column decides: one execute call's capability input and
//! media caps input, as the execution domain builds them
//! (`domain/execute/checks.rs`), and the verdict the service reaches on it.

use rrs::policy::{
    Capability, CapabilityDecision, CapabilityInput, ElevatedConfirmation, MediaCapsInput,
    MediaCapsOutput, ScopeFacts,
};

/// One execute call that needs both checks.
#[derive(Debug, Clone)]
pub struct Call {
    pub name: &'static str,
    pub capability: CapabilityInput,
    pub media: MediaCapsInput,
    /// What the service must conclude (checked before any timing).
    pub expected: Verdict,
}

/// What the service concludes for a call: the capability check runs
/// first, and the media caps check only when it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    DenyCapability,
    DenyMedia,
}

impl Verdict {
    /// The verdict of the service's two decisions (the media one absent
    /// when the capability check denied).
    pub fn of(capability: &CapabilityDecision, media: Option<&MediaCapsOutput>) -> Option<Self> {
        match (capability, media) {
            (CapabilityDecision::Deny(_), None) => Some(Self::DenyCapability),
            (CapabilityDecision::Allow, Some(m)) if m.decision.is_allowed() => Some(Self::Allow),
            (CapabilityDecision::Allow, Some(_)) => Some(Self::DenyMedia),
            _ => None,
        }
    }
}

const TENANT: &str = "acme";
const INSTANCE: &str = "prod";

fn confirmation(confirmed: bool, text: &str, reason: &str) -> Option<ElevatedConfirmation> {
    Some(ElevatedConfirmation {
        confirmed,
        confirmation: text.into(),
        reason: reason.into(),
    })
}

fn call(
    name: &'static str,
    exercised: &[Capability],
    deletes: u64,
    media_items: u64,
    media_bytes: u64,
    confirmation: Option<ElevatedConfirmation>,
    expected: Verdict,
) -> Call {
    let tables = ["incident", "problem", "change_request", "task"];
    Call {
        name,
        capability: CapabilityInput {
            tenant_id: TENANT.into(),
            instance_id: INSTANCE.into(),
            required_capabilities: vec![Capability::RestoreExecute],
            exercised_capabilities: exercised.to_vec(),
            scope: ScopeFacts {
                rows: 40 + deletes,
                deletes,
                tables: tables.iter().map(|t| (*t).to_owned()).collect(),
            },
            elevated_confirmation: confirmation.clone(),
        },
        media: MediaCapsInput {
            tenant_id: TENANT.into(),
            instance_id: INSTANCE.into(),
            candidate_count: media_items,
            total_bytes: media_bytes,
            exercised_capabilities: exercised.to_vec(),
            elevated_confirmation: confirmation,
        },
        expected,
    }
}

const MB: u64 = 1 << 20;
const REASON: &str = "INC0012345: restore after the bad import";

fn valid() -> Option<ElevatedConfirmation> {
    confirmation(true, "acme/prod", REASON)
}

/// Allowed, and denied by each clause of either rule. The first three are
/// the ones timed; the rest are checked for agreement only.
pub fn calls() -> Vec<Call> {
    let mut calls = first_calls();
    calls.extend(more_calls());
    calls
}

fn first_calls() -> Vec<Call> {
    use Capability::{
        RestoreDelete as Delete, RestoreExecute as Exec, RestoreOverrideCaps as Over,
    };
    use Verdict::{Allow, DenyCapability, DenyMedia};
    vec![
        call("allowed", &[Exec, Delete], 12, 8, 3 * MB, None, Allow),
        call(
            "denied: restore_delete missing",
            &[Exec],
            12,
            8,
            3 * MB,
            None,
            DenyCapability,
        ),
        call(
            "denied: over the media item cap",
            &[Exec, Delete],
            12,
            150,
            3 * MB,
            None,
            DenyMedia,
        ),
        call(
            "denied: restore_execute missing",
            &[Delete],
            0,
            0,
            0,
            None,
            DenyCapability,
        ),
        call(
            "allowed: no deletes, no media",
            &[Exec],
            0,
            0,
            0,
            None,
            Allow,
        ),
        call(
            "denied: high risk, no confirmation",
            &[Exec, Delete, Over],
            500,
            8,
            MB,
            None,
            DenyCapability,
        ),
        call(
            "allowed: high risk, confirmed",
            &[Exec, Delete, Over],
            500,
            8,
            MB,
            valid(),
            Allow,
        ),
    ]
}

fn more_calls() -> Vec<Call> {
    use Capability::{
        RestoreDelete as Delete, RestoreExecute as Exec, RestoreOverrideCaps as Over,
    };
    use Verdict::{Allow, DenyCapability, DenyMedia};
    vec![
        call(
            "denied: high risk, wrong confirmation",
            &[Exec, Delete, Over],
            500,
            8,
            MB,
            confirmation(true, "acme/test", "a reason"),
            DenyCapability,
        ),
        call(
            "denied: high risk, blank reason",
            &[Exec, Delete, Over],
            500,
            8,
            MB,
            confirmation(true, "acme/prod", "  \t"),
            DenyCapability,
        ),
        call(
            "denied: over the media byte cap",
            &[Exec],
            0,
            3,
            200 * MB,
            None,
            DenyMedia,
        ),
        call(
            "allowed: media over caps, overridden",
            &[Exec, Over],
            0,
            150,
            200 * MB,
            valid(),
            Allow,
        ),
        call(
            "denied: media overridden, not confirmed",
            &[Exec, Over],
            0,
            150,
            MB,
            confirmation(false, "acme/prod", REASON),
            DenyMedia,
        ),
        call(
            "denied: media over caps, confirmed, no override",
            &[Exec],
            0,
            150,
            MB,
            valid(),
            DenyMedia,
        ),
    ]
}

/// How many of [`calls`] are timed.
pub const TIMED: usize = 3;
