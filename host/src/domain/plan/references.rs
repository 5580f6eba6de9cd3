//! Which references of restored rows would dangle. A target in the
//! service's database answers in one query over its rows; a remote one is
//! asked which of the records the plan does not touch exist, in batches.

use std::collections::BTreeMap;

use super::document::ReferenceConflictDoc;
use crate::domain::DomainError;
use crate::store::plan_refs::{OpenRefRow, RefConflictRow};
use crate::target::Target;

/// Records asked about per request.
const BATCH: usize = 100;

/// A conflict as the plan documents it.
pub fn doc(r: RefConflictRow) -> ReferenceConflictDoc {
    ReferenceConflictDoc {
        table: r.table,
        sys_id: r.sys_id,
        field: r.field,
        referenced_table: r.ref_table,
        referenced_sys_id: r.ref_sys_id,
    }
}

/// The open references (see `Store::open_references`) that dangle: those
/// to a record the plan deletes, and those to a record the target lacks.
pub async fn remote_dangling(
    target: &dyn Target,
    open: Vec<OpenRefRow>,
) -> Result<Vec<ReferenceConflictDoc>, DomainError> {
    let mut wanted: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in open.iter().filter(|r| !r.deleted) {
        wanted
            .entry(&r.ref_table)
            .or_default()
            .push(r.ref_sys_id.clone());
    }
    let mut existing: BTreeMap<(String, String), ()> = BTreeMap::new();
    for (table, mut ids) in wanted {
        ids.sort();
        ids.dedup();
        let Some(schema) = target.describe_table(table).await? else {
            continue;
        };
        for batch in ids.chunks(BATCH) {
            for record in target.read(table, &schema, batch).await? {
                existing.insert((table.to_owned(), record.sys_id), ());
            }
        }
    }
    Ok(open
        .into_iter()
        .filter(|r| {
            r.deleted || !existing.contains_key(&(r.ref_table.clone(), r.ref_sys_id.clone()))
        })
        .map(|r| ReferenceConflictDoc {
            table: r.table,
            sys_id: r.sys_id,
            field: r.field,
            referenced_table: r.ref_table,
            referenced_sys_id: r.ref_sys_id,
        })
        .collect())
}
