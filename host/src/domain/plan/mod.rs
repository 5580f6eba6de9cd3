//! Dry-run plans: what a restore would change, and whether it may run.
//!
//! A plan is built in one pass: the point-in-time diff streams each scoped
//! table and writes rows as it goes ([`diff`]), references and media are
//! resolved in SQL over the rows just written, the gate policy decides
//! ([`gating`]), and the header is written last in the same transaction.
//! Plans are immutable: the same `plan_id` with the same inputs returns the
//! stored plan, with other inputs `409 blocked_plan_hash_mismatch`.

pub mod diff;
pub mod document;
pub mod gating;
pub mod references;
pub mod request;
pub mod undo;

use crate::domain::ReasonCode;
use crate::domain::RestoreService;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::canonical::value_sha256;
use super::paging::{Page, PageRequest};
use super::principal::{Capability, Principal};
use super::DomainError;
use crate::policy::{DeleteDecision, PolicyKind, PolicyRegistry};
use crate::store::index::WatermarkRow;
use crate::store::plan_writer::PlanWriter;
use crate::store::plans::PlanHeader;
use crate::store::{Store, StoreError};
use crate::target::{TableSchema, Target};
use diff::{DiffState, TableScan};
use document::*;
use gating::GateFacts;
use request::{PlanInputs, PlanRequest};

impl RestoreService {
    /// Dry-runs a request; returns the plan and whether it was created now
    /// (false: an identical earlier request's plan).
    pub async fn dry_run(
        &self,
        principal: &Principal,
        request: PlanRequest,
        now: DateTime<Utc>,
    ) -> Result<(PlanDocument, bool), DomainError> {
        let store = &self.store;
        let policies = &self.policies;
        principal.require(&[Capability::RestorePlan])?;
        principal.require_tenant(&request.tenant_id)?;
        if let Some(target) = &request.target {
            principal.require_tenant(&target.tenant_id)?;
        }
        super::ops::ensure_entitled(store, &request.tenant_id).await?;
        if let Some(target) = request
            .target
            .as_ref()
            .filter(|t| t.tenant_id != request.tenant_id)
        {
            super::ops::ensure_entitled(store, &target.tenant_id).await?;
        }
        let wait = std::time::Duration::from_millis(self.config.database.acquire_timeout_ms);
        let _slot = tokio::time::timeout(wait, self.dry_runs.acquire())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| DomainError::Unavailable("every dry-run slot is busy".into()))?;
        let inputs = PlanInputs::normalise(&request)?;
        let plan_hash = inputs.plan_hash()?;
        let plan_id = request
            .plan_id
            .clone()
            .unwrap_or_else(|| format!("plan_{}", uuid::Uuid::new_v4().simple()));
        if let Some(stored) = stored_plan(store, &plan_id, &plan_hash).await? {
            return Ok((stored, false));
        }
        // The diff is against the instance restored into.
        let into = inputs.target();
        let target = self.targets.get(&into.tenant_id, &into.instance_id);
        let built = build(
            store,
            policies,
            target.as_ref(),
            &plan_id,
            &inputs,
            plan_hash.clone(),
            now,
        );
        match built.await {
            Ok(document) => Ok((document, true)),
            // Another request created the same plan_id meanwhile.
            Err(DomainError::Store(StoreError::Duplicate(_))) => {
                match stored_plan(store, &plan_id, &plan_hash).await? {
                    Some(stored) => Ok((stored, false)),
                    None => Err(DomainError::Internal(
                        "plan vanished after a duplicate insert".into(),
                    )),
                }
            }
            Err(error) => Err(error),
        }
    }
}

/// The stored plan when `plan_id` exists with the same inputs; a conflict
/// when it exists with others.
async fn stored_plan(
    store: &Store,
    plan_id: &str,
    plan_hash: &str,
) -> Result<Option<PlanDocument>, DomainError> {
    let Some((header, document)) = store.plan_document(plan_id).await? else {
        return Ok(None);
    };
    if header.plan_hash != plan_hash {
        return Err(DomainError::Conflict {
            reason_code: ReasonCode::BlockedPlanHashMismatch,
            message: format!(
                "plan {plan_id} exists with other inputs; plans are immutable, use a new plan_id"
            ),
            details: Some(
                serde_json::json!({ "plan_id": plan_id, "requested_plan_hash": plan_hash }),
            ),
        });
    }
    Ok(Some(complete_document(store, document).await?))
}

fn parse_document(document: serde_json::Value) -> Result<PlanDocument, DomainError> {
    serde_json::from_value(document)
        .map_err(|e| DomainError::Internal(format!("stored plan document: {e}")))
}

/// The member of a stored document that says its delete lists are in its
/// rows (see [`stored_form`]).
const DELETES_IN_ROWS: &str = "delete_lists_in_rows";

/// The document as stored: without its delete candidates, and without the
/// delete decisions that name one of them. Both are in the plan's rows (a
/// candidate is a row that deletes or would delete a record, its decision
/// that row's action) and are put back on reading by
/// [`complete_document`]; the decisions that name no candidate are kept.
/// An undo of 100,000 created rows otherwise stored, and each execute
/// parsed again, two lists of 100,000 entries (about 20 MB of JSON) that
/// execution never reads.
fn stored_form(document: &mut PlanDocument) -> Result<serde_json::Value, DomainError> {
    let candidates = std::mem::take(&mut document.delete_candidates);
    let decisions = std::mem::take(&mut document.inputs.delete_decisions);
    {
        let named: std::collections::HashSet<&str> =
            candidates.iter().map(|c| c.candidate_id.as_str()).collect();
        document.inputs.delete_decisions = decisions
            .iter()
            .filter(|d| !named.contains(d.candidate_id.as_str()))
            .cloned()
            .collect();
    }
    let stored = serde_json::to_value(&*document);
    document.delete_candidates = candidates;
    document.inputs.delete_decisions = decisions;
    let mut stored = stored.map_err(|e| DomainError::Internal(e.to_string()))?;
    if let Some(members) = stored.as_object_mut() {
        members.insert(DELETES_IN_ROWS.to_owned(), serde_json::Value::Bool(true));
    }
    Ok(stored)
}

/// [`complete_document`] as JSON, for readers of the stored form (the
/// evidence package's plan artifact): a document stored whole comes back
/// untouched.
pub(crate) async fn whole_document_json(
    store: &Store,
    stored: serde_json::Value,
) -> Result<serde_json::Value, DomainError> {
    if stored.get(DELETES_IN_ROWS).is_none() {
        return Ok(stored);
    }
    let document = complete_document(store, stored).await?;
    serde_json::to_value(document).map_err(|e| DomainError::Internal(e.to_string()))
}

/// A stored document made whole again: its delete candidates from the
/// plan's rows, in plan order, and its delete decisions, in candidate id
/// order, from those rows' actions and the decisions kept in the document
/// (see [`stored_form`]). A document stored whole is returned as it is.
pub(crate) async fn complete_document(
    store: &Store,
    mut stored: serde_json::Value,
) -> Result<PlanDocument, DomainError> {
    let in_rows = stored
        .as_object_mut()
        .and_then(|members| members.remove(DELETES_IN_ROWS))
        .is_some();
    let mut document = parse_document(stored)?;
    if !in_rows {
        return Ok(document);
    }
    let into = document.target_instance();
    let mut decisions: BTreeMap<String, DeleteDecision> = document
        .inputs
        .delete_decisions
        .drain(..)
        .map(|d| (d.candidate_id, d.decision))
        .collect();
    let rows = store.plan_delete_rows(&document.plan_id).await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for (table, sys_id, action) in rows {
        let decision = match action.as_str() {
            "delete" => Some(DeleteDecision::AllowDeletion),
            "skip_delete" => Some(DeleteDecision::SkipDeletion),
            _ => None,
        };
        let candidate_id = diff::candidate_id(&into.tenant_id, &into.instance_id, &table, &sys_id);
        if let Some(decision) = decision {
            decisions.insert(candidate_id.clone(), decision);
        }
        candidates.push(DeleteCandidateDoc {
            candidate_id,
            table,
            sys_id,
            decision,
        });
    }
    document.delete_candidates = candidates;
    document.inputs.delete_decisions = decisions
        .into_iter()
        .map(|(candidate_id, decision)| request::DecisionInput {
            candidate_id,
            decision,
        })
        .collect();
    Ok(document)
}

async fn build(
    store: &Store,
    policies: &PolicyRegistry,
    target: &dyn Target,
    plan_id: &str,
    inputs: &PlanInputs,
    plan_hash: String,
    now: DateTime<Utc>,
) -> Result<PlanDocument, DomainError> {
    let pit = inputs.pit;
    let tables = table_docs(target, inputs).await?;
    let writer = store.plan_writer(plan_id).await?;
    let decisions = decision_map(inputs);
    let mut diff = DiffState::new(&writer, i64::from(inputs.chunk_size), decisions);
    let into = inputs.target();
    for (scope, (_, schema, references)) in inputs.scope.iter().zip(&tables) {
        let scan = TableScan {
            target,
            schema: schema.as_ref(),
            tenant_id: &inputs.tenant_id,
            instance_id: &inputs.instance_id,
            target_tenant_id: &into.tenant_id,
            target_instance_id: &into.instance_id,
            table: &scope.table,
            sys_ids: scope.sys_ids.as_deref(),
            references,
            pit_us: pit.timestamp_micros(),
        };
        diff.scan_table(store, &scan).await?;
    }
    diff.flush().await?;
    let conflicts = reference_conflicts(&writer, target, inputs).await?;
    let media = media_candidates(&writer, inputs, pit).await?;
    let facts = gate_facts(
        store,
        plan_id,
        inputs,
        pit,
        now,
        &diff.delete_candidates,
        &conflicts,
    )
    .await?;
    let gate = gating::decide(policies, facts).await?;
    writer.insert_decision(&gate.decision).await?;
    let media_summary = MediaSummaryDoc {
        count: media.len() as i64,
        total_bytes: media.iter().map(|m| m.size_bytes).sum(),
    };
    let mut document = PlanDocument {
        plan_id: plan_id.to_owned(),
        plan_hash,
        plan_checksum: String::new(),
        tenant_id: inputs.tenant_id.clone(),
        instance_id: inputs.instance_id.clone(),
        source: Some(inputs.source()),
        target: Some(into.clone()),
        pit,
        created_at: now,
        pit_algorithm_version: PIT_ALGORITHM_VERSION.to_owned(),
        required_capabilities: required_capabilities(
            policies,
            diff.summary.deletes,
            &media_summary,
        ),
        gate: gate.gate,
        watermarks: gate.watermarks,
        summary: diff.summary.clone(),
        delete_candidates: std::mem::take(&mut diff.delete_candidates),
        reference_conflicts: conflicts,
        media_candidates: media,
        media_summary,
        chunking: ChunkingDoc {
            chunk_size: i64::from(inputs.chunk_size),
            total_chunks: diff.total_chunks(),
        },
        tables: tables.into_iter().map(|(doc, _, _)| doc).collect(),
        inputs: inputs.clone(),
        undo: None,
        media_removals: Vec::new(),
    };
    document.plan_checksum = plan_checksum(&document, &diff.rows_sha256())?;
    let (header, stored) = header_of(&mut document, pit, now)?;
    writer.finish(&header, &stored).await?;
    Ok(document)
}

/// The delete decisions of the inputs, by candidate id.
fn decision_map(inputs: &PlanInputs) -> HashMap<String, crate::policy::DeleteDecision> {
    inputs
        .delete_decisions
        .iter()
        .map(|d| (d.candidate_id.clone(), d.decision))
        .collect()
}

/// The checksum execution and resume verify: everything the plan decided,
/// rows included (through the running hash of every row in order).
///
/// The delete candidates are covered by the rows: each is a row that
/// deletes or would delete a record, its decision that row's action, its
/// id derived from the target and the record (which is also how they are
/// stored, see [`stored_form`]). Hashing them again cost an undo of
/// 100,000 created rows 0.3 s. Checksums are compared, never recomputed
/// from a stored plan, so plans made before keep theirs.
fn plan_checksum(document: &PlanDocument, rows_sha256: &str) -> Result<String, DomainError> {
    let mut covered = serde_json::json!({
        "plan_hash": document.plan_hash,
        "rows_sha256": rows_sha256,
        "gate": document.gate,
        "summary": document.summary,
        "chunking": document.chunking,
        "reference_conflicts": document.reference_conflicts,
        "media_candidates": document.media_candidates,
        "tables": document.tables,
        "required_capabilities": document.required_capabilities,
    });
    // An undo's parts, only where present: a restore's checksum is what it
    // always was.
    if let Some(undo) = &document.undo {
        covered["undo"] =
            serde_json::to_value(undo).map_err(|e| DomainError::Internal(e.to_string()))?;
        covered["media_removals"] = serde_json::to_value(&document.media_removals)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
    }
    value_sha256(&covered)
}

/// The plan's header row and the document stored beside it.
fn header_of(
    document: &mut PlanDocument,
    pit: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(PlanHeader, serde_json::Value), DomainError> {
    let target = document.target_instance();
    let header = PlanHeader {
        plan_id: document.plan_id.clone(),
        tenant_id: document.tenant_id.clone(),
        instance_id: document.instance_id.clone(),
        target_tenant_id: target.tenant_id,
        target_instance_id: target.instance_id,
        plan_hash: document.plan_hash.clone(),
        plan_checksum: document.plan_checksum.clone(),
        pit,
        executability: document.gate.executability.as_str().to_owned(),
        gate_reason_code: document.gate.reason_code.map(|r| r.as_str().to_owned()),
        tables: document.tables.iter().map(|t| t.table.clone()).collect(),
        rows_total: document.summary.rows_total,
        total_chunks: document.chunking.total_chunks,
        created_at: now,
    };
    let stored = stored_form(document)?;
    Ok((header, stored))
}

/// A scoped table: its document, its schema in the target (none when the
/// target has no such table) and its reference columns.
type ScopedTable = (TableDoc, Option<TableSchema>, Vec<(String, String)>);

/// Each scoped table's planned schema and its reference columns.
async fn table_docs(
    target: &dyn Target,
    inputs: &PlanInputs,
) -> Result<Vec<ScopedTable>, DomainError> {
    let mut out = Vec::with_capacity(inputs.scope.len());
    for scope in &inputs.scope {
        let schema = target.describe_table(&scope.table).await?;
        let references = schema
            .iter()
            .flat_map(|s| &s.columns)
            .filter(|c| c.column_type == "reference")
            .filter_map(|c| c.reference_table.clone().map(|t| (c.name.clone(), t)))
            .collect();
        let doc = TableDoc {
            table: scope.table.clone(),
            schema_sha256: schema.as_ref().map(|s| s.schema_sha256.clone()),
            write_allowed: schema.as_ref().is_some_and(|s| s.write_allowed),
        };
        out.push((doc, schema, references));
    }
    Ok(out)
}

async fn reference_conflicts(
    writer: &PlanWriter,
    target: &dyn Target,
    inputs: &PlanInputs,
) -> Result<Vec<ReferenceConflictDoc>, DomainError> {
    if target.promises().atomic_with_journal {
        let into = inputs.target();
        let found = writer
            .dangling_references(&into.tenant_id, &into.instance_id)
            .await?;
        return Ok(found.into_iter().map(references::doc).collect());
    }
    references::remote_dangling(target, writer.open_references().await?).await
}

async fn media_candidates(
    writer: &PlanWriter,
    inputs: &PlanInputs,
    pit: DateTime<Utc>,
) -> Result<Vec<MediaCandidateDoc>, DomainError> {
    if !inputs.include_media {
        return Ok(Vec::new());
    }
    let rows = writer
        .media_candidates(
            &inputs.tenant_id,
            &inputs.instance_id,
            pit.timestamp_micros(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| MediaCandidateDoc {
            candidate_id: media_candidate_id(
                &inputs.tenant_id,
                &inputs.instance_id,
                &m.media_id,
                &m.sha256_plain,
            ),
            media_id: m.media_id,
            parent_table: m.parent_table,
            parent_sys_id: m.parent_sys_id,
            file_name: m.file_name,
            content_type: m.content_type,
            size_bytes: m.size_bytes,
            sha256_plain: m.sha256_plain,
        })
        .collect())
}

/// Deterministic id of a media candidate (the attachment's version).
pub fn media_candidate_id(
    tenant_id: &str,
    instance_id: &str,
    media_id: &str,
    sha256_plain: &str,
) -> String {
    let digest = super::canonical::sha256_hex(
        format!("{tenant_id}\u{1f}{instance_id}\u{1f}{media_id}\u{1f}{sha256_plain}").as_bytes(),
    );
    format!("mc_{}", &digest[..32])
}

async fn gate_facts<'a>(
    store: &Store,
    plan_id: &'a str,
    inputs: &'a PlanInputs,
    pit: DateTime<Utc>,
    now: DateTime<Utc>,
    delete_candidates: &'a [DeleteCandidateDoc],
    reference_conflicts: &'a [ReferenceConflictDoc],
) -> Result<GateFacts<'a>, DomainError> {
    let watermarks: HashMap<(String, i32), WatermarkRow> = store
        .list_watermarks(&inputs.tenant_id, &inputs.instance_id)
        .await?
        .into_iter()
        .map(|w| ((w.topic.clone(), w.partition), w))
        .collect();
    let mut partitions: BTreeMap<(String, i32), Option<WatermarkRow>> = BTreeMap::new();
    let mut tables_without_history = Vec::new();
    for table in inputs.table_names() {
        let feeding = store
            .partitions_of_tables(
                &inputs.tenant_id,
                &inputs.instance_id,
                std::slice::from_ref(&table),
            )
            .await?;
        if feeding.is_empty() {
            tables_without_history.push(table);
        }
        for key in feeding {
            let wm = watermarks.get(&key).cloned();
            partitions.insert(key, wm);
        }
    }
    Ok(GateFacts {
        plan_id,
        tenant_id: &inputs.tenant_id,
        instance_id: &inputs.instance_id,
        target: inputs.target.as_ref(),
        undo_of: None,
        pit,
        now,
        partitions: partitions
            .into_iter()
            .map(|((topic, partition), wm)| (topic, partition, wm))
            .collect(),
        tables_without_history,
        delete_candidates,
        reference_conflicts,
    })
}

/// What executing the plan will exercise: `restore_execute`, plus
/// `restore_delete` when it deletes, plus `restore_override_caps` when it
/// is high-risk (more deletes than the capability policy's
/// `high_risk_deletes`) or its media exceed the media policy's caps.
fn required_capabilities(
    policies: &PolicyRegistry,
    deletes: i64,
    media: &MediaSummaryDoc,
) -> Vec<Capability> {
    let setting = |kind: PolicyKind, key: &str| {
        policies
            .policy(kind)
            .and_then(|p| p.settings.get(key).and_then(|v| v.as_i64()))
    };
    let mut caps = vec![Capability::RestoreExecute];
    if deletes > 0 {
        caps.push(Capability::RestoreDelete);
    }
    let high_risk =
        setting(PolicyKind::Capability, "high_risk_deletes").is_some_and(|max| deletes > max);
    let over_items =
        setting(PolicyKind::MediaCaps, "mediaMaxItems").is_some_and(|max| media.count > max);
    let over_bytes =
        setting(PolicyKind::MediaCaps, "mediaMaxBytes").is_some_and(|max| media.total_bytes > max);
    if high_risk || over_items || over_bytes {
        caps.push(Capability::RestoreOverrideCaps);
    }
    caps
}

impl RestoreService {
    /// A stored plan; `404 plan_not_found` when unknown or of another tenant.
    pub async fn get_plan(
        &self,
        principal: &Principal,
        plan_id: &str,
    ) -> Result<PlanDocument, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreRead])?;
        match store.plan_document(plan_id).await? {
            Some((header, document)) if sees_plan(principal, &header) => {
                complete_document(store, document).await
            }
            _ => Err(not_found(plan_id)),
        }
    }

    /// A page of a plan's rows after `after` (a `plan_row_id`).
    pub async fn plan_rows(
        &self,
        principal: &Principal,
        plan_id: &str,
        page: PageRequest,
    ) -> Result<Page<PlanRow>, DomainError> {
        let store = &self.store;
        principal.require(&[Capability::RestoreRead])?;
        match store.plan_header(plan_id).await? {
            Some(header) if sees_plan(principal, &header) => {}
            _ => return Err(not_found(plan_id)),
        }
        let rows = store
            .plan_rows_page(plan_id, Some(page.after), page.fetch())
            .await?
            .into_iter()
            .map(PlanRow::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(rows, page, |row| row.plan_row_id))
    }
}

/// Whether the caller may see a plan: it must see both the tenant whose
/// backup it reads and the tenant it restores into (else the plan does not
/// exist for it, as another tenant's plan).
pub fn sees_plan(principal: &Principal, header: &PlanHeader) -> bool {
    principal.sees_tenant(&header.tenant_id) && principal.sees_tenant(&header.target_tenant_id)
}

fn not_found(plan_id: &str) -> DomainError {
    DomainError::not_found(ReasonCode::PlanNotFound, format!("no plan {plan_id}"))
}
