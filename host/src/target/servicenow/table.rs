//! Reading a table: scans (every record, or only given `sys_id`s, as keys
//! with content hashes) and reads (whole records), both with
//! `sysparm_query=...^ORDERBYsys_id`, `sysparm_fields` = the schema's
//! columns and `sys_id`, and `sysparm_exclude_reference_link=true` (every
//! value a plain string, a reference its `sys_id`).
//!
//! Order: the domain merges a scan with a stream sorted bytewise by
//! `sys_id`. ServiceNow sorts `sys_id`s in its database's collation; for
//! its `sys_id`s (32 lowercase hex digits) every collation agrees with
//! bytewise order [assumed]. A scan checks it: a record repeated by a page
//! boundary that shifted (a record created or deleted during the scan) is
//! skipped, a record out of order fails the scan with a protocol error
//! rather than feed the merge a wrong order.
//!
//! `sys_id`s are sent in `sys_idIN...` batches of [`IN_BATCH`], sorted, so
//! the batches' results follow one another in order. An id that cannot be
//! a ServiceNow `sys_id` (empty, or with characters other than letters,
//! digits, `_` and `-`, which could change the encoded query) is not sent
//! and reads as absent.

use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::answer::Record;
use super::http::Instance;
use super::paging::{self, Listing};
use crate::target::content::{content_sha256, instance_content};
use crate::target::{RecordKey, RecordState, TableSchema, TargetError};

/// `sys_id`s per `sys_idIN` query (about 3.3 kB of URL).
pub(super) const IN_BATCH: usize = 100;

/// A name the instance could have as a table; others are sent nowhere.
pub(super) fn valid_table(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(super) fn queryable(sys_id: &str) -> bool {
    !sys_id.is_empty()
        && sys_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `sysparm_fields`: the schema's columns (no `sys_*`) and `sys_id`.
pub(super) fn fields(schema: &TableSchema) -> String {
    let mut names: Vec<&str> = schema
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| !n.starts_with("sys_"))
        .collect();
    names.push("sys_id");
    names.join(",")
}

/// The content hash of a record as the instance holds it.
pub(super) fn record_sha256(schema: &TableSchema, record: Record) -> String {
    content_sha256(schema, &Value::Object(record))
}

/// A walk through the records of a table, or of some of its records.
struct Walk<'a> {
    instance: &'a Instance,
    table: &'a str,
    path: [&'a str; 4],
    fields: String,
    /// Sorted, unique, queryable; `None` for the whole table.
    sys_ids: Option<Vec<&'a str>>,
    /// Which `sys_idIN` batch (always 0 for the whole table).
    batch: usize,
    offset: usize,
    /// The last `sys_id` handed out.
    last: Option<String>,
}

impl<'a> Walk<'a> {
    fn new(
        instance: &'a Instance,
        table: &'a str,
        schema: &TableSchema,
        sys_ids: Option<&'a [String]>,
    ) -> Self {
        let sys_ids = sys_ids.map(|ids| {
            let mut ids: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|id| queryable(id))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        Self {
            instance,
            table,
            path: ["api", "now", "table", table],
            fields: fields(schema),
            sys_ids,
            batch: 0,
            offset: 0,
            last: None,
        }
    }

    /// The encoded query of the current batch; `None` when all are done.
    fn query(&self) -> Option<String> {
        match &self.sys_ids {
            None => (self.batch == 0).then(|| "ORDERBYsys_id".to_owned()),
            Some(ids) => ids
                .chunks(IN_BATCH)
                .nth(self.batch)
                .map(|batch| format!("sys_idIN{}^ORDERBYsys_id", batch.join(","))),
        }
    }

    /// The next page's records, in order, repeats left out; `None` at the end.
    async fn next_page(&mut self) -> Result<Option<Vec<(String, Record)>>, TargetError> {
        if !valid_table(self.table) {
            return Err(TargetError::NoTable(self.table.to_owned()));
        }
        let Some(query) = self.query() else {
            return Ok(None);
        };
        let params = [
            ("sysparm_query", query),
            ("sysparm_fields", self.fields.clone()),
            ("sysparm_exclude_reference_link", "true".to_owned()),
        ];
        let listing = Listing {
            path: &self.path,
            table: self.table,
        };
        let page = paging::page(self.instance, listing, &params, self.offset).await?;
        match page.next {
            Some(next) => self.offset = next,
            None => {
                self.batch += 1;
                self.offset = 0;
            }
        }
        let mut out = Vec::with_capacity(page.records.len());
        for record in page.records {
            let sys_id = record
                .get("sys_id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    TargetError::Protocol(format!("a record of {} has no sys_id", self.table))
                })?;
            match self.last.as_deref() {
                Some(last) if sys_id.as_str() == last => continue,
                Some(last) if sys_id.as_str() < last => {
                    return Err(TargetError::Protocol(format!(
                        "{} listed {sys_id} after {last}: not ordered by sys_id",
                        self.table
                    )))
                }
                _ => {}
            }
            self.last = Some(sys_id.clone());
            out.push((sys_id, record));
        }
        Ok(Some(out))
    }
}

/// The keys of `table` (or of `sys_ids`), page by page.
pub(super) fn scan<'a>(
    instance: &'a Instance,
    table: &'a str,
    schema: &'a TableSchema,
    sys_ids: Option<&'a [String]>,
) -> BoxStream<'a, Result<RecordKey, TargetError>> {
    let walk = Walk::new(instance, table, schema, sys_ids);
    stream::try_unfold(walk, move |mut walk| async move {
        let Some(records) = walk.next_page().await? else {
            return Ok::<_, TargetError>(None);
        };
        let keys: Vec<Result<RecordKey, TargetError>> = records
            .into_iter()
            .map(|(sys_id, record)| {
                Ok(RecordKey {
                    sys_id,
                    content_sha256: record_sha256(schema, record),
                })
            })
            .collect();
        Ok(Some((stream::iter(keys), walk)))
    })
    .try_flatten()
    .boxed()
}

/// The records `sys_ids` of `table` as they are now (absent ones left out).
pub(super) async fn read(
    instance: &Instance,
    table: &str,
    schema: &TableSchema,
    sys_ids: &[String],
) -> Result<Vec<RecordState>, TargetError> {
    let mut walk = Walk::new(instance, table, schema, Some(sys_ids));
    let mut out = Vec::new();
    while let Some(records) = walk.next_page().await? {
        for (sys_id, record) in records {
            let payload = Value::Object(instance_content(schema, &Value::Object(record)));
            out.push(RecordState {
                sys_id,
                content_sha256: content_sha256(schema, &payload),
                payload,
            });
        }
    }
    Ok(out)
}
