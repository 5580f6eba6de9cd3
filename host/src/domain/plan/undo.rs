//! Undo plans: a job's writes turned back into a plan, from its rollback
//! journal.
//!
//! An undo is a plan like any other, so it gets everything a restore gets
//! without a second engine: a plan hash and checksum, paged rows, the gate
//! policy's decision, delete decisions and capability checks, then a job,
//! the lock queue, chunked execution with row fallback, checkpoint and
//! resume, its own rollback journal (so an undo can itself be undone) and
//! an evidence package. Only the rows come from elsewhere: each journal
//! row of the job, newest state of the target beside it, becomes the row
//! that writes its before-image back (a created row is deleted, an updated
//! row gets its image back, a deleted row is re-created).
//!
//! A row whose current content is no longer what the job left was changed
//! by someone since: it is a conflict, listed in the plan, and the plan is
//! blocked (`blocked_undo_conflicts_undecided`) until each has a decision,
//! `keep_current` or `revert`, as undecided deletes block a restore.
//!
//! Refused with nothing written: a job that is not terminal
//! (`undo_job_not_terminal`), one that wrote nothing
//! (`undo_nothing_applied`), before-images that retention pruned
//! (`undo_before_images_pruned`, listing the rows) and a before-image that
//! no longer hashes to its journaled hash (`undo_before_image_mismatch`).
//!
//! The gate sees the undo in `context.undo-of-job` (WIT 1.1.0), and the
//! journal as the undo's one source, the partition
//! `rollback_journal/<job_id>` whose watermark is now (the job is terminal,
//! so its journal is complete): a 1.0.0 plugin sees only that partition.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::json;

use super::super::canonical::{sha256_hex, value_sha256_spliced};
use super::super::error::parse_stored;
use super::super::journal::{verified_before_image, BeforeImageRefusal, JournaledImage, WriteBack};
use super::super::principal::{Capability, Principal};
use super::super::{DomainError, ReasonCode, RestoreService};
use super::diff::{DiffState, NewRow};
use super::document::*;
use super::gating::{self, GateFacts};
use super::request::{
    normalised_decisions, write_decisions, DecisionInput, PlanInputs, ScopeTable,
    DEFAULT_CHUNK_SIZE,
};
use crate::policy::Executability;
use crate::store::index::WatermarkRow;
use crate::store::jobs::JobRow;
use crate::store::journal::UndoJournalRow;
use crate::store::{Store, StoreError};
use crate::target::{TableSchema, Target};

/// Journal rows read at a time.
const JOURNAL_PAGE: u64 = 1000;
/// Pruned rows an answer lists at most (the count is always whole).
const PRUNED_LISTED: usize = 1000;

/// A request for an undo plan.
#[derive(Debug, Clone, Default)]
pub struct UndoRequest {
    pub plan_id: Option<String>,
    /// Decisions on the undo's delete candidates (rows the job created).
    pub delete_decisions: Vec<DecisionInput>,
    /// Decisions on conflicts, by `conflict_id`.
    pub conflict_decisions: Vec<ConflictDecisionInput>,
    pub chunk_size: Option<u32>,
}

/// An operator's decision on one undo conflict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConflictDecisionInput {
    pub conflict_id: String,
    pub decision: ConflictDecision,
}

impl RestoreService {
    /// `POST /v1/jobs/{job_id}/undo-plan`: a plan that reverts what the job
    /// wrote; returns it and whether it was created now.
    pub async fn undo_plan(
        &self,
        principal: &Principal,
        job_id: &str,
        request: UndoRequest,
        now: DateTime<Utc>,
    ) -> Result<(PlanDocument, bool), DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestorePlan])?;
        let job = super::super::jobs::visible_row(store, principal, job_id).await?;
        let Some((header, document)) = store.plan_document(&job.plan_id).await? else {
            return Err(DomainError::Internal(format!("job {job_id} has no plan")));
        };
        if !super::sees_plan(principal, &header) {
            return Err(DomainError::not_found(
                ReasonCode::JobNotFound,
                format!("no job {job_id}"),
            ));
        }
        let original: PlanDocument = serde_json::from_value(document)
            .map_err(|e| DomainError::Internal(format!("stored plan document: {e}")))?;
        super::super::ops::ensure_entitled(store, &job.tenant_id).await?;
        if !matches!(job.status.as_str(), "completed" | "failed" | "cancelled") {
            return Err(DomainError::Conflict {
                reason_code: ReasonCode::UndoJobNotTerminal,
                message: format!(
                    "job {job_id} is {}; only a completed, failed or cancelled job can be undone",
                    job.status
                ),
                details: Some(json!({"job_id": job_id, "status": job.status})),
            });
        }
        let inputs = undo_inputs(&original, &job, &request);
        let mut conflict_decisions: BTreeMap<String, ConflictDecision> = BTreeMap::new();
        for d in &request.conflict_decisions {
            conflict_decisions.insert(d.conflict_id.clone(), d.decision);
        }
        let plan_hash = undo_plan_hash(job_id, &inputs, &conflict_decisions)?;
        let plan_id = request
            .plan_id
            .clone()
            .unwrap_or_else(|| format!("plan_{}", uuid::Uuid::new_v4().simple()));
        if let Some(stored) = super::stored_plan(store, &plan_id, &plan_hash).await? {
            return Ok((stored, false));
        }
        let evidence_manifest_sha256 = self.latest_manifest(job_id).await?;
        let target = self.targets.get(&job.tenant_id, &job.instance_id);
        let undo = Undo {
            store,
            target: target.as_ref(),
            job: &job,
            original: &original,
            plan_id: &plan_id,
            inputs: &inputs,
            conflict_decisions: &conflict_decisions,
            evidence_manifest_sha256,
        };
        match build(self, &undo, plan_hash.clone(), now).await {
            Ok(document) => Ok((document, true)),
            Err(DomainError::Store(StoreError::Duplicate(_))) => {
                match super::stored_plan(store, &plan_id, &plan_hash).await? {
                    Some(stored) => Ok((stored, false)),
                    None => Err(DomainError::Internal(
                        "plan vanished after a duplicate insert".into(),
                    )),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// The manifest sha256 of the job's latest evidence package, generating
    /// the package now if it is owed and not yet made.
    async fn latest_manifest(&self, job_id: &str) -> Result<Option<String>, DomainError> {
        if let Some(package) = self.store.evidence_package(job_id, None).await? {
            return Ok(Some(package.manifest_sha256));
        }
        // Owed but not yet paid (the job just ended): pay it here. Another
        // replica paying it meanwhile leaves `None` here; read again. A
        // failure to make it must not stand in the way of an undo: the plan
        // then names no package (null, for all to see), and the sweep makes
        // the package later.
        if let Err(error) = self.paying().pay(job_id).await {
            tracing::warn!(%job_id, %error, "the undone job's evidence package could not be made now");
        }
        Ok(self
            .store
            .evidence_package(job_id, None)
            .await?
            .map(|p| p.manifest_sha256))
    }
}

/// The normalised inputs of an undo: the job's instance as both source and
/// target (the journal is read, not a backup), its tables whole, the point
/// in time the job started.
fn undo_inputs(original: &PlanDocument, job: &JobRow, request: &UndoRequest) -> PlanInputs {
    PlanInputs {
        tenant_id: job.tenant_id.clone(),
        instance_id: job.instance_id.clone(),
        target: None,
        pit: job.started_at.unwrap_or(job.created_at),
        scope: original
            .tables
            .iter()
            .map(|t| ScopeTable {
                table: t.table.clone(),
                sys_ids: None,
            })
            .collect(),
        delete_decisions: normalised_decisions(&request.delete_decisions),
        include_media: !original.media_candidates.is_empty() || !original.media_removals.is_empty(),
        chunk_size: request.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE),
    }
}

/// The undo plan's hash: sha256 of the canonical
/// `{"conflict_decisions", "inputs", "undo_of"}`, the inputs' delete
/// decisions streamed into the hash rather than built as a value tree.
fn undo_plan_hash(
    job_id: &str,
    inputs: &PlanInputs,
    conflict_decisions: &BTreeMap<String, ConflictDecision>,
) -> Result<String, DomainError> {
    let without = inputs.without_decisions()?;
    let document = json!({
        "undo_of": job_id,
        "inputs": without,
        "conflict_decisions": conflict_decisions,
    });
    value_sha256_spliced(&document, &["inputs", "delete_decisions"], &mut |out| {
        write_decisions(out, &inputs.delete_decisions)
    })
}

/// What one undo plan is built from.
struct Undo<'a> {
    store: &'a Store,
    target: &'a dyn Target,
    job: &'a JobRow,
    original: &'a PlanDocument,
    plan_id: &'a str,
    inputs: &'a PlanInputs,
    conflict_decisions: &'a BTreeMap<String, ConflictDecision>,
    evidence_manifest_sha256: Option<String>,
}

/// A scoped table's schema in the target and its reference columns.
struct TableInfo {
    schema: Option<TableSchema>,
    references: Vec<(String, String)>,
}

/// Deterministic id of an undo conflict: the job and the journaled row.
pub fn conflict_id(job_id: &str, table: &str, sys_id: &str) -> String {
    let digest = sha256_hex(format!("{job_id}\u{1f}{table}\u{1f}{sys_id}").as_bytes());
    format!("uc_{}", &digest[..32])
}

async fn build(
    service: &RestoreService,
    undo: &Undo<'_>,
    plan_hash: String,
    now: DateTime<Utc>,
) -> Result<PlanDocument, DomainError> {
    let tables = super::table_docs(undo.target, undo.inputs).await?;
    let info: HashMap<String, TableInfo> = tables
        .iter()
        .map(|(doc, schema, references)| {
            let info = TableInfo {
                schema: schema.clone(),
                references: references.clone(),
            };
            (doc.table.clone(), info)
        })
        .collect();
    let writer = undo.store.plan_writer(undo.plan_id).await?;
    let chunk_size = i64::from(undo.inputs.chunk_size);
    let mut diff = DiffState::new(&writer, chunk_size, super::decision_map(undo.inputs));
    let reverted = revert_rows(undo, &info, &mut diff).await?;
    diff.flush().await?;
    let conflicts = super::reference_conflicts(&writer, undo.target, undo.inputs).await?;
    let pit = undo.inputs.pit;
    let facts = gate_facts(undo, pit, now, &diff.delete_candidates, &conflicts);
    let mut gate = gating::decide(&service.policies, facts).await?;
    writer.insert_decision(&gate.decision).await?;
    if reverted.conflicts.iter().any(|c| c.decision.is_none()) {
        block_on_conflicts(&mut gate.gate);
    }
    let media_summary = MediaSummaryDoc {
        count: reverted.restores.len() as i64,
        total_bytes: reverted.restores.iter().map(|m| m.size_bytes).sum(),
    };
    let into = undo.inputs.source();
    let mut document = PlanDocument {
        plan_id: undo.plan_id.to_owned(),
        plan_hash,
        plan_checksum: String::new(),
        tenant_id: into.tenant_id.clone(),
        instance_id: into.instance_id.clone(),
        source: Some(into.clone()),
        target: Some(into),
        pit,
        created_at: now,
        pit_algorithm_version: PIT_ALGORITHM_VERSION.to_owned(),
        required_capabilities: super::required_capabilities(
            &service.policies,
            diff.summary.deletes,
            &media_summary,
        ),
        gate: gate.gate,
        watermarks: gate.watermarks,
        summary: diff.summary.clone(),
        delete_candidates: std::mem::take(&mut diff.delete_candidates),
        reference_conflicts: conflicts,
        media_candidates: reverted.restores,
        media_summary,
        chunking: ChunkingDoc {
            chunk_size,
            total_chunks: diff.total_chunks(),
        },
        tables: tables.into_iter().map(|(doc, _, _)| doc).collect(),
        inputs: undo.inputs.clone(),
        undo: Some(UndoDoc {
            job_id: undo.job.job_id.clone(),
            plan_id: undo.original.plan_id.clone(),
            evidence_manifest_sha256: undo.evidence_manifest_sha256.clone(),
            conflicts: reverted.conflicts,
        }),
        media_removals: reverted.removals,
    };
    document.plan_checksum = super::plan_checksum(&document, &diff.rows_sha256())?;
    let (header, stored) = super::header_of(&mut document, pit, now)?;
    writer.finish(&header, &stored).await?;
    Ok(document)
}

/// What reverting the job's writes takes, besides the rows.
struct Reverted {
    conflicts: Vec<UndoConflictDoc>,
    /// Attachments to remove.
    removals: Vec<MediaCandidateDoc>,
    /// Attachments to restore (an undone undo removed them).
    restores: Vec<MediaCandidateDoc>,
}

/// Writes the row that reverts each journal row of the job, one journal
/// page at a time, and finds the attachments to remove or restore; refuses
/// a job that wrote nothing and pruned before-images.
async fn revert_rows(
    undo: &Undo<'_>,
    info: &HashMap<String, TableInfo>,
    diff: &mut DiffState<'_>,
) -> Result<Reverted, DomainError> {
    let mut rows = UndoRows {
        undo,
        info,
        conflicts: Vec::new(),
        pruned: Vec::new(),
        pruned_total: 0,
        journaled: 0,
    };
    // Each page is reverted while the next one is read (on another
    // connection): the read was a fifth of an undo plan's time on
    // PostgreSQL (1.1 s of 5.5 s at 100,000 rows).
    let mut page = read_page(undo, info, 0).await?;
    while let Some(last) = page.0.last().map(|e| e.plan_row_id) {
        let whole = page.0.len() as u64 >= JOURNAL_PAGE;
        let next = async {
            match whole {
                true => read_page(undo, info, last).await,
                false => Ok((Vec::new(), Vec::new())),
            }
        };
        let (next, reverted) = futures::join!(next, rows.page(diff, page));
        reverted?;
        page = next?;
    }
    let (removals, restores) = media_to_revert(undo).await?;
    let job_id = &undo.job.job_id;
    if rows.journaled == 0 && removals.is_empty() && restores.is_empty() {
        return Err(DomainError::Conflict {
            reason_code: ReasonCode::UndoNothingApplied,
            message: format!(
                "job {job_id} wrote nothing into the instance; there is nothing to undo"
            ),
            details: Some(json!({"job_id": job_id})),
        });
    }
    if rows.pruned_total > 0 {
        return Err(DomainError::Conflict {
            reason_code: ReasonCode::UndoBeforeImagesPruned,
            message: format!(
                "retention pruned the before-images of {} rows job {job_id} wrote; they cannot \
                 be written back",
                rows.pruned_total
            ),
            details: Some(json!({"job_id": job_id, "pruned_total": rows.pruned_total,
                "pruned_rows": rows.pruned})),
        });
    }
    Ok(Reverted {
        conflicts: rows.conflicts,
        removals,
        restores,
    })
}

/// Undecided conflicts block the plan, whatever the gate said.
fn block_on_conflicts(gate: &mut GateDoc) {
    gate.executability = Executability::Blocked;
    gate.reasons.push(ReasonCode::BlockedUndoConflictsUndecided);
    gate.reason_code = gate
        .reason_code
        .or(Some(ReasonCode::BlockedUndoConflictsUndecided));
}

/// The gate's facts for an undo: the journal as the one partition, complete
/// now.
fn gate_facts<'a>(
    undo: &'a Undo<'_>,
    pit: DateTime<Utc>,
    now: DateTime<Utc>,
    delete_candidates: &'a [DeleteCandidateDoc],
    reference_conflicts: &'a [ReferenceConflictDoc],
) -> GateFacts<'a> {
    let topic = journal_topic(&undo.job.job_id);
    let watermark = WatermarkRow {
        tenant_id: undo.job.tenant_id.clone(),
        instance_id: undo.job.instance_id.clone(),
        topic: topic.clone(),
        partition: 0,
        watermark_time_us: now.timestamp_micros(),
        published_at: now,
    };
    GateFacts {
        plan_id: undo.plan_id,
        tenant_id: &undo.inputs.tenant_id,
        instance_id: &undo.inputs.instance_id,
        target: None,
        undo_of: Some(&undo.job.job_id),
        pit,
        now,
        partitions: vec![(topic, 0, Some(watermark))],
        tables_without_history: Vec::new(),
        delete_candidates,
        reference_conflicts,
    }
}

/// The partition name an undo's gate input gives the job's journal.
pub fn journal_topic(job_id: &str) -> String {
    format!("rollback_journal/{job_id}")
}

/// The rows of an undo, one journal page at a time.
struct UndoRows<'u, 'a> {
    undo: &'u Undo<'a>,
    info: &'u HashMap<String, TableInfo>,
    conflicts: Vec<UndoConflictDoc>,
    /// The first pruned rows (`PRUNED_LISTED` at most).
    pruned: Vec<serde_json::Value>,
    pruned_total: u64,
    journaled: u64,
}

/// A journal page: its rows and, row for row, the target's current content
/// hash of each one's record.
type JournalPage = (Vec<Journaled>, Vec<Option<String>>);

/// The journal page after `after`. An embedded target is a table of the
/// service's own database: rows and hashes come from one read there. Any
/// other target is asked through [`Target::scan`], one request per table
/// and page.
async fn read_page(
    undo: &Undo<'_>,
    info: &HashMap<String, TableInfo>,
    after: i64,
) -> Result<JournalPage, DomainError> {
    let job = undo.job;
    let embedded = undo.target.promises().atomic_with_journal;
    let page = undo
        .store
        .undo_journal_page(
            &job.job_id,
            embedded.then_some((job.tenant_id.as_str(), job.instance_id.as_str())),
            after,
            JOURNAL_PAGE,
        )
        .await?;
    let mut entries = Vec::with_capacity(page.len());
    let mut current = Vec::with_capacity(page.len());
    for mut row in page {
        current.push(row.current_sha256.take());
        entries.push(Journaled::try_from(row)?);
    }
    if embedded {
        return Ok((entries, current));
    }
    let found = current_hashes(undo, info, &entries).await?;
    let current = entries
        .iter()
        .map(|e| found.get(&(e.table.clone(), e.sys_id.clone())).cloned())
        .collect();
    Ok((entries, current))
}

/// The target's current content hash of every journaled row of a page.
async fn current_hashes(
    undo: &Undo<'_>,
    info: &HashMap<String, TableInfo>,
    entries: &[Journaled],
) -> Result<HashMap<(String, String), String>, DomainError> {
    let mut by_table: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in entries {
        by_table.entry(&e.table).or_default().push(e.sys_id.clone());
    }
    let mut out = HashMap::new();
    for (table, mut ids) in by_table {
        let Some(schema) = info.get(table).and_then(|i| i.schema.as_ref()) else {
            continue;
        };
        ids.sort();
        ids.dedup();
        let mut scan = undo.target.scan(table, schema, Some(&ids));
        while let Some(record) = scan.next().await.transpose()? {
            out.insert((table.to_owned(), record.sys_id), record.content_sha256);
        }
    }
    Ok(out)
}

impl UndoRows<'_, '_> {
    /// Reverts the rows of one journal page.
    async fn page(
        &mut self,
        diff: &mut DiffState<'_>,
        (entries, current): JournalPage,
    ) -> Result<(), DomainError> {
        for (entry, now) in entries.into_iter().zip(current) {
            self.journaled += 1;
            let now = match self.info.get(&entry.table) {
                Some(TableInfo {
                    schema: Some(_), ..
                }) => now,
                // No such table in the target: no record of it either.
                _ => None,
            };
            self.row(diff, entry, now).await?;
        }
        Ok(())
    }

    async fn row(
        &mut self,
        diff: &mut DiffState<'_>,
        entry: Journaled,
        current: Option<String>,
    ) -> Result<(), DomainError> {
        let write_back = match verified_before_image(&entry) {
            Ok(write_back) => write_back,
            Err(BeforeImageRefusal::Pruned { journal_id }) => {
                self.pruned_total += 1;
                if self.pruned.len() < PRUNED_LISTED {
                    self.pruned.push(json!({"journal_id": journal_id,
                        "table": entry.table, "sys_id": entry.sys_id}));
                }
                return Ok(());
            }
            Err(BeforeImageRefusal::Mismatch {
                journal_id,
                expected,
                observed,
            }) => {
                return Err(DomainError::Conflict {
                    reason_code: ReasonCode::UndoBeforeImageMismatch,
                    message: format!(
                        "the before-image of journal row {journal_id} ({} {}) does not hash to \
                         its journaled before_image_sha256; it was changed after it was \
                         journaled, so nothing is written back",
                        entry.table, entry.sys_id
                    ),
                    details: Some(json!({"journal_id": journal_id, "table": entry.table,
                        "sys_id": entry.sys_id, "before_image_sha256": expected,
                        "observed_sha256": observed})),
                });
            }
            Err(refusal @ BeforeImageRefusal::Unreadable { .. }) => {
                return Err(refusal.into_error())
            }
        };
        if self.pruned_total > 0 {
            // Refused in the end: only the list of pruned rows matters now.
            return Ok(());
        }
        let Some(info) = self.info.get(&entry.table) else {
            return Err(DomainError::Internal(format!(
                "journal row {} names table {} outside the job's plan",
                entry.journal_id, entry.table
            )));
        };
        let left = match entry.action {
            RowAction::Delete => None,
            _ => entry.after_image_sha256.clone(),
        };
        if current != left {
            let id = conflict_id(&self.undo.job.job_id, &entry.table, &entry.sys_id);
            let decision = self.undo.conflict_decisions.get(&id).copied();
            self.conflicts.push(UndoConflictDoc {
                conflict_id: id,
                table: entry.table.clone(),
                sys_id: entry.sys_id.clone(),
                job_action: entry.action,
                restored_sha256: left,
                current_sha256: current.clone(),
                decision,
            });
            let held = match decision {
                None => Some("undecided_conflict"),
                Some(ConflictDecision::KeepCurrent) => Some("keep_current"),
                Some(ConflictDecision::Revert) => None,
            };
            if let Some(action) = held {
                let row = NewRow {
                    table: &entry.table,
                    references: &info.references,
                    sys_id: entry.sys_id.clone(),
                    action,
                    before_sha256: current,
                    after_sha256: None,
                    after_payload: None,
                };
                return diff.push(row).await;
            }
        }
        let row = self.write_back(diff, &entry, info, write_back, current);
        diff.push(row).await
    }

    /// The row that puts the before-image back over `current`.
    fn write_back<'e>(
        &self,
        diff: &mut DiffState<'_>,
        entry: &'e Journaled,
        info: &'e TableInfo,
        write_back: WriteBack<'_>,
        current: Option<String>,
    ) -> NewRow<'e> {
        let mut row = NewRow {
            table: &entry.table,
            references: &info.references,
            sys_id: entry.sys_id.clone(),
            action: "unchanged",
            before_sha256: current.clone(),
            after_sha256: None,
            after_payload: None,
        };
        match write_back {
            WriteBack::Image(image) => {
                let after = match &info.schema {
                    Some(schema) if !self.undo.target.stores_payload_verbatim() => {
                        self.undo.target.content_hash(schema, image)
                    }
                    _ => entry.before_image_sha256.clone().unwrap_or_default(),
                };
                row.action = match &current {
                    None => "create",
                    Some(now) if *now == after => "unchanged",
                    Some(_) => "update",
                };
                row.after_sha256 = Some(after);
                row.after_payload = Some(image.clone());
            }
            WriteBack::NoPriorRecord if current.is_some() => {
                let into = self.undo.inputs.source();
                row.action = diff.delete_action(
                    &into.tenant_id,
                    &into.instance_id,
                    &entry.table,
                    &entry.sys_id,
                );
            }
            WriteBack::NoPriorRecord => {}
        }
        row
    }
}

/// What an undo takes from one journal row.
struct Journaled {
    journal_id: String,
    plan_row_id: i64,
    table: String,
    sys_id: String,
    action: RowAction,
    before_image: Option<serde_json::Value>,
    before_image_sha256: Option<String>,
    after_image_sha256: Option<String>,
}

impl TryFrom<UndoJournalRow> for Journaled {
    type Error = DomainError;

    fn try_from(r: UndoJournalRow) -> Result<Self, DomainError> {
        Ok(Self {
            action: parse_stored("row action", &r.action)?,
            journal_id: r.journal_id,
            plan_row_id: r.plan_row_id,
            table: r.table,
            sys_id: r.sys_id,
            before_image: r.before_image,
            before_image_sha256: r.before_image_sha256,
            after_image_sha256: r.after_image_sha256,
        })
    }
}

impl<'a> From<&'a Journaled> for JournaledImage<'a> {
    fn from(j: &'a Journaled) -> Self {
        Self {
            journal_id: &j.journal_id,
            image: j.before_image.as_ref(),
            sha256: j.before_image_sha256.as_deref(),
        }
    }
}

/// The attachments reverting the job touches, from one read of the media
/// it wrote: its plan's candidates it wrote, which the undo removes, and
/// (when it undid another job) the removals it made, which undoing it
/// restores.
async fn media_to_revert(
    undo: &Undo<'_>,
) -> Result<(Vec<MediaCandidateDoc>, Vec<MediaCandidateDoc>), DomainError> {
    let written = undo.store.media_written(&undo.job.job_id).await?;
    let removals = undo
        .original
        .media_candidates
        .iter()
        .filter(|c| written.contains(&c.candidate_id))
        .cloned()
        .collect();
    let restores = undo
        .original
        .media_removals
        .iter()
        .filter(|c| written.contains(&removal_id(&c.candidate_id)))
        .cloned()
        .collect();
    Ok((removals, restores))
}

/// The media outcome id of removing a candidate.
pub fn removal_id(candidate_id: &str) -> String {
    format!("rm_{candidate_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::canonical::value_sha256;
    use crate::policy::DeleteDecision;

    fn inputs(decisions: &[(&str, DeleteDecision)]) -> PlanInputs {
        PlanInputs {
            tenant_id: "acme".into(),
            instance_id: "prod".into(),
            target: None,
            pit: DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            scope: vec![ScopeTable {
                table: "incident".into(),
                sys_ids: None,
            }],
            delete_decisions: decisions
                .iter()
                .map(|(id, decision)| DecisionInput {
                    candidate_id: (*id).into(),
                    decision: *decision,
                })
                .collect(),
            include_media: true,
            chunk_size: 500,
        }
    }

    /// The streamed hash is the hash of the whole document as a value,
    /// byte for byte: an undo plan asked for again matches the stored one.
    #[test]
    fn the_undo_plan_hash_streams_the_decisions_exactly() {
        let mut conflicts = BTreeMap::new();
        conflicts.insert("uc_1".to_owned(), ConflictDecision::KeepCurrent);
        for decisions in [
            vec![],
            vec![("dc_a", DeleteDecision::AllowDeletion)],
            vec![
                ("dc_a", DeleteDecision::AllowDeletion),
                ("dc_\"quoted\"\u{1f}", DeleteDecision::SkipDeletion),
                ("dc_é", DeleteDecision::AllowDeletion),
            ],
        ] {
            let inputs = inputs(&decisions);
            let whole = value_sha256(&json!({
                "undo_of": "job_1",
                "inputs": inputs,
                "conflict_decisions": conflicts,
            }))
            .unwrap();
            assert_eq!(undo_plan_hash("job_1", &inputs, &conflicts).unwrap(), whole);
        }
        let one = inputs(&[("dc_a", DeleteDecision::AllowDeletion)]);
        let other = inputs(&[("dc_a", DeleteDecision::SkipDeletion)]);
        assert_ne!(
            undo_plan_hash("job_1", &one, &conflicts).unwrap(),
            undo_plan_hash("job_1", &other, &conflicts).unwrap()
        );
    }
}
