//! The checksums an execution is resumed by. Each chunk's digest covers
//! what its rows assume of the target (their `before_sha256`); the
//! precondition checksum at a checkpoint covers the scoped tables' planned
//! schema and permission and the digests of every chunk not yet applied.

use super::super::canonical::value_sha256;
use super::super::plan::document::TableDoc;
use super::super::DomainError;
use crate::store::plans::PlanRowKey;

/// Digest of a chunk's rows and the target hashes they assume (or, for
/// verification, the hashes the target has now).
pub fn chunk_digest<'a>(
    rows: impl Iterator<Item = (&'a PlanRowKey, Option<&'a str>)>,
) -> Result<String, DomainError> {
    let lines: Vec<serde_json::Value> = rows
        .map(|(r, sha)| serde_json::json!([r.plan_row_id, r.table, r.sys_id, sha]))
        .collect();
    value_sha256(&serde_json::Value::Array(lines))
}

/// The precondition checksum for the chunks from `next` on.
pub fn precondition_checksum(
    tables: &[TableDoc],
    remaining_digests: &[String],
) -> Result<String, DomainError> {
    value_sha256(&serde_json::json!({ "tables": tables, "chunks": remaining_digests }))
}
