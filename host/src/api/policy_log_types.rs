//! Wire types of the policy endpoints beyond the plain list: the kind
//! enum they share, the decision log (`GET /v1/policies/decisions`) and
//! shadow evaluation (`GET /v1/policies/shadow`).

use poem_openapi::{Enum, Object};

use super::types::Timestamp;
use crate::domain::policy_log::LoggedDecision;
use crate::domain::policy_shadow::ShadowSummary;
use crate::domain::ReasonCode;
use crate::policy::{DecisionOutcome, PolicyKind, PolicyRef};

/// What a policy decides: `gate` (dry-run executability), `capability`
/// (execute and resume) or `media_caps` (attachment caps).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "PolicyKind")]
pub enum PolicyKindName {
    Gate,
    Capability,
    MediaCaps,
}

/// How a decision came out: `executable`, `preview_only` or `blocked`
/// (gate), `allow` or `deny` (capability, media caps), `policy_error` (the
/// plugin failed and the decision denied, fail closed).
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case", remote = "DecisionOutcome")]
pub enum DecisionOutcomeName {
    Executable,
    PreviewOnly,
    Blocked,
    Allow,
    Deny,
    PolicyError,
}

/// The plugin that decided.
#[derive(Debug, Object)]
pub struct DecidingPolicy {
    /// Its name (from its metadata).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Hex sha256 of its wasm.
    pub digest: String,
}

/// One logged policy decision.
#[derive(Debug, Object)]
pub struct DecisionBody {
    /// The decision's id (a plan's `gate.decision_id`, an evidence
    /// manifest's `policy_decisions[].decision_id`).
    pub decision_id: String,
    /// What was decided.
    pub kind: PolicyKindName,
    /// The plugin that decided.
    pub policy: DecidingPolicy,
    /// The input as the plugin's JSON form (`rrs policy eval` reads the
    /// same); null for decisions logged before inputs were kept.
    pub input: Option<serde_json::Value>,
    /// Hex sha256 of the input's JSON.
    pub input_sha256: String,
    /// The output, or `{"policy_error", "message"}` when the plugin failed.
    pub output: serde_json::Value,
    /// How it came out.
    pub outcome: DecisionOutcomeName,
    /// The reason codes of the output, in order: a gate's `reasons`, a
    /// denial's `reason_code`, `blocked_policy_error` for a failed plugin;
    /// empty when allowed or executable.
    pub reason_codes: Vec<ReasonCode>,
    /// `plan` (gate) or `job` (capability, media caps).
    pub subject_kind: String,
    /// The plan or job id.
    pub subject_id: String,
    /// When it was decided.
    pub decided_at: Timestamp,
}

/// A page of the decision log, oldest first.
#[derive(Debug, Object)]
pub struct DecisionPage {
    /// The decisions.
    pub items: Vec<DecisionBody>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl From<LoggedDecision> for DecisionBody {
    fn from(d: LoggedDecision) -> Self {
        Self {
            decision_id: d.decision_id,
            kind: d.kind.into(),
            policy: DecidingPolicy {
                name: d.policy.name,
                version: d.policy.version,
                digest: d.policy.digest,
            },
            input: d.input,
            input_sha256: d.input_sha256,
            output: d.output,
            outcome: d.outcome.into(),
            reason_codes: d.reason_codes,
            subject_kind: d.subject_kind,
            subject_id: d.subject_id,
            decided_at: d.decided_at.into(),
        }
    }
}

/// One kind's shadow evaluation.
#[derive(Debug, Object)]
pub struct ShadowKind {
    /// The kind.
    pub kind: PolicyKindName,
    /// Disagreements recorded for it (all replicas, the token's tenants).
    pub disagreements: i64,
    /// Its current shadow candidate; null when the set names none.
    pub candidate: Option<DecidingPolicy>,
}

/// The live side of a disagreement.
#[derive(Debug, Object)]
pub struct LiveSide {
    /// Hex sha256 of the live plugin's wasm.
    pub digest: String,
    /// Its (enforced) outcome.
    pub outcome: DecisionOutcomeName,
    /// Its output.
    pub output: serde_json::Value,
}

/// The candidate side of a disagreement.
#[derive(Debug, Object)]
pub struct CandidateSide {
    /// The candidate plugin.
    pub policy: DecidingPolicy,
    /// Its outcome (never enforced); `policy_error` when it failed.
    pub outcome: DecisionOutcomeName,
    /// Its output, or `{"policy_error", "message"}`.
    pub output: serde_json::Value,
}

/// A shadow candidate that decided otherwise than the live plugin.
#[derive(Debug, Object)]
pub struct ShadowDisagreementBody {
    /// The live decision (`GET /v1/policies/decisions` lists its input).
    pub decision_id: String,
    /// The kind.
    pub kind: PolicyKindName,
    /// What was enforced.
    pub live: LiveSide,
    /// What the candidate would have decided.
    pub candidate: CandidateSide,
    /// When the candidate decided.
    pub decided_at: Timestamp,
}

/// Shadow evaluation: per-kind counts and the latest disagreements.
#[derive(Debug, Object)]
pub struct ShadowReport {
    /// Every kind, in kind order.
    pub kinds: Vec<ShadowKind>,
    /// The most recent disagreements, newest first.
    pub recent: Vec<ShadowDisagreementBody>,
}

impl From<ShadowSummary> for ShadowReport {
    fn from(s: ShadowSummary) -> Self {
        Self {
            kinds: s
                .kinds
                .into_iter()
                .map(|(kind, disagreements, candidate)| ShadowKind {
                    kind: kind.into(),
                    disagreements,
                    candidate: candidate.map(deciding),
                })
                .collect(),
            recent: s
                .recent
                .into_iter()
                .map(|d| ShadowDisagreementBody {
                    decision_id: d.decision_id,
                    kind: d.kind.into(),
                    live: LiveSide {
                        digest: d.live.policy.digest,
                        outcome: d.live.outcome.into(),
                        output: d.live.output,
                    },
                    candidate: CandidateSide {
                        policy: deciding(d.candidate.policy),
                        outcome: d.candidate.outcome.into(),
                        output: d.candidate.output,
                    },
                    decided_at: d.decided_at.into(),
                })
                .collect(),
        }
    }
}

fn deciding(p: PolicyRef) -> DecidingPolicy {
    DecidingPolicy {
        name: p.name,
        version: p.version,
        digest: p.digest,
    }
}
