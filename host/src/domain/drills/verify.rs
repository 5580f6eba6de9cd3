//! The drill's check of the sandbox: every record of the scope must hold
//! exactly the backup's version at the PIT. The backup's versions and the
//! sandbox's records are read as two streams ordered by `sys_id` and
//! merged, so memory stays flat whatever the table's size.
//!
//! The expected hash is the one the index recorded at ingest
//! (`payload_sha256`), never one recomputed from the stored payload: a
//! version whose payload was changed behind the service's back no longer
//! hashes to it, and the drill reports the record as a mismatch, whatever
//! the restore wrote.

use std::collections::HashMap;

use futures::stream::BoxStream;
use futures::StreamExt;

use super::{Mismatch, Schedule};
use crate::domain::canonical::value_sha256;
use crate::domain::plan::document::PlanDocument;
use crate::domain::{DomainError, RestoreService};
use crate::store::plan_scan::{ScanScope, VersionRow};
use crate::target::{RecordKey, RecordState, TableSchema, Target};

/// Mismatches listed on a run at most (the count is always exact).
pub const MAX_LISTED: usize = 1000;

/// What the check found.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Records compared.
    pub verified: i64,
    pub mismatches: Vec<Mismatch>,
    /// Mismatches in all, listed or not.
    pub mismatched: i64,
}

impl Checked {
    fn record(&mut self, mismatch: Option<Mismatch>) {
        self.verified += 1;
        if let Some(m) = mismatch {
            self.mismatched += 1;
            if self.mismatches.len() < MAX_LISTED {
                self.mismatches.push(m);
            }
        }
    }
}

/// Compares the sandbox with the backup at the plan's PIT, over the
/// plan's scope.
pub async fn verify(
    svc: &RestoreService,
    schedule: &Schedule,
    plan: &PlanDocument,
) -> Result<Checked, DomainError> {
    let sandbox = svc
        .targets
        .get(&schedule.sandbox.tenant_id, &schedule.sandbox.instance_id);
    let mut checked = Checked::default();
    for table in &plan.inputs.scope {
        let Some(schema) = sandbox.describe_table(&table.table).await? else {
            return Err(DomainError::Internal(format!(
                "the sandbox has no table {} any more",
                table.table
            )));
        };
        let scope = ScanScope {
            tenant_id: &schedule.source.tenant_id,
            instance_id: &schedule.source.instance_id,
            table: &table.table,
            sys_ids: table.sys_ids.as_deref(),
        };
        let versions = svc
            .store
            .scan_versions(scope, plan.pit.timestamp_micros())
            .await?;
        let records = sandbox.scan(&table.table, &schema, table.sys_ids.as_deref());
        let sides = Sides {
            table: &table.table,
            schema: &schema,
            target: sandbox.as_ref(),
        };
        merge(&sides, Box::pin(versions), records, &mut checked).await?;
    }
    Ok(checked)
}

struct Sides<'a> {
    table: &'a str,
    schema: &'a TableSchema,
    target: &'a dyn Target,
}

impl Sides<'_> {
    /// The backup's hash of a version, if it still is the version ingested;
    /// `Err(observed)` when its payload no longer hashes to it.
    fn expected(&self, version: &VersionRow) -> Result<Option<String>, String> {
        let (Some(payload), "upsert") = (&version.payload, version.op.as_str()) else {
            return Ok(None);
        };
        let ingested = version.payload_sha256.clone().unwrap_or_default();
        let now = value_sha256(payload).unwrap_or_default();
        if now != ingested {
            return Err(now);
        }
        if self.target.stores_payload_verbatim() {
            Ok(Some(ingested))
        } else {
            Ok(Some(self.target.content_hash(self.schema, payload)))
        }
    }

    /// The sandbox's content hash of a record, computed from its content
    /// (a stored hash is not trusted: it may be the one the restore was
    /// told to expect).
    fn observed(&self, record: &RecordState) -> String {
        if self.target.stores_payload_verbatim() {
            value_sha256(&record.payload).unwrap_or_default()
        } else {
            self.target.content_hash(self.schema, &record.payload)
        }
    }

    fn compare(
        &self,
        sys_id: &str,
        version: Option<&VersionRow>,
        record: Option<&RecordState>,
    ) -> Option<Mismatch> {
        let observed = record.map(|r| self.observed(r));
        // A version that no longer hashes to its ingest hash mismatches
        // whatever the sandbox holds.
        let (expected, tampered) = match version.map(|v| self.expected(v)) {
            None => (None, false),
            Some(Ok(expected)) => (expected, false),
            Some(Err(_)) => (version.and_then(|v| v.payload_sha256.clone()), true),
        };
        (tampered || expected != observed).then(|| Mismatch {
            table: self.table.to_owned(),
            sys_id: sys_id.to_owned(),
            expected_sha256: expected,
            observed_sha256: observed,
        })
    }

    /// Reads the sandbox's records of a batch of pairs and compares them.
    async fn flush(&self, batch: &mut Vec<Pair>, checked: &mut Checked) -> Result<(), DomainError> {
        let present: Vec<String> = batch
            .iter()
            .filter(|p| p.in_sandbox)
            .map(|p| p.sys_id.clone())
            .collect();
        let records: HashMap<String, RecordState> = self
            .target
            .read(self.table, self.schema, &present)
            .await?
            .into_iter()
            .map(|r| (r.sys_id.clone(), r))
            .collect();
        for pair in batch.drain(..) {
            let record = records.get(&pair.sys_id);
            checked.record(self.compare(&pair.sys_id, pair.version.as_ref(), record));
        }
        Ok(())
    }
}

/// A record of the scope: the backup's version and whether the sandbox
/// listed it.
struct Pair {
    sys_id: String,
    version: Option<VersionRow>,
    in_sandbox: bool,
}

/// Records read back from the sandbox at a time.
const BATCH: usize = 500;

/// Merges the two sorted streams (the first version of each `sys_id`
/// wins a tie, as in planning).
async fn merge(
    sides: &Sides<'_>,
    mut versions: std::pin::Pin<
        Box<impl futures::Stream<Item = Result<VersionRow, crate::store::StoreError>>>,
    >,
    mut records: BoxStream<'_, Result<RecordKey, crate::target::TargetError>>,
    checked: &mut Checked,
) -> Result<(), DomainError> {
    let mut version = next_version(&mut versions, None).await?;
    let mut record = records.next().await.transpose()?;
    let mut batch: Vec<Pair> = Vec::with_capacity(BATCH);
    loop {
        if batch.len() >= BATCH {
            sides.flush(&mut batch, checked).await?;
        }
        let (v, r) = match (&version, &record) {
            (None, None) => return sides.flush(&mut batch, checked).await,
            (Some(v), Some(r)) if v.sys_id.as_bytes() == r.sys_id.as_bytes() => (true, true),
            (Some(v), Some(r)) => (
                v.sys_id.as_bytes() < r.sys_id.as_bytes(),
                v.sys_id.as_bytes() > r.sys_id.as_bytes(),
            ),
            (Some(_), None) => (true, false),
            (None, Some(_)) => (false, true),
        };
        let vv = if v { version.as_ref() } else { None };
        let rr = if r { record.as_ref() } else { None };
        // A delete at the PIT that the sandbox does not hold is no row.
        let deleted_and_absent = vv.is_some_and(|x| x.op != "upsert") && rr.is_none();
        if !deleted_and_absent {
            let sys_id = vv
                .map(|x| x.sys_id.clone())
                .or_else(|| rr.map(|x| x.sys_id.clone()));
            batch.push(Pair {
                sys_id: sys_id.unwrap_or_default(),
                version: vv.cloned(),
                in_sandbox: rr.is_some(),
            });
        }
        if v {
            let last = version.take().map(|x| x.sys_id);
            version = next_version(&mut versions, last.as_deref()).await?;
        }
        if r {
            record = records.next().await.transpose()?;
        }
    }
}

/// The next version of another `sys_id` than `last`.
async fn next_version(
    versions: &mut std::pin::Pin<
        Box<impl futures::Stream<Item = Result<VersionRow, crate::store::StoreError>>>,
    >,
    last: Option<&str>,
) -> Result<Option<VersionRow>, DomainError> {
    while let Some(version) = versions.next().await {
        let version = version?;
        if Some(version.sys_id.as_str()) != last {
            return Ok(Some(version));
        }
    }
    Ok(None)
}
