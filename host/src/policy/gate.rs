//! The gate decision's public input and output (plain serde structs built by
//! the dry-run domain), their conversion to and from the WIT types, and the
//! host-side check of the invariants `plugins/wit/policy.wit` documents for
//! `gate-output`: a plugin that breaks them is a `policy_bad_output` denial.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::bindings::gate_wit as wit;
use super::failure::PolicyFailure;
use super::timestamp;

/// The facts of one dry-run plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateInput {
    /// The source: whose backup (and watermarks) the plan reads.
    pub tenant_id: String,
    pub instance_id: String,
    /// The instance the plan restores into, when it is not the source. A
    /// plugin built against 1.1.0 sees it in `context`; one built against
    /// 1.0.0 sees only the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<GateTarget>,
    /// Set on an undo plan: the job it reverts (in `context` since 1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_of_job: Option<String>,
    #[serde(with = "timestamp")]
    pub pit: DateTime<Utc>,
    /// The host's clock for this plan; the plugin has no other.
    #[serde(with = "timestamp")]
    pub now: DateTime<Utc>,
    /// Every `(topic, partition)` feeding the scope.
    #[serde(default)]
    pub partitions: Vec<PartitionFact>,
    #[serde(default)]
    pub delete_candidates: Vec<DeleteCandidate>,
    #[serde(default)]
    pub reference_conflicts: Vec<ReferenceConflict>,
}

/// The instance a plan restores into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateTarget {
    pub tenant_id: String,
    pub instance_id: String,
}

/// One partition's watermark; `lag_seconds` (`now - watermark_time`) is
/// derived by the host when it calls the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionFact {
    pub topic: String,
    pub partition: i32,
    #[serde(default, with = "timestamp::option")]
    pub watermark_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteDecision {
    AllowDeletion,
    SkipDeletion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteCandidate {
    pub candidate_id: String,
    pub table: String,
    pub sys_id: String,
    #[serde(default)]
    pub decision: Option<DeleteDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceConflict {
    pub table: String,
    pub sys_id: String,
    pub field: String,
    pub referenced_table: String,
    pub referenced_sys_id: String,
}

/// `gate.executability` of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Executability {
    Executable,
    PreviewOnly,
    Blocked,
}

impl Executability {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A gate reason code, declared (and ordered) as CONTRACT.md lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum GateReason {
    /// The host's alone: the gate plugin failed.
    BlockedPolicyError,
    BlockedFreshnessUnknown,
    BlockedUnresolvedDeleteCandidates,
    BlockedReferenceConflict,
    BlockedFreshnessStale,
}

impl GateReason {
    /// The contract's reason code.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A partition's `freshness` in the plan's `watermarks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Fresh,
    Stale,
    Unknown,
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateOutput {
    pub executability: Executability,
    /// The first of `reasons`; `None` when executable.
    pub reason_code: Option<GateReason>,
    /// Every reason that applies, in the contract's order.
    pub reasons: Vec<GateReason>,
    /// One per input partition, in order.
    pub partition_freshness: Vec<Freshness>,
}

impl GateOutput {
    /// The gate of a plan whose gate policy failed: blocked with
    /// `blocked_policy_error`, every partition's freshness unknown.
    pub fn policy_error(partitions: usize) -> Self {
        Self {
            executability: Executability::Blocked,
            reason_code: Some(GateReason::BlockedPolicyError),
            reasons: vec![GateReason::BlockedPolicyError],
            partition_freshness: vec![Freshness::Unknown; partitions],
        }
    }
}

pub(crate) fn to_wit(input: &GateInput) -> wit::GateInput {
    let now = input.now.timestamp();
    wit::GateInput {
        tenant_id: input.tenant_id.clone(),
        instance_id: input.instance_id.clone(),
        pit: input.pit.timestamp(),
        now,
        partitions: input
            .partitions
            .iter()
            .map(|p| {
                let watermark = p.watermark_time.map(|w| w.timestamp());
                wit::PartitionFact {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    watermark_time: watermark,
                    lag_seconds: watermark.map(|w| now.saturating_sub(w)),
                }
            })
            .collect(),
        delete_candidates: input
            .delete_candidates
            .iter()
            .map(|c| wit::DeleteCandidate {
                candidate_id: c.candidate_id.clone(),
                table: c.table.clone(),
                sys_id: c.sys_id.clone(),
                decision: c.decision.map(|d| match d {
                    DeleteDecision::AllowDeletion => wit::DeleteDecision::AllowDeletion,
                    DeleteDecision::SkipDeletion => wit::DeleteDecision::SkipDeletion,
                }),
            })
            .collect(),
        reference_conflicts: input
            .reference_conflicts
            .iter()
            .map(|r| wit::ReferenceConflict {
                table: r.table.clone(),
                sys_id: r.sys_id.clone(),
                field: r.field.clone(),
                referenced_table: r.referenced_table.clone(),
                referenced_sys_id: r.referenced_sys_id.clone(),
            })
            .collect(),
        context: Some(wit::PlanContext {
            target_tenant_id: input
                .target
                .as_ref()
                .map_or(&input.tenant_id, |t| &t.tenant_id)
                .clone(),
            target_instance_id: input
                .target
                .as_ref()
                .map_or(&input.instance_id, |t| &t.instance_id)
                .clone(),
            undo_of_job: input.undo_of_job.clone(),
        }),
    }
}

fn reason_from_wit(r: wit::GateReason) -> GateReason {
    match r {
        wit::GateReason::FreshnessUnknown => GateReason::BlockedFreshnessUnknown,
        wit::GateReason::UnresolvedDeleteCandidates => {
            GateReason::BlockedUnresolvedDeleteCandidates
        }
        wit::GateReason::ReferenceConflict => GateReason::BlockedReferenceConflict,
        wit::GateReason::FreshnessStale => GateReason::BlockedFreshnessStale,
    }
}

/// Converts and checks the plugin's output against the input it was given.
pub(crate) fn from_wit(
    input: &GateInput,
    out: wit::GateOutput,
) -> Result<GateOutput, PolicyFailure> {
    let output = GateOutput {
        executability: match out.executability {
            wit::Executability::Executable => Executability::Executable,
            wit::Executability::PreviewOnly => Executability::PreviewOnly,
            wit::Executability::Blocked => Executability::Blocked,
        },
        reason_code: out.reason_code.map(reason_from_wit),
        reasons: out.reasons.into_iter().map(reason_from_wit).collect(),
        partition_freshness: out
            .partition_freshness
            .into_iter()
            .map(|f| match f {
                wit::Freshness::Fresh => Freshness::Fresh,
                wit::Freshness::Stale => Freshness::Stale,
                wit::Freshness::Unknown => Freshness::Unknown,
            })
            .collect(),
    };
    check(input, &output).map_err(PolicyFailure::bad_output)?;
    Ok(output)
}

fn expected_executability(reasons: &[GateReason]) -> Executability {
    match reasons {
        [] => Executability::Executable,
        [GateReason::BlockedFreshnessStale] => Executability::PreviewOnly,
        _ => Executability::Blocked,
    }
}

/// The invariants of `gate-output` in `plugins/wit/policy.wit`.
fn check(input: &GateInput, out: &GateOutput) -> Result<(), String> {
    if !out.reasons.windows(2).all(|w| w[0] < w[1]) {
        return Err(format!(
            "reasons {:?} are not unique and in contract order",
            out.reasons
        ));
    }
    if out.reason_code != out.reasons.first().copied() {
        return Err(format!(
            "reason_code {:?} is not the first of reasons {:?}",
            out.reason_code, out.reasons
        ));
    }
    let expected = expected_executability(&out.reasons);
    if out.executability != expected {
        return Err(format!(
            "executability {:?} contradicts reasons {:?} (expected {expected:?})",
            out.executability, out.reasons
        ));
    }
    if out.partition_freshness.len() != input.partitions.len() {
        return Err(format!(
            "partition_freshness has {} entries for {} partitions",
            out.partition_freshness.len(),
            input.partitions.len()
        ));
    }
    for (fact, freshness) in input.partitions.iter().zip(&out.partition_freshness) {
        if fact.watermark_time.is_none() && *freshness != Freshness::Unknown {
            return Err(format!(
                "partition {}/{} has no watermark but freshness {freshness:?}",
                fact.topic, fact.partition
            ));
        }
    }
    let implied = [
        (Freshness::Unknown, GateReason::BlockedFreshnessUnknown),
        (Freshness::Stale, GateReason::BlockedFreshnessStale),
    ];
    for (freshness, reason) in implied {
        if out.partition_freshness.contains(&freshness) && !out.reasons.contains(&reason) {
            return Err(format!(
                "a partition is {freshness:?} but reasons lack {}",
                reason.as_str()
            ));
        }
    }
    Ok(())
}
