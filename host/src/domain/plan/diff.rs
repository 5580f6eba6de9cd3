//! The point-in-time diff: per scoped table, merge the latest index version
//! of each record at the PIT with the target's current row, decide the
//! action, and write plan rows (and the references restored rows make) in
//! batches. Only the current row of each stream and one batch are held in
//! memory, whatever the number of records.

use std::cmp::Ordering;
use std::collections::HashMap;

use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::super::canonical::write_value;
use super::super::DomainError;
use super::document::{DeleteCandidateDoc, SummaryDoc};
use crate::policy::DeleteDecision;
use crate::store::plan_scan::{ScanScope, VersionRow};
use crate::store::plan_writer::{PlanRefInsert, PlanRowInsert, PlanWriter};
use crate::store::{Store, StoreError};
use crate::target::{RecordKey, TableSchema, Target};

/// `sys_id`s per scan when the scope lists them.
const SYS_ID_BATCH: usize = 500;
/// Rows buffered before a write.
const WRITE_BATCH: usize = 500;

/// Where the diff writes and what it has counted so far.
pub struct DiffState<'a> {
    pub writer: &'a PlanWriter,
    pub chunk_size: i64,
    pub decisions: HashMap<String, DeleteDecision>,
    pub summary: SummaryDoc,
    pub executed: i64,
    pub delete_candidates: Vec<DeleteCandidateDoc>,
    next_row_id: i64,
    rows: Vec<PlanRowInsert>,
    refs: Vec<PlanRefInsert>,
    rows_hasher: Sha256,
}

/// What one table contributes: its name, its reference columns, the
/// target holding it (and its schema there, `None` when it has no such
/// table) and the identity of the records the diff is about.
pub struct TableScan<'a> {
    pub target: &'a dyn Target,
    pub schema: Option<&'a TableSchema>,
    /// The source, whose backup index is read.
    pub tenant_id: &'a str,
    pub instance_id: &'a str,
    /// The instance `target` is (delete candidates are its rows).
    pub target_tenant_id: &'a str,
    pub target_instance_id: &'a str,
    pub table: &'a str,
    pub sys_ids: Option<&'a [String]>,
    /// `(column, referenced table)` of the target schema.
    pub references: &'a [(String, String)],
    pub pit_us: i64,
}

/// One row of a plan before it is numbered and chunked.
pub struct NewRow<'a> {
    pub table: &'a str,
    /// `(column, referenced table)` of the target schema.
    pub references: &'a [(String, String)],
    pub sys_id: String,
    /// A [`super::document::RowAction`]'s stored name.
    pub action: &'static str,
    pub before_sha256: Option<String>,
    pub after_sha256: Option<String>,
    /// Kept only for `create` and `update`.
    pub after_payload: Option<serde_json::Value>,
}

/// Deterministic id of a delete candidate: the same table and `sys_id` of
/// the same instance give the same id in every plan.
pub fn candidate_id(tenant_id: &str, instance_id: &str, table: &str, sys_id: &str) -> String {
    // The sha256 of the four fields joined by U+001F, its first 16 bytes
    // in hex: hashed piece by piece, with no joined copy (an undo of
    // 100,000 creates computes one per row).
    let mut hasher = Sha256::new();
    for (index, part) in [tenant_id, instance_id, table, sys_id].iter().enumerate() {
        if index > 0 {
            hasher.update([0x1f]);
        }
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut id = String::with_capacity(3 + 32);
    id.push_str("dc_");
    id.push_str(&hex::encode(&digest[..16]));
    id
}

impl<'a> DiffState<'a> {
    /// A fresh diff writing through `writer`.
    pub fn new(
        writer: &'a PlanWriter,
        chunk_size: i64,
        decisions: HashMap<String, DeleteDecision>,
    ) -> Self {
        Self {
            writer,
            chunk_size,
            decisions,
            summary: SummaryDoc::default(),
            executed: 0,
            delete_candidates: Vec::new(),
            next_row_id: 1,
            rows: Vec::new(),
            refs: Vec::new(),
            rows_hasher: Sha256::new(),
        }
    }

    /// Diffs one table (in `sys_id` batches when the scope lists them).
    pub async fn scan_table(
        &mut self,
        store: &Store,
        scan: &TableScan<'_>,
    ) -> Result<(), DomainError> {
        match scan.sys_ids {
            Some(ids) => {
                for batch in ids.chunks(SYS_ID_BATCH) {
                    self.merge(store, scan, Some(batch)).await?;
                }
            }
            None => self.merge(store, scan, None).await?,
        }
        Ok(())
    }

    async fn merge(
        &mut self,
        store: &Store,
        scan: &TableScan<'_>,
        ids: Option<&[String]>,
    ) -> Result<(), DomainError> {
        let scope = ScanScope {
            tenant_id: scan.tenant_id,
            instance_id: scan.instance_id,
            table: scan.table,
            sys_ids: ids,
        };
        let versions = store.scan_versions(scope, scan.pit_us).await?;
        let mut targets = match scan.schema {
            Some(schema) => scan.target.scan(scan.table, schema, ids),
            None => futures::stream::empty().boxed(),
        };
        futures::pin_mut!(versions);
        let mut latest = Latest::default();
        let mut version = latest.next(&mut versions).await?;
        let mut target = targets.next().await.transpose()?;
        let hash = |v: VersionRow| version_hash(scan, v);
        loop {
            let order = match (&version, &target) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(v), Some(t)) => v.sys_id.as_bytes().cmp(t.sys_id.as_bytes()),
            };
            match order {
                Ordering::Less => {
                    self.decide(scan, version.take().map(hash), None).await?;
                    version = latest.next(&mut versions).await?;
                }
                Ordering::Greater => {
                    self.decide(scan, None, target.take()).await?;
                    target = targets.next().await.transpose()?;
                }
                Ordering::Equal => {
                    let v = version.take().map(hash);
                    self.decide(scan, v, target.take()).await?;
                    version = latest.next(&mut versions).await?;
                    target = targets.next().await.transpose()?;
                }
            }
        }
        Ok(())
    }

    async fn decide(
        &mut self,
        scan: &TableScan<'_>,
        version: Option<VersionRow>,
        target: Option<RecordKey>,
    ) -> Result<(), DomainError> {
        let live = version.filter(|v| v.op == "upsert");
        let sys_id = match (&live, &target) {
            (Some(v), _) => v.sys_id.clone(),
            (None, Some(t)) => t.sys_id.clone(),
            (None, None) => return Ok(()),
        };
        let before = target.map(|t| t.content_sha256);
        let action = match (&live, &before) {
            (Some(_), None) => "create",
            (Some(v), Some(b)) if v.payload_sha256.as_deref() == Some(b.as_str()) => "unchanged",
            (Some(_), Some(_)) => "update",
            (None, _) => self.delete_action(
                scan.target_tenant_id,
                scan.target_instance_id,
                scan.table,
                &sys_id,
            ),
        };
        let (after_sha256, after_payload) = match live {
            Some(v) => (v.payload_sha256, v.payload),
            None => (None, None),
        };
        let row = NewRow {
            table: scan.table,
            references: scan.references,
            sys_id,
            action,
            before_sha256: before,
            after_sha256,
            after_payload,
        };
        self.push(row).await
    }

    /// Numbers, counts, chunks and hashes one row, collects the references
    /// a written row makes, and writes the rows once a batch is full. The
    /// point-in-time diff and the undo plan both make their rows here, so
    /// both plans execute, resume and verify alike.
    pub async fn push(&mut self, row: NewRow<'_>) -> Result<(), DomainError> {
        let action = row.action;
        self.count(action);
        let executed = matches!(action, "create" | "update" | "delete");
        let chunk_index = executed.then(|| self.executed / self.chunk_size);
        if executed {
            self.executed += 1;
        }
        let plan_row_id = self.next_row_id;
        self.next_row_id += 1;
        let writes = matches!(action, "create" | "update");
        if writes {
            self.collect_refs(
                row.table,
                row.references,
                plan_row_id,
                &row.sys_id,
                row.after_payload.as_ref(),
            );
        }
        let row = PlanRowInsert {
            plan_row_id,
            chunk_index,
            table: row.table.to_owned(),
            sys_id: row.sys_id,
            action,
            before_sha256: row.before_sha256,
            after_sha256: row.after_sha256,
            after_payload: if writes { row.after_payload } else { None },
        };
        self.hash_row(&row)?;
        self.rows.push(row);
        if self.rows.len() >= WRITE_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Records a delete candidate of the target and returns the action its
    /// decision gives: `delete`, `skip_delete` or `undecided_delete`.
    pub fn delete_action(
        &mut self,
        target_tenant_id: &str,
        target_instance_id: &str,
        table: &str,
        sys_id: &str,
    ) -> &'static str {
        let id = candidate_id(target_tenant_id, target_instance_id, table, sys_id);
        let decision = self.decisions.get(&id).copied();
        self.delete_candidates.push(DeleteCandidateDoc {
            candidate_id: id,
            table: table.to_owned(),
            sys_id: sys_id.to_owned(),
            decision,
        });
        match decision {
            Some(DeleteDecision::AllowDeletion) => "delete",
            Some(DeleteDecision::SkipDeletion) => "skip_delete",
            None => "undecided_delete",
        }
    }

    fn count(&mut self, action: &str) {
        let s = &mut self.summary;
        s.rows_total += 1;
        match action {
            "create" => s.creates += 1,
            "update" => s.updates += 1,
            "unchanged" => s.unchanged += 1,
            "delete" => s.deletes += 1,
            "skip_delete" => s.skipped_deletes += 1,
            "keep_current" => s.kept_current += 1,
            "undecided_conflict" => s.undecided_conflicts += 1,
            _ => s.undecided_deletes += 1,
        }
    }

    fn collect_refs(
        &mut self,
        table: &str,
        references: &[(String, String)],
        plan_row_id: i64,
        sys_id: &str,
        payload: Option<&serde_json::Value>,
    ) {
        let Some(payload) = payload else { return };
        for (field, ref_table) in references {
            if let Some(ref_sys_id) = payload
                .get(field)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
            {
                self.refs.push(PlanRefInsert {
                    plan_row_id,
                    table: table.to_owned(),
                    sys_id: sys_id.to_owned(),
                    field: field.clone(),
                    ref_table: ref_table.clone(),
                    ref_sys_id: ref_sys_id.to_owned(),
                });
            }
        }
    }

    fn hash_row(&mut self, row: &PlanRowInsert) -> Result<(), DomainError> {
        let line = serde_json::json!([
            row.plan_row_id,
            row.chunk_index,
            row.table,
            row.sys_id,
            row.action,
            row.before_sha256,
            row.after_sha256
        ]);
        write_value(&mut self.rows_hasher, &line)?;
        self.rows_hasher.update(b"\n");
        Ok(())
    }

    /// Writes buffered rows and references.
    pub async fn flush(&mut self) -> Result<(), DomainError> {
        self.writer.insert_rows(&self.rows).await?;
        self.writer.insert_refs(&self.refs).await?;
        self.rows.clear();
        self.refs.clear();
        Ok(())
    }

    /// Chunks needed for the executed rows.
    pub fn total_chunks(&self) -> i64 {
        (self.executed + self.chunk_size - 1) / self.chunk_size
    }

    /// The hex sha256 over every row in plan order.
    pub fn rows_sha256(&self) -> String {
        hex::encode(self.rows_hasher.clone().finalize())
    }
}

/// A version with the hash the target gives its payload: the index's own
/// hash for a target that stores payloads verbatim, computed otherwise.
fn version_hash(scan: &TableScan<'_>, mut version: VersionRow) -> VersionRow {
    if !scan.target.stores_payload_verbatim() {
        if let (Some(schema), Some(payload)) = (scan.schema, &version.payload) {
            version.payload_sha256 = Some(scan.target.content_hash(schema, payload));
        }
    }
    version
}

/// Reduces the newest-first version stream to one (the latest) per `sys_id`.
#[derive(Default)]
struct Latest {
    pending: Option<VersionRow>,
}

impl Latest {
    async fn next<S>(&mut self, stream: &mut S) -> Result<Option<VersionRow>, StoreError>
    where
        S: Stream<Item = Result<VersionRow, StoreError>> + Unpin,
    {
        let first = match self.pending.take() {
            Some(row) => row,
            None => match stream.next().await.transpose()? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        while let Some(row) = stream.next().await.transpose()? {
            if row.sys_id != first.sys_id {
                self.pending = Some(row);
                break;
            }
        }
        Ok(Some(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::canonical::sha256_hex;

    /// The id is the first half of the sha256 of the fields joined by
    /// U+001F, as plans made before it was hashed piece by piece name it:
    /// decisions sent for those plans still match.
    #[test]
    fn a_candidate_id_is_the_hash_of_its_joined_fields() {
        let joined = "acme\u{1f}prod\u{1f}incident\u{1f}0123abc";
        let expected = format!("dc_{}", &sha256_hex(joined.as_bytes())[..32]);
        assert_eq!(
            candidate_id("acme", "prod", "incident", "0123abc"),
            expected
        );
        assert_ne!(
            candidate_id("acme", "prod", "incident", "0123abd"),
            expected
        );
        assert_ne!(
            candidate_id("acmeprod", "", "incident", "0123abc"),
            expected
        );
    }
}
