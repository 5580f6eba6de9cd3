//! Wire types of plans. They mirror `domain::plan::document` field for
//! field and are converted from it with `From`, so a field the two
//! disagree on is a compile error, not a failed request.

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use super::types::{CapabilityName, Timestamp};
use crate::domain::plan::document::{
    ChunkingDoc, ConflictDecision, DeleteCandidateDoc, GateDoc, MediaCandidateDoc, MediaSummaryDoc,
    PlanDocument, PlanRow, PolicyDoc, PolicyErrorDoc, ReferenceConflictDoc, RowAction, SummaryDoc,
    TableDoc, UndoConflictDoc, UndoDoc, WatermarkDoc,
};
use crate::domain::plan::request::{DecisionInput, InstanceRef, PlanInputs, ScopeTable};
use crate::domain::plan::undo::ConflictDecisionInput;
use crate::domain::ReasonCode;
use crate::policy::{DeleteDecision, Executability, Freshness, PolicyFailureKind};

/// A plan's executability: `executable` (a job may be created),
/// `preview_only` (stale freshness alone; inspect, do not execute) or
/// `blocked` (fail-closed reasons; replan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case", remote = "Executability")]
#[serde(rename_all = "snake_case")]
pub enum ExecutabilityName {
    Executable,
    PreviewOnly,
    Blocked,
}

/// A partition's freshness: `fresh`, `stale` (watermark behind the PIT or
/// lagging past the policy's limit) or `unknown` (no watermark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case", remote = "Freshness")]
#[serde(rename_all = "snake_case")]
pub enum FreshnessName {
    Fresh,
    Stale,
    Unknown,
}

/// A decision on a delete candidate: `allow_deletion` (the row is deleted)
/// or `skip_deletion` (the row is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case", remote = "DeleteDecision")]
#[serde(rename_all = "snake_case")]
pub enum DeleteDecisionName {
    AllowDeletion,
    SkipDeletion,
}

/// What the plan does with a record: `create`, `update`, `unchanged`,
/// `delete` (allowed delete candidate), `skip_delete` (skipped candidate),
/// `undecided_delete`, and in an undo plan `keep_current` (a conflict left
/// as it is) or `undecided_conflict`. Only `create`, `update` and `delete`
/// execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case", remote = "RowAction")]
#[serde(rename_all = "snake_case")]
pub enum RowActionName {
    Create,
    Update,
    Unchanged,
    Delete,
    SkipDelete,
    UndecidedDelete,
    KeepCurrent,
    UndecidedConflict,
}

/// A decision on an undo conflict: `keep_current` (leave the row as it is
/// now) or `revert` (write the before-image back over the later change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case", remote = "ConflictDecision")]
#[serde(rename_all = "snake_case")]
pub enum ConflictDecisionName {
    KeepCurrent,
    Revert,
}

/// The policy plugin that decided.
#[derive(Debug, Clone, Object)]
#[oai(remote = "PolicyDoc")]
pub struct PolicyRefBody {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Hex sha256 of the plugin's wasm.
    pub digest: String,
}

/// How a policy call failed: `policy_timeout` (past its deadline),
/// `policy_trap` (a trap, the memory cap, a stack overflow) or
/// `policy_bad_output` (an answer the contract does not allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case", remote = "PolicyFailureKind")]
pub enum PolicyFailureKindName {
    PolicyTimeout,
    PolicyTrap,
    PolicyBadOutput,
}

/// A failed policy call (the gate failed closed).
#[derive(Debug, Clone, Object)]
#[oai(remote = "PolicyErrorDoc")]
pub struct PolicyErrorBody {
    /// `policy_timeout`, `policy_trap` or `policy_bad_output`.
    pub kind: PolicyFailureKindName,
    /// What happened.
    pub message: String,
}

/// The gate's verdict.
#[derive(Debug, Clone, Object)]
pub struct GateBody {
    /// Whether a job may be created from the plan.
    pub executability: ExecutabilityName,
    /// The first of `reasons`; null when executable.
    pub reason_code: Option<ReasonCode>,
    /// Every reason that applies, ordered `blocked_policy_error`,
    /// `blocked_freshness_unknown`, `blocked_unresolved_delete_candidates`,
    /// `blocked_reference_conflict`, `blocked_freshness_stale`.
    pub reasons: Vec<ReasonCode>,
    /// The gate policy that decided.
    pub policy: PolicyRefBody,
    /// Id of the decision in the decision log.
    pub decision_id: String,
    /// Set when the gate policy failed (then `reason_code` is `blocked_policy_error`).
    pub policy_error: Option<PolicyErrorBody>,
    /// Scoped tables with no index records: nothing is known of their history.
    pub tables_without_history: Vec<String>,
}

/// A partition feeding the scope.
#[derive(Debug, Clone, Object)]
pub struct PlanWatermarkBody {
    /// Tenant.
    pub tenant_id: String,
    /// Instance.
    pub instance_id: String,
    /// CDC topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The partition is complete up to this time; null when no watermark was published.
    pub watermark_time: Option<Timestamp>,
    /// When the watermark was stored; null without one.
    pub published_at: Option<Timestamp>,
    /// Seconds between the watermark and the plan's creation; null without one.
    pub lag_seconds: Option<i64>,
    /// The gate policy's verdict on this partition.
    pub freshness: FreshnessName,
}

/// Counts of rows by action.
#[derive(Debug, Clone, Object)]
#[oai(remote = "SummaryDoc")]
pub struct PlanSummaryBody {
    /// Sum of the counts; the number of rows `/rows` pages through.
    pub rows_total: i64,
    /// Records to create.
    pub creates: i64,
    /// Records to update.
    pub updates: i64,
    /// Records already as at the PIT.
    pub unchanged: i64,
    /// Delete candidates allowed.
    pub deletes: i64,
    /// Delete candidates skipped.
    pub skipped_deletes: i64,
    /// Delete candidates without a decision.
    pub undecided_deletes: i64,
    /// Undo conflicts decided `keep_current`.
    pub kept_current: i64,
    /// Undo conflicts without a decision (they block an undo plan).
    pub undecided_conflicts: i64,
}

/// A target row with no version at the PIT.
#[derive(Debug, Clone, Object)]
pub struct DeleteCandidateBody {
    /// Deterministic id: the same table and `sys_id` give the same id in every plan.
    pub candidate_id: String,
    /// Table.
    pub table: String,
    /// The row's `sys_id`.
    pub sys_id: String,
    /// The decision taken in the request; null when undecided.
    pub decision: Option<DeleteDecisionName>,
}

/// A restored row referring to a record that will not exist after the restore.
#[derive(Debug, Clone, Object)]
#[oai(remote = "ReferenceConflictDoc")]
pub struct ReferenceConflictBody {
    /// Table of the restored row.
    pub table: String,
    /// The restored row's `sys_id`.
    pub sys_id: String,
    /// The reference column.
    pub field: String,
    /// The table referred to.
    pub referenced_table: String,
    /// The `sys_id` referred to.
    pub referenced_sys_id: String,
}

/// What an undo plan reverts and what stands in its way.
#[derive(Debug, Clone, Object)]
pub struct UndoBody {
    /// The job whose writes the plan reverts.
    pub job_id: String,
    /// That job's plan.
    pub plan_id: String,
    /// The manifest sha256 of that job's latest evidence package (null
    /// when it has none).
    pub evidence_manifest_sha256: Option<String>,
    /// Rows changed since the job wrote them; each needs a decision.
    pub conflicts: Vec<UndoConflictBody>,
}

/// A row the job wrote that someone changed since.
#[derive(Debug, Clone, Object)]
pub struct UndoConflictBody {
    /// Deterministic: the same job and row give the same id in every undo plan.
    pub conflict_id: String,
    /// Table.
    pub table: String,
    /// The row's `sys_id`.
    pub sys_id: String,
    /// What the job did to the row.
    pub job_action: RowActionName,
    /// sha256 of what the job left (null: it deleted the row).
    pub restored_sha256: Option<String>,
    /// sha256 of the row now (null: absent).
    pub current_sha256: Option<String>,
    /// The decision taken in the request; null when undecided.
    pub decision: Option<ConflictDecisionName>,
}

/// A decision on an undo conflict.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(remote = "ConflictDecisionInput")]
#[serde(deny_unknown_fields)]
pub struct ConflictDecisionBody {
    /// A `conflict_id` from an earlier undo plan of the same job.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub conflict_id: String,
    /// The decision.
    pub decision: ConflictDecisionName,
}

/// An attachment the plan restores (its version at the PIT).
#[derive(Debug, Clone, Object)]
#[oai(remote = "MediaCandidateDoc")]
pub struct MediaCandidateBody {
    /// Deterministic id of this attachment version.
    pub candidate_id: String,
    /// The attachment's id.
    pub media_id: String,
    /// Table of the parent record.
    pub parent_table: String,
    /// `sys_id` of the parent record.
    pub parent_sys_id: String,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size of the bytes.
    pub size_bytes: i64,
    /// Hex sha256 of the bytes, checked when restored.
    pub sha256_plain: String,
}

/// Count and bytes of the media candidates.
#[derive(Debug, Clone, Object)]
#[oai(remote = "MediaSummaryDoc")]
pub struct MediaSummaryBody {
    /// Number of media candidates.
    pub count: i64,
    /// Their total size.
    pub total_bytes: i64,
}

/// How the executed rows are split.
#[derive(Debug, Clone, Object)]
#[oai(remote = "ChunkingDoc")]
pub struct ChunkingBody {
    /// Executed rows per chunk.
    pub chunk_size: i64,
    /// Number of chunks (only `create`, `update` and `delete` rows are chunked).
    pub total_chunks: i64,
}

/// A scoped table's target state as planned; execution revalidates it.
#[derive(Debug, Clone, Object)]
#[oai(remote = "TableDoc")]
pub struct PlanTableBody {
    /// Table.
    pub table: String,
    /// The target schema's hash at planning; null when the target has no such table.
    pub schema_sha256: Option<String>,
    /// Whether the target allowed writes at planning.
    pub write_allowed: bool,
}

/// An instance of a tenant.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(remote = "InstanceRef")]
#[serde(deny_unknown_fields)]
pub struct InstanceRefBody {
    /// Tenant.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub tenant_id: String,
    /// Instance of the tenant.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub instance_id: String,
}

/// One table of a scope.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(remote = "ScopeTable")]
#[serde(deny_unknown_fields)]
pub struct ScopeTableBody {
    /// Table name.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub table: String,
    /// Records to restore; absent means the whole table.
    #[oai(validator(max_items = 100000, min_length = 1, max_length = 256))]
    pub sys_ids: Option<Vec<String>>,
}

/// A decision on a delete candidate.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(remote = "DecisionInput")]
#[serde(deny_unknown_fields)]
pub struct DeleteDecisionBody {
    /// A `candidate_id` from an earlier plan of the same scope.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub candidate_id: String,
    /// The decision.
    pub decision: DeleteDecisionName,
}

/// The normalised inputs the plan hash covers.
#[derive(Debug, Clone, Object)]
pub struct PlanInputsBody {
    /// Tenant of the source.
    pub tenant_id: String,
    /// Instance of the source.
    pub instance_id: String,
    /// The target when it is not the source (absent otherwise, so a plan
    /// into its source hashes as it always did).
    pub target: Option<InstanceRefBody>,
    /// The point in time.
    pub pit: Timestamp,
    /// Tables sorted by name, `sys_ids` sorted and de-duplicated.
    pub scope: Vec<ScopeTableBody>,
    /// Decisions sorted by candidate id.
    pub delete_decisions: Vec<DeleteDecisionBody>,
    /// Whether attachments are restored.
    pub include_media: bool,
    /// Executed rows per chunk.
    pub chunk_size: u32,
}

/// An immutable dry-run plan.
#[derive(Debug, Clone, Object)]
pub struct PlanBody {
    /// The plan's id.
    pub plan_id: String,
    /// sha256 of the canonical (RFC 8785) inputs (everything but `plan_id`).
    pub plan_hash: String,
    /// sha256 over everything the plan decided, rows included; execution
    /// and resume verify it.
    pub plan_checksum: String,
    /// Tenant of the source (the same as `source.tenant_id`).
    pub tenant_id: String,
    /// Instance of the source (the same as `source.instance_id`).
    pub instance_id: String,
    /// Whose backup the plan reads.
    pub source: InstanceRefBody,
    /// The instance the plan restores into: the diff is against it, a job
    /// locks its tables and writes it. The source unless the request named
    /// another.
    pub target: InstanceRefBody,
    /// The point in time restored to.
    pub pit: Timestamp,
    /// When the plan was made.
    pub created_at: Timestamp,
    /// The PIT selection rule (`pit-v1`: the latest version with
    /// `event_time <= pit`, ties broken by offset).
    pub pit_algorithm_version: String,
    /// The gate's verdict.
    pub gate: GateBody,
    /// Every partition feeding the scope.
    pub watermarks: Vec<PlanWatermarkBody>,
    /// Row counts by action.
    pub summary: PlanSummaryBody,
    /// Target rows with no version at the PIT.
    pub delete_candidates: Vec<DeleteCandidateBody>,
    /// References that would dangle after the restore.
    pub reference_conflicts: Vec<ReferenceConflictBody>,
    /// Attachments the plan restores.
    pub media_candidates: Vec<MediaCandidateBody>,
    /// Count and bytes of the media candidates.
    pub media_summary: MediaSummaryBody,
    /// Capabilities executing the plan exercises.
    pub required_capabilities: Vec<CapabilityName>,
    /// How executed rows are split into chunks.
    pub chunking: ChunkingBody,
    /// The scoped tables' target state as planned.
    pub tables: Vec<PlanTableBody>,
    /// The normalised inputs.
    pub inputs: PlanInputsBody,
    /// Set on an undo plan (`POST /v1/jobs/{job_id}/undo-plan`): the job it
    /// reverts and the conflicts to decide.
    pub undo: Option<UndoBody>,
    /// Attachments an undo plan removes (those its job wrote).
    pub media_removals: Vec<MediaCandidateBody>,
}

/// One row of a plan.
#[derive(Debug, Clone, Object)]
#[oai(remote = "PlanRow")]
pub struct PlanRowBody {
    /// The row's id within the plan (1-based, in plan order).
    pub plan_row_id: i64,
    /// The chunk that executes it; null for rows that do not execute.
    pub chunk_index: Option<i64>,
    /// Table.
    pub table: String,
    /// The record's `sys_id`.
    pub sys_id: String,
    /// What the plan does with it.
    pub action: RowActionName,
    /// sha256 of the target row at planning (null when absent); execution
    /// checks it before writing.
    pub before_sha256: Option<String>,
    /// sha256 of the payload written (null for deletes and non-executed rows without a version).
    pub after_sha256: Option<String>,
}

/// A page of plan rows.
#[derive(Debug, Clone, Object)]
pub struct PlanRowsPage {
    /// The rows, in plan order.
    pub items: Vec<PlanRowBody>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

fn all<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}

impl From<GateDoc> for GateBody {
    fn from(g: GateDoc) -> Self {
        Self {
            executability: g.executability.into(),
            reason_code: g.reason_code,
            reasons: g.reasons,
            policy: g.policy.into(),
            decision_id: g.decision_id,
            policy_error: g.policy_error.map(Into::into),
            tables_without_history: g.tables_without_history,
        }
    }
}

impl From<WatermarkDoc> for PlanWatermarkBody {
    fn from(w: WatermarkDoc) -> Self {
        Self {
            tenant_id: w.tenant_id,
            instance_id: w.instance_id,
            topic: w.topic,
            partition: w.partition,
            watermark_time: w.watermark_time.map(Timestamp),
            published_at: w.published_at.map(Timestamp),
            lag_seconds: w.lag_seconds,
            freshness: w.freshness.into(),
        }
    }
}

impl From<DeleteCandidateDoc> for DeleteCandidateBody {
    fn from(c: DeleteCandidateDoc) -> Self {
        Self {
            candidate_id: c.candidate_id,
            table: c.table,
            sys_id: c.sys_id,
            decision: c.decision.map(Into::into),
        }
    }
}

impl From<UndoDoc> for UndoBody {
    fn from(u: UndoDoc) -> Self {
        Self {
            job_id: u.job_id,
            plan_id: u.plan_id,
            evidence_manifest_sha256: u.evidence_manifest_sha256,
            conflicts: all(u.conflicts),
        }
    }
}

impl From<UndoConflictDoc> for UndoConflictBody {
    fn from(c: UndoConflictDoc) -> Self {
        Self {
            conflict_id: c.conflict_id,
            table: c.table,
            sys_id: c.sys_id,
            job_action: c.job_action.into(),
            restored_sha256: c.restored_sha256,
            current_sha256: c.current_sha256,
            decision: c.decision.map(Into::into),
        }
    }
}

impl From<PlanInputs> for PlanInputsBody {
    fn from(i: PlanInputs) -> Self {
        Self {
            tenant_id: i.tenant_id,
            instance_id: i.instance_id,
            target: i.target.map(Into::into),
            pit: Timestamp(i.pit),
            scope: all(i.scope),
            delete_decisions: all(i.delete_decisions),
            include_media: i.include_media,
            chunk_size: i.chunk_size,
        }
    }
}

impl From<PlanDocument> for PlanBody {
    fn from(d: PlanDocument) -> Self {
        let source = d.source_instance().into();
        let target = d.target_instance().into();
        Self {
            source,
            target,
            plan_id: d.plan_id,
            plan_hash: d.plan_hash,
            plan_checksum: d.plan_checksum,
            tenant_id: d.tenant_id,
            instance_id: d.instance_id,
            pit: Timestamp(d.pit),
            created_at: Timestamp(d.created_at),
            pit_algorithm_version: d.pit_algorithm_version,
            gate: d.gate.into(),
            watermarks: all(d.watermarks),
            summary: d.summary.into(),
            delete_candidates: all(d.delete_candidates),
            reference_conflicts: all(d.reference_conflicts),
            media_candidates: all(d.media_candidates),
            media_summary: d.media_summary.into(),
            required_capabilities: all(d.required_capabilities),
            chunking: d.chunking.into(),
            tables: all(d.tables),
            inputs: d.inputs.into(),
            undo: d.undo.map(Into::into),
            media_removals: all(d.media_removals),
        }
    }
}
