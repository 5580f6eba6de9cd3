//! The evidence sources of a job as stored: the job row, its plan document
//! and rows, its events, its execution and rollback journal, and the
//! policy decisions logged against its plan and itself. Every artifact is
//! read in pages in a stable order, so the same rows always stream to the
//! same canonical bytes.
//!
//! What an artifact holds is part of the evidence format: the journal
//! artifact carries `before_image_sha256` but never the prunable
//! `before_image`; the events artifact stops at the manifest's
//! `job_events_through_seq`.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::artifact::{ArtifactKind, ArtifactSource, Page};
use super::manifest::{EvidenceInstance, PolicyDecisionRef, ResumeEntry, ResumeMetadata, UndoOf};
use super::sources::{ArtifactScope, EvidenceSources, JobFacts, RetainedBeforeImage};
use crate::domain::canonical::timestamp;
use crate::domain::DomainError;
use crate::store::decisions::DecisionRow;
use crate::store::evidence::OutcomeCount;
use crate::store::execution::ExecutionRow;
use crate::store::Store;

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Sources read from the service database.
#[derive(Debug, Clone)]
pub struct StoreSources {
    store: Store,
}

impl StoreSources {
    /// Sources over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[async_trait]
impl EvidenceSources for StoreSources {
    async fn job(&self, job_id: &str) -> Result<Option<JobFacts>, DomainError> {
        let Some(job) = self.store.job(job_id).await? else {
            return Ok(None);
        };
        let plan = self.store.plan_document(&job.plan_id).await?;
        let pit_algorithm_version = plan
            .as_ref()
            .and_then(|(_, doc)| doc.get("pit_algorithm_version"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let undo_of = plan
            .as_ref()
            .and_then(|(_, doc)| doc.get("undo"))
            .map(|undo| UndoOf {
                job_id: text(undo, "job_id"),
                plan_id: text(undo, "plan_id"),
                evidence_manifest_sha256: undo
                    .get("evidence_manifest_sha256")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        let source = plan.as_ref().map(|(header, _)| EvidenceInstance {
            tenant_id: header.tenant_id.clone(),
            instance_id: header.instance_id.clone(),
        });
        let mut decisions = self.store.decisions_for("plan", &job.plan_id).await?;
        decisions.extend(self.store.decisions_for("job", &job.job_id).await?);
        let last_event_seq = self.store.evidence_last_event_seq(job.job_seq).await?;
        let execution = self.store.execution(&job.job_id).await?;
        let resume_metadata = execution.as_ref().map(resume_metadata).unwrap_or_default();
        let outcome_summary =
            outcome_summary(&self.store.evidence_outcome_counts(&job.job_id).await?);
        Ok(Some(JobFacts {
            job_id: job.job_id,
            plan_id: job.plan_id,
            plan_hash: job.plan_hash,
            tenant_id: job.tenant_id,
            instance_id: job.instance_id,
            source,
            tables: job.tables,
            status: job.status,
            status_reason_code: job.status_reason_code,
            operator_id: job.operator_id,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            pit_algorithm_version,
            resume_metadata,
            policy_decisions: decisions.iter().map(decision_ref).collect(),
            last_event_seq,
            outcome_summary,
            undo_of,
        }))
    }

    fn artifact<'a>(
        &'a self,
        scope: &'a ArtifactScope,
        kind: ArtifactKind,
    ) -> Box<dyn ArtifactSource + 'a> {
        let store = &self.store;
        match kind {
            ArtifactKind::Plan => Box::new(PlanArtifact { store, scope }),
            ArtifactKind::JobEvents => Box::new(EventsArtifact { store, scope }),
            ArtifactKind::Execution => Box::new(ExecutionArtifact { store, scope }),
            ArtifactKind::RollbackJournal => Box::new(JournalArtifact { store, scope }),
        }
    }

    async fn retained_before_images(
        &self,
        job_id: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<RetainedBeforeImage>, DomainError> {
        let rows = self.store.before_images_page(job_id, after, limit).await?;
        Ok(rows
            .into_iter()
            .map(|r| RetainedBeforeImage {
                journal_id: r.journal_id,
                plan_row_id: r.plan_row_id,
                before_image: r.before_image,
                before_image_sha256: r.before_image_sha256,
            })
            .collect())
    }
}

fn decision_ref(row: &DecisionRow) -> PolicyDecisionRef {
    PolicyDecisionRef {
        decision_id: row.decision_id.clone(),
        kind: row.kind.clone(),
        policy_name: row.policy_name.clone(),
        policy_version: row.policy_version.clone(),
        policy_digest: row.policy_digest.clone(),
        policy_signer: row.policy_signer.clone(),
        policy_signer_fingerprint: row.policy_signer_fingerprint.clone(),
        input_sha256: row.input_sha256.clone(),
        outcome: row.outcome.clone(),
        subject_kind: row.subject_kind.clone(),
        subject_id: row.subject_id.clone(),
        decided_at: timestamp(&row.decided_at),
    }
}

/// The execution's resume history as the manifest states it.
fn resume_metadata(execution: &ExecutionRow) -> ResumeMetadata {
    let resumes: Vec<ResumeEntry> =
        serde_json::from_value(execution.resumes.clone()).unwrap_or_default();
    ResumeMetadata {
        resume_count: i64::from(execution.resume_count),
        resumes,
    }
}

/// `{"chunks": {"applied": 3}, "row_outcomes": {"applied": 5}, ...}`.
fn outcome_summary(counts: &[OutcomeCount]) -> Value {
    let mut summary = Map::new();
    for group in ["chunks", "row_outcomes", "media_outcomes"] {
        summary.insert(group.to_owned(), Value::Object(Map::new()));
    }
    for (group, value, count) in counts {
        if let Some(Value::Object(tally)) = summary.get_mut(group) {
            tally.insert(value.clone(), json!(count));
        }
    }
    Value::Object(summary)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => Map::from_iter([("document".to_owned(), other)]),
    }
}

fn after_i64(after: Option<&str>) -> Result<Option<i64>, DomainError> {
    after
        .map(|a| {
            a.parse::<i64>()
                .map_err(|e| DomainError::Internal(format!("page key {a:?}: {e}")))
        })
        .transpose()
}

fn unknown_list(list: &str) -> DomainError {
    DomainError::Internal(format!("no artifact list {list}"))
}

/// The plan document (rows apart) and its rows in plan order.
struct PlanArtifact<'a> {
    store: &'a Store,
    scope: &'a ArtifactScope,
}

#[async_trait]
impl ArtifactSource for PlanArtifact<'_> {
    async fn header(&self) -> Result<Map<String, Value>, DomainError> {
        match self.store.plan_document(&self.scope.plan_id).await? {
            Some((_, document)) => Ok(object(
                crate::domain::plan::whole_document_json(self.store, document).await?,
            )),
            None => Ok(Map::from_iter([
                ("plan_id".to_owned(), json!(self.scope.plan_id)),
                ("missing".to_owned(), json!(true)),
            ])),
        }
    }

    fn lists(&self) -> Vec<&'static str> {
        vec!["rows"]
    }

    async fn page(&self, list: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError> {
        if list != "rows" {
            return Err(unknown_list(list));
        }
        let rows = self
            .store
            .plan_rows_page(&self.scope.plan_id, after_i64(after)?, limit)
            .await?;
        let next = rows.last().map(|r| r.plan_row_id.to_string());
        let items = rows
            .into_iter()
            .map(|r| {
                json!({"plan_row_id": r.plan_row_id, "chunk_index": r.chunk_index, "table": r.table,
                       "sys_id": r.sys_id, "action": r.action, "before_sha256": r.before_sha256,
                       "after_sha256": r.after_sha256, "after_payload": r.after_payload})
            })
            .collect();
        Ok(Page { items, next })
    }
}

/// The job's events `1..=events_through_seq`, oldest first.
struct EventsArtifact<'a> {
    store: &'a Store,
    scope: &'a ArtifactScope,
}

#[async_trait]
impl ArtifactSource for EventsArtifact<'_> {
    async fn header(&self) -> Result<Map<String, Value>, DomainError> {
        Ok(object(
            json!({"job_id": self.scope.job_id, "through_seq": self.scope.events_through_seq}),
        ))
    }

    fn lists(&self) -> Vec<&'static str> {
        vec!["events"]
    }

    async fn page(&self, list: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError> {
        if list != "events" {
            return Err(unknown_list(list));
        }
        let Some(job) = self.store.job(&self.scope.job_id).await? else {
            return Ok(Page::default());
        };
        let rows = self
            .store
            .job_events(job.job_seq, after_i64(after)?, limit)
            .await?;
        let within: Vec<_> = rows
            .into_iter()
            .filter(|e| e.seq <= self.scope.events_through_seq)
            .collect();
        let next = (within.len() as u64 == limit)
            .then(|| within.last().map(|e| e.seq.to_string()))
            .flatten();
        let items = within
            .into_iter()
            .map(|e| {
                json!({"seq": e.seq, "event_type": e.event_type, "at": timestamp(&e.at), "actor": e.actor,
                       "reason_code": e.reason_code, "details": e.details, "terminal": e.terminal})
            })
            .collect();
        Ok(Page { items, next })
    }
}

/// The execution: the job's outcome, the checkpoint and resume history,
/// its chunks, row outcomes (paged by `plan_row_id`) and media outcomes.
/// Lease and timing fields are left out: they are operational, not evidence.
struct ExecutionArtifact<'a> {
    store: &'a Store,
    scope: &'a ArtifactScope,
}

#[async_trait]
impl ArtifactSource for ExecutionArtifact<'_> {
    async fn header(&self) -> Result<Map<String, Value>, DomainError> {
        let job = self.store.job(&self.scope.job_id).await?.map(|job| {
            json!({"plan_id": job.plan_id, "plan_hash": job.plan_hash, "status": job.status,
                "status_reason_code": job.status_reason_code, "execution_state": job.execution_state,
                "started_at": job.started_at.as_ref().map(timestamp),
                "finished_at": job.finished_at.as_ref().map(timestamp)})
        });
        let execution = self.store.execution(&self.scope.job_id).await?.map(|e| {
            json!({"state": e.state, "status_reason_code": e.status_reason_code,
                "plan_checksum": e.plan_checksum, "precondition_checksum": e.precondition_checksum,
                "checkpoint": {"next_chunk_index": e.next_chunk_index, "total_chunks": e.total_chunks},
                "resume_metadata": resume_metadata(&e)})
        });
        Ok(object(
            json!({"job_id": self.scope.job_id, "job": job, "execution": execution}),
        ))
    }

    fn lists(&self) -> Vec<&'static str> {
        vec!["chunks", "row_outcomes", "media_outcomes"]
    }

    async fn page(&self, list: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError> {
        let job_id = &self.scope.job_id;
        match list {
            // Chunks and media are a few per job: one page.
            "chunks" => Ok(whole(self.store.execution_chunks(job_id).await?.into_iter().map(|c| {
                json!({"chunk_id": c.chunk_id, "chunk_index": c.chunk_index, "status": c.status,
                    "row_count": c.row_count, "fallback_trigger_conflict_ids": c.fallback_trigger_conflict_ids,
                    "preconditions_sha256": c.preconditions_sha256})
            }))),
            "media_outcomes" => Ok(whole(self.store.media_outcomes(job_id).await?.into_iter().map(|m| {
                json!({"candidate_id": m.candidate_id, "media_id": m.media_id, "outcome": m.outcome,
                    "reason_code": m.reason_code, "attempt_count": m.attempt_count,
                    "expected_sha256_plain": m.expected_sha256_plain,
                    "observed_sha256_plain": m.observed_sha256_plain})
            }))),
            "row_outcomes" => {
                let rows = self.store.row_outcomes_page(job_id, after_i64(after)?.unwrap_or(0), limit).await?;
                let next = next_key(rows.len(), limit, rows.last().map(|o| o.plan_row_id));
                let items = rows
                    .into_iter()
                    .map(|o| {
                        json!({"plan_row_id": o.plan_row_id, "chunk_id": o.chunk_id, "table": o.table,
                            "sys_id": o.sys_id, "action": o.action, "outcome": o.outcome,
                            "reason_code": o.reason_code, "used_row_fallback": o.used_row_fallback,
                            "row_attempt": o.row_attempt, "journal_id": o.journal_id})
                    })
                    .collect();
                Ok(Page { items, next })
            }
            other => Err(unknown_list(other)),
        }
    }
}

fn whole(items: impl Iterator<Item = Value>) -> Page {
    Page {
        items: items.collect(),
        next: None,
    }
}

/// The key of the next page when this one was full.
fn next_key(len: usize, limit: u64, last: Option<i64>) -> Option<String> {
    (len as u64 >= limit)
        .then_some(last)
        .flatten()
        .map(|k| k.to_string())
}

/// The rollback journal and its SN mirror, paged by `plan_row_id`. Each
/// journal row carries `before_image_sha256` but never the before-image
/// itself, which retention pruning removes: a package verifies before and
/// after the prune, and a changed hash or linkage id still shows.
struct JournalArtifact<'a> {
    store: &'a Store,
    scope: &'a ArtifactScope,
}

#[async_trait]
impl ArtifactSource for JournalArtifact<'_> {
    async fn header(&self) -> Result<Map<String, Value>, DomainError> {
        let job = self.store.job(&self.scope.job_id).await?;
        let plan_hash = job.map(|j| j.plan_hash);
        Ok(object(
            json!({"job_id": self.scope.job_id, "plan_hash": plan_hash}),
        ))
    }

    fn lists(&self) -> Vec<&'static str> {
        vec!["rollback_journal", "sn_mirror"]
    }

    async fn page(&self, list: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError> {
        let (job_id, after) = (&self.scope.job_id, after_i64(after)?.unwrap_or(0));
        match list {
            "rollback_journal" => {
                let rows = self.store.journal_page(job_id, after, limit).await?;
                let next = next_key(rows.len(), limit, rows.last().map(|r| r.plan_row_id));
                let items = rows
                    .into_iter()
                    .map(|r| {
                        json!({"journal_id": r.journal_id, "plan_hash": r.plan_hash, "plan_row_id": r.plan_row_id,
                            "chunk_id": r.chunk_id, "row_attempt": r.row_attempt, "table": r.table,
                            "sys_id": r.sys_id, "action": r.action, "before_image_sha256": r.before_image_sha256,
                            "after_image_sha256": r.after_image_sha256, "created_at": timestamp(&r.created_at)})
                    })
                    .collect();
                Ok(Page { items, next })
            }
            "sn_mirror" => {
                let rows = self.store.mirror_page(job_id, after, limit).await?;
                let next = next_key(rows.len(), limit, rows.last().map(|r| r.plan_row_id));
                let items = rows
                    .into_iter()
                    .map(|m| {
                        json!({"journal_id": m.journal_id, "table": m.table, "sys_id": m.sys_id,
                            "plan_row_id": m.plan_row_id, "chunk_id": m.chunk_id,
                            "before_image_sha256": m.before_image_sha256, "synced_at": timestamp(&m.synced_at)})
                    })
                    .collect();
                Ok(Page { items, next })
            }
            other => Err(unknown_list(other)),
        }
    }
}
