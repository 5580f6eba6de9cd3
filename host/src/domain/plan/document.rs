//! The plan document as stored and served: everything a reader, a job, an
//! execution and an auditor need to know of a plan except its rows.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};
use strum::{EnumString, IntoStaticStr};

use super::request::{InstanceRef, PlanInputs};
use crate::domain::principal::Capability;
use crate::domain::ReasonCode;
use crate::policy::{DeleteDecision, Executability, Freshness, PolicyFailureKind};

/// How records were chosen at the PIT; stored with every plan so evidence
/// says which rule produced it.
pub const PIT_ALGORITHM_VERSION: &str = "pit-v1";

/// The whole plan (rows apart).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanDocument {
    pub plan_id: String,
    pub plan_hash: String,
    pub plan_checksum: String,
    /// The source (whose backup is read).
    pub tenant_id: String,
    pub instance_id: String,
    /// The source as recorded by plans made since restores could go
    /// elsewhere (absent in older documents: read [`Self::source_instance`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<InstanceRef>,
    /// The instance restored into (absent in older documents, whose target
    /// is their source: read [`Self::target_instance`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<InstanceRef>,
    #[serde(with = "crate::policy::timestamp")]
    pub pit: DateTime<Utc>,
    #[serde(with = "crate::policy::timestamp")]
    pub created_at: DateTime<Utc>,
    pub pit_algorithm_version: String,
    pub gate: GateDoc,
    pub watermarks: Vec<WatermarkDoc>,
    pub summary: SummaryDoc,
    pub delete_candidates: Vec<DeleteCandidateDoc>,
    pub reference_conflicts: Vec<ReferenceConflictDoc>,
    pub media_candidates: Vec<MediaCandidateDoc>,
    pub media_summary: MediaSummaryDoc,
    pub required_capabilities: Vec<Capability>,
    pub chunking: ChunkingDoc,
    pub tables: Vec<TableDoc>,
    pub inputs: PlanInputs,
    /// Set on an undo plan: which job it reverts, and its conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<UndoDoc>,
    /// Attachments an undo plan removes (those its job wrote).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_removals: Vec<MediaCandidateDoc>,
}

impl PlanDocument {
    /// Whose backup the plan reads.
    pub fn source_instance(&self) -> InstanceRef {
        InstanceRef {
            tenant_id: self.tenant_id.clone(),
            instance_id: self.instance_id.clone(),
        }
    }

    /// The instance the plan restores into: its target, else its source.
    pub fn target_instance(&self) -> InstanceRef {
        self.target
            .clone()
            .unwrap_or_else(|| self.source_instance())
    }
}

/// The gate's verdict and which policy gave it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateDoc {
    pub executability: Executability,
    pub reason_code: Option<ReasonCode>,
    pub reasons: Vec<ReasonCode>,
    pub policy: PolicyDoc,
    pub decision_id: String,
    /// Set when the gate policy failed (`policy_timeout`, `policy_trap`,
    /// `policy_bad_output`).
    pub policy_error: Option<PolicyErrorDoc>,
    /// Scoped tables with no index records (freshness unknown).
    pub tables_without_history: Vec<String>,
}

/// A policy plugin's identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyDoc {
    pub name: String,
    pub version: String,
    pub digest: String,
}

/// A failed policy call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyErrorDoc {
    pub kind: PolicyFailureKind,
    pub message: String,
}

/// One partition feeding the scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatermarkDoc {
    pub tenant_id: String,
    pub instance_id: String,
    pub topic: String,
    pub partition: i32,
    #[serde(with = "crate::policy::timestamp::option")]
    pub watermark_time: Option<DateTime<Utc>>,
    #[serde(with = "crate::policy::timestamp::option")]
    pub published_at: Option<DateTime<Utc>>,
    pub lag_seconds: Option<i64>,
    pub freshness: Freshness,
}

/// Row counts by action.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SummaryDoc {
    pub rows_total: i64,
    pub creates: i64,
    pub updates: i64,
    pub unchanged: i64,
    pub deletes: i64,
    pub skipped_deletes: i64,
    pub undecided_deletes: i64,
    /// Undo conflicts decided `keep_current` (absent in older documents).
    #[serde(default)]
    pub kept_current: i64,
    /// Undo conflicts without a decision.
    #[serde(default)]
    pub undecided_conflicts: i64,
}

/// A target row with no version at the PIT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteCandidateDoc {
    pub candidate_id: String,
    pub table: String,
    pub sys_id: String,
    pub decision: Option<DeleteDecision>,
}

/// A restored row referring to a record that will not exist.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferenceConflictDoc {
    pub table: String,
    pub sys_id: String,
    pub field: String,
    pub referenced_table: String,
    pub referenced_sys_id: String,
}

/// An attachment the plan restores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaCandidateDoc {
    pub candidate_id: String,
    pub media_id: String,
    pub parent_table: String,
    pub parent_sys_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256_plain: String,
}

/// Count and bytes of the media candidates.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MediaSummaryDoc {
    pub count: i64,
    pub total_bytes: i64,
}

/// How executed rows are split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkingDoc {
    pub chunk_size: i64,
    pub total_chunks: i64,
}

/// A scoped table's target schema as planned (execution revalidates it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableDoc {
    pub table: String,
    /// Null when the target has no such table (nothing can be written).
    pub schema_sha256: Option<String>,
    pub write_allowed: bool,
}

/// What an undo plan reverts and what stands in its way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndoDoc {
    /// The job whose writes the plan reverts.
    pub job_id: String,
    /// That job's plan.
    pub plan_id: String,
    /// The manifest sha256 of that job's latest evidence package, when it
    /// has one.
    pub evidence_manifest_sha256: Option<String>,
    /// Rows changed since the job wrote them.
    pub conflicts: Vec<UndoConflictDoc>,
}

/// A row the job wrote that is no longer what it wrote: someone changed it
/// since. Undoing it needs a decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndoConflictDoc {
    /// Deterministic: the same job and row give the same id in every plan.
    pub conflict_id: String,
    pub table: String,
    pub sys_id: String,
    /// What the job did to the row.
    pub job_action: RowAction,
    /// What the job left (null: it deleted the row).
    pub restored_sha256: Option<String>,
    /// What the row is now (null: absent).
    pub current_sha256: Option<String>,
    pub decision: Option<ConflictDecision>,
}

/// An operator's decision on an undo conflict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumString, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConflictDecision {
    /// Leave the row as it is now.
    KeepCurrent,
    /// Write the before-image back over the later change.
    Revert,
}

/// What a plan does with a record. Only `create`, `update` and `delete`
/// execute; the others are recorded so the plan accounts for every record.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumString, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RowAction {
    Create,
    Update,
    Unchanged,
    Delete,
    SkipDelete,
    UndecidedDelete,
    /// An undo conflict left as it is now.
    KeepCurrent,
    /// An undo conflict without a decision (blocks the plan).
    UndecidedConflict,
}

impl RowAction {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One row of a plan as `GET /v1/plans/{plan_id}/rows` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    pub plan_row_id: i64,
    /// Null for rows that do not execute.
    pub chunk_index: Option<i64>,
    pub table: String,
    pub sys_id: String,
    pub action: RowAction,
    pub before_sha256: Option<String>,
    pub after_sha256: Option<String>,
}

impl TryFrom<crate::store::plans::PlanRowRead> for PlanRow {
    type Error = crate::domain::DomainError;

    fn try_from(row: crate::store::plans::PlanRowRead) -> Result<Self, Self::Error> {
        Ok(Self {
            plan_row_id: row.plan_row_id,
            chunk_index: row.chunk_index,
            table: row.table,
            sys_id: row.sys_id,
            action: crate::domain::error::parse_stored("row action", &row.action)?,
            before_sha256: row.before_sha256,
            after_sha256: row.after_sha256,
        })
    }
}
