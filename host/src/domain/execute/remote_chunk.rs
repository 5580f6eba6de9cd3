//! A chunk written to a target whose writes are not atomic with this
//! service's database (a remote instance), with the guarantees of the
//! embedded path:
//!
//! 1. read the chunk's records as they are now;
//! 2. decide each row: its content equal to the plan's before-image hash:
//!    apply; anything else: a conflict, skipped (`skipped_target_changed`)
//!    and never overwritten. A row intended by an earlier, interrupted
//!    attempt is decided by what it holds now: the plan's after-image:
//!    applied already (nothing is written twice); its before-image: apply;
//!    else a conflict;
//! 3. commit the intents (before-images and hashes) before any write;
//! 4. write; a row the instance refuses gets its own outcome
//!    (`failed_target_refused`) and the chunk goes on; a write whose answer
//!    was lost is read back and decided as in 2; a refused credential or
//!    an instance that stays unavailable (a row it turned away for now)
//!    pauses the execution, the intents kept for the resume;
//! 5. commit the outcomes, journal and mirror rows, the chunk's status and
//!    event and the checkpoint, in one transaction.

use std::collections::{BTreeMap, HashMap};

use super::super::plan::document::PlanDocument;
use super::super::{DomainError, ReasonCode};
use crate::store::chunk_apply::{ChunkApply, ChunkOutcome, ChunkResult};
use crate::store::plans::PlanRowKey;
use crate::store::remote_chunk::{Intent, RemoteOutcome};
use crate::store::Store;
use crate::target::{
    ChangeKind, RecordState, RowChange, RowResult, TableSchema, Target, TargetError,
};

/// Rows read back per request.
const READ_BATCH: usize = 100;

/// How a chunk ended: committed (or refused by the lease), or the
/// execution must pause.
pub(super) enum Step {
    Done(ChunkOutcome),
    Pause(ReasonCode),
}

/// A remote target and the schemas of the plan's tables in it.
pub(super) struct Remote<'t> {
    target: &'t dyn Target,
    schemas: BTreeMap<String, TableSchema>,
}

/// What to do with one row.
enum Decision {
    /// Write it; its intent.
    Apply(Intent),
    /// Already holds the after-image (an earlier attempt wrote it).
    Applied(Intent),
    /// Changed since planning: skipped.
    Conflict,
}

impl<'t> Remote<'t> {
    /// Reads the schema of each of the plan's tables once per call.
    pub async fn new(target: &'t dyn Target, plan: &PlanDocument) -> Result<Self, DomainError> {
        let mut schemas = BTreeMap::new();
        for table in &plan.tables {
            if let Some(schema) = target.describe_table(&table.table).await? {
                schemas.insert(table.table.clone(), schema);
            }
        }
        Ok(Self { target, schemas })
    }

    /// Applies one chunk (see the module's steps).
    pub async fn apply(&self, store: &Store, c: &ChunkApply<'_>) -> Result<Step, DomainError> {
        let afters: HashMap<i64, _> = store
            .plan_chunk_afters(c.plan_id, c.chunk_index)
            .await?
            .into_iter()
            .map(|a| (a.plan_row_id, a))
            .collect();
        let pending: HashMap<i64, Intent> = store
            .chunk_intents(c.job_id, c.chunk_index)
            .await?
            .into_iter()
            .map(|i| (i.plan_row_id, i))
            .collect();
        let current = match self.read(c.rows).await {
            Ok(current) => current,
            Err(error) => return Ok(Step::Pause(pause_reason(&error))),
        };
        let mut decisions: BTreeMap<i64, Decision> = BTreeMap::new();
        for row in c.rows {
            let now = current.get(&(row.table.clone(), row.sys_id.clone()));
            let after = afters
                .get(&row.plan_row_id)
                .and_then(|a| a.after_sha256.clone());
            decisions.insert(
                row.plan_row_id,
                decide(row, now, after, pending.get(&row.plan_row_id)),
            );
        }
        let intents: Vec<Intent> = decisions
            .values()
            .filter_map(|d| match d {
                Decision::Apply(i) | Decision::Applied(i) => Some(i.clone()),
                Decision::Conflict => None,
            })
            .collect();
        if let Some(stopped) = store.record_intents(c, &intents).await? {
            return Ok(Step::Done(stopped));
        }
        let written = match self.write(c.rows, &afters, &mut decisions).await {
            Ok(written) => written,
            Err(error) => return Ok(Step::Pause(pause_reason(&error))),
        };
        let (outcomes, result) = outcomes(c.rows, decisions, written);
        Ok(Step::Done(
            store.commit_remote_chunk(c, &outcomes, &result).await?,
        ))
    }

    /// The chunk's records as they are now, by `(table, sys_id)`.
    async fn read(
        &self,
        rows: &[PlanRowKey],
    ) -> Result<HashMap<(String, String), RecordState>, TargetError> {
        let mut by_table: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for row in rows {
            by_table
                .entry(&row.table)
                .or_default()
                .push(row.sys_id.clone());
        }
        let mut out = HashMap::new();
        for (table, ids) in by_table {
            let Some(schema) = self.schemas.get(table) else {
                return Err(TargetError::NoTable(table.to_owned()));
            };
            // Every batch at once: the target bounds its requests in flight.
            let reads = ids
                .chunks(READ_BATCH)
                .map(|batch| self.target.read(table, schema, batch));
            for records in futures::future::try_join_all(reads).await? {
                for record in records {
                    out.insert((table.to_owned(), record.sys_id.clone()), record);
                }
            }
        }
        Ok(out)
    }

    /// Writes the rows decided `Apply`, table by table in batches the
    /// target takes; a row whose answer was lost is read back and decided
    /// again (its write repeated once when it still holds its
    /// before-image). Returns the rows the target refused, with why.
    async fn write(
        &self,
        rows: &[PlanRowKey],
        afters: &HashMap<i64, crate::store::plans::PlanRowAfter>,
        decisions: &mut BTreeMap<i64, Decision>,
    ) -> Result<BTreeMap<i64, String>, TargetError> {
        let mut refused = BTreeMap::new();
        for attempt in 0..2 {
            let todo: Vec<&PlanRowKey> = rows
                .iter()
                .filter(|r| matches!(decisions.get(&r.plan_row_id), Some(Decision::Apply(_))))
                .filter(|r| !refused.contains_key(&r.plan_row_id))
                .collect();
            if todo.is_empty() {
                break;
            }
            let mut unknown = Vec::new();
            let mut turned_away = None;
            for (table, batch) in by_table(&todo) {
                let schema = self
                    .schemas
                    .get(table)
                    .ok_or_else(|| TargetError::NoTable(table.to_owned()))?;
                let max = self.target.promises().max_batch.max(1);
                let parts: Vec<(&[&PlanRowKey], Vec<RowChange>)> = batch
                    .chunks(max)
                    .map(|part| (part, part.iter().map(|r| change(r, afters)).collect()))
                    .collect();
                // Every batch at once, so the instance's requests in flight
                // stay at the target's concurrency across batch boundaries
                // (the target bounds them); results come back in order.
                let applied = futures::future::join_all(
                    parts
                        .iter()
                        .map(|(_, changes)| self.target.apply(table, schema, changes)),
                )
                .await;
                for ((part, _), results) in parts.iter().zip(applied) {
                    let results = results?;
                    for (row, result) in part.iter().zip(results) {
                        match result {
                            RowResult::Applied { .. } => {
                                settle(decisions, row.plan_row_id);
                            }
                            RowResult::Refused { status, message } => {
                                refused.insert(row.plan_row_id, format!("{status}: {message}"));
                            }
                            RowResult::Unknown { .. } => unknown.push(*row),
                            RowResult::NotWritten { message } => turned_away = Some(message),
                        }
                    }
                }
            }
            if let Some(message) = turned_away {
                // Rows not written stay intended; the resume re-reads them.
                return Err(TargetError::Unavailable(message));
            }
            if unknown.is_empty() {
                break;
            }
            let owned: Vec<PlanRowKey> = unknown.iter().map(|r| (*r).clone()).collect();
            let current = self.read(&owned).await?;
            for row in &unknown {
                let now = current.get(&(row.table.clone(), row.sys_id.clone()));
                let after = afters
                    .get(&row.plan_row_id)
                    .and_then(|a| a.after_sha256.clone());
                let intent = match decisions.get(&row.plan_row_id) {
                    Some(Decision::Apply(i)) => i.clone(),
                    _ => continue,
                };
                let redecided = decide(row, now, after, Some(&intent));
                decisions.insert(row.plan_row_id, redecided);
            }
            if attempt == 1 && decisions.values().any(|d| matches!(d, Decision::Apply(_))) {
                return Err(TargetError::Unavailable(
                    "writes kept losing their answers".to_owned(),
                ));
            }
        }
        Ok(refused)
    }
}

/// Decides a row from what the target holds now (see the module's step 2).
fn decide(
    row: &PlanRowKey,
    now: Option<&RecordState>,
    after: Option<String>,
    pending: Option<&Intent>,
) -> Decision {
    let holds = now.map(|r| r.content_sha256.clone());
    let intent = || Intent {
        plan_row_id: row.plan_row_id,
        before_image: now.map(|r| r.payload.clone()),
        before_image_sha256: holds.clone(),
        after_image_sha256: after.clone(),
    };
    match pending {
        Some(earlier) if holds == earlier.after_image_sha256 => Decision::Applied(earlier.clone()),
        Some(earlier) if holds == earlier.before_image_sha256 => Decision::Apply(earlier.clone()),
        Some(_) => Decision::Conflict,
        None if holds == row.before_sha256 => Decision::Apply(intent()),
        None => Decision::Conflict,
    }
}

/// A row the target applied: its intent is now its journal row.
fn settle(decisions: &mut BTreeMap<i64, Decision>, plan_row_id: i64) {
    if let Some(Decision::Apply(intent)) = decisions.remove(&plan_row_id) {
        decisions.insert(plan_row_id, Decision::Applied(intent));
    }
}

fn by_table<'r>(rows: &[&'r PlanRowKey]) -> BTreeMap<&'r str, Vec<&'r PlanRowKey>> {
    let mut out: BTreeMap<&str, Vec<&PlanRowKey>> = BTreeMap::new();
    for row in rows {
        out.entry(row.table.as_str()).or_default().push(row);
    }
    out
}

fn change(row: &PlanRowKey, afters: &HashMap<i64, crate::store::plans::PlanRowAfter>) -> RowChange {
    let kind = match (row.action.as_str(), &row.before_sha256) {
        ("delete", _) => ChangeKind::Delete,
        (_, None) => ChangeKind::Create,
        (_, Some(_)) => ChangeKind::Update,
    };
    RowChange {
        plan_row_id: row.plan_row_id,
        sys_id: row.sys_id.clone(),
        kind,
        payload: afters
            .get(&row.plan_row_id)
            .and_then(|a| a.after_payload.clone()),
    }
}

/// Each row's outcome, and the chunk's result.
fn outcomes(
    rows: &[PlanRowKey],
    mut decisions: BTreeMap<i64, Decision>,
    refused: BTreeMap<i64, String>,
) -> (Vec<RemoteOutcome>, ChunkResult) {
    let mut out = Vec::with_capacity(rows.len());
    let mut conflicts = Vec::new();
    for row in rows {
        let id = row.plan_row_id;
        let outcome = match (refused.contains_key(&id), decisions.remove(&id)) {
            (true, _) => failed(id),
            (false, Some(Decision::Applied(intent))) => RemoteOutcome {
                plan_row_id: id,
                outcome: "applied",
                reason_code: None,
                journal: Some(intent),
            },
            (false, _) => {
                conflicts.push(id);
                RemoteOutcome {
                    plan_row_id: id,
                    outcome: "skipped",
                    reason_code: Some(ReasonCode::SkippedTargetChanged.as_str()),
                    journal: None,
                }
            }
        };
        out.push(outcome);
    }
    let applied = out.iter().filter(|o| o.journal.is_some()).count();
    let status = if conflicts.is_empty() {
        "applied"
    } else {
        "row_fallback"
    };
    let result = ChunkResult {
        status,
        conflicts,
        applied,
    };
    (out, result)
}

fn failed(plan_row_id: i64) -> RemoteOutcome {
    RemoteOutcome {
        plan_row_id,
        outcome: "failed",
        reason_code: Some(ReasonCode::FailedTargetRefused.as_str()),
        journal: None,
    }
}

/// Why a target failure pauses the execution.
fn pause_reason(error: &TargetError) -> ReasonCode {
    match error {
        TargetError::Unauthorized(_) => ReasonCode::PausedTargetUnauthorized,
        _ => ReasonCode::PausedTargetUnavailable,
    }
}
