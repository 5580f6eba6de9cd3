//! Targets: the instances restores read from and write into, behind one
//! trait that says what the domain needs of any instance and nothing of
//! how. A connector declares what its instance can promise
//! ([`Promises`]); the domain picks the execution path from those
//! promises, never from the connector's name, and makes every decision
//! (row fallback, conflicts, retries of a resume) itself.
//!
//! - [`embedded`]: tables in the service's own database (the default);
//!   its batches commit in one transaction with the rollback journal.
//! - [`servicenow`]: a ServiceNow instance over the REST Table and
//!   Attachment APIs; every row is its own request, nothing is atomic.
//!
//! A connector's credentials never reach a log, a response, the OpenAPI
//! document or an evidence package.

pub mod content;
pub mod embedded;
pub mod registry;
pub mod servicenow;
pub mod settings;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde_json::Value;

pub use content::content_sha256;
pub use registry::{TargetInfo, Targets};

/// A column of a target table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    /// `string`, `integer`, `boolean`, `datetime`, `reference` or `json`
    /// (a connector maps its own types onto these).
    pub column_type: String,
    /// The table a `reference` column points into, when known.
    pub reference_table: Option<String>,
}

/// What the domain needs to know of a table: its columns (the plan and
/// execution check the hash), and whether restores may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    pub columns: Vec<TargetColumn>,
    pub write_allowed: bool,
    /// sha256 of the canonical, name-sorted column list.
    pub schema_sha256: String,
}

/// A record as a scan lists it: its `sys_id` and the hash of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKey {
    pub sys_id: String,
    pub content_sha256: String,
}

/// A record read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordState {
    pub sys_id: String,
    /// The record's content as the target stores it (no `sys_*` fields of
    /// a remote instance).
    pub payload: Value,
    pub content_sha256: String,
}

/// What to do to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
}

/// One row of a batch: the plan row it comes from, the record, and its
/// content after the change (none for a delete).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub plan_row_id: i64,
    pub sys_id: String,
    pub kind: ChangeKind,
    pub payload: Option<Value>,
}

/// What became of one row of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowResult {
    /// Written; the content hash as the target now holds it (none after a
    /// delete).
    Applied { content_sha256: Option<String> },
    /// The instance refused this row and only this row (an ACL, a field it
    /// does not accept): the batch goes on.
    Refused { status: u16, message: String },
    /// The write's answer was lost (the connection dropped, or the instance
    /// failed in a way that may follow the write): the row may or may not
    /// have been written. The domain reads it back and decides.
    Unknown { message: String },
    /// The row was not written: the instance turned it away for now (rate
    /// limited or unavailable past the connector's retries) or it was not
    /// sent because an earlier row of the batch found the instance so. It
    /// can be written later as it is.
    NotWritten { message: String },
}

/// What an instance can promise; the domain chooses how to execute from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Promises {
    /// A batch is written in one transaction with the service's own
    /// journal (only a target in the service's database can promise it).
    pub atomic_with_journal: bool,
    /// Rows per batch the instance takes at most.
    pub max_batch: usize,
    /// Requests that may run at once against the instance.
    pub concurrency: usize,
}

/// An attachment as the target holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// The instance's id of the attachment.
    pub id: String,
    pub size_bytes: i64,
    pub sha256_plain: String,
}

/// Which attachment: the backup's id of it and the record it belongs to
/// (each target keys by what it has: the embedded one by `media_id`, a
/// remote instance by record and file name).
#[derive(Debug, Clone, Copy)]
pub struct AttachmentKey<'a> {
    pub media_id: &'a str,
    pub parent_table: &'a str,
    pub parent_sys_id: &'a str,
    pub file_name: &'a str,
    /// The content's sha256: a target that keys by record and file name
    /// finds only the attachment holding this content.
    pub sha256_plain: &'a str,
}

/// An attachment to write next to a record.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub key: AttachmentKey<'a>,
    pub content_type: &'a str,
    pub bytes: bytes::Bytes,
    pub sha256_plain: &'a str,
}

/// Why a target call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The instance cannot answer now (unreachable, 5xx, rate limited past
    /// the retries): retrying later may succeed; nothing is known to have
    /// been written by the failed call.
    #[error("the target instance is unavailable: {0}")]
    Unavailable(String),
    /// The instance refuses the service's credentials (revoked, expired,
    /// wrong): an operator must act.
    #[error("the target instance refuses the service's credentials: {0}")]
    Unauthorized(String),
    /// The instance has no such table, or refuses to describe it.
    #[error("the target has no table {0}")]
    NoTable(String),
    /// The instance refused the call itself (an ACL, a missing parent
    /// record): trying again will get the same answer.
    #[error("the target instance refused: {status} {message}")]
    Refused { status: u16, message: String },
    /// The instance answered something the connector cannot read.
    #[error("the target instance answered unexpectedly: {0}")]
    Protocol(String),
}

/// What the domain needs from any instance.
#[async_trait]
pub trait Target: Send + Sync {
    /// What the instance can promise.
    fn promises(&self) -> Promises;

    /// Whether the target stores a payload as it is, so that its content
    /// hash is the canonical sha256 of the payload the index computed at
    /// ingest (and need not be computed again per version).
    fn stores_payload_verbatim(&self) -> bool {
        false
    }

    /// The content hash this target gives a payload, so a backup's version
    /// and the target's record compare equal exactly when a restore would
    /// change nothing.
    fn content_hash(&self, schema: &TableSchema, payload: &Value) -> String {
        content_sha256(schema, payload)
    }

    /// A table's schema and write permission; `None` when it has none.
    async fn describe_table(&self, table: &str) -> Result<Option<TableSchema>, TargetError>;

    /// The records of `table` (or only `sys_ids`, sorted), ordered bytewise
    /// by `sys_id`, with their content hashes; streamed page by page, so
    /// memory stays flat whatever the table's size.
    fn scan<'a>(
        &'a self,
        table: &'a str,
        schema: &'a TableSchema,
        sys_ids: Option<&'a [String]>,
    ) -> BoxStream<'a, Result<RecordKey, TargetError>>;

    /// The given records as they are now (absent ones are left out).
    async fn read(
        &self,
        table: &str,
        schema: &TableSchema,
        sys_ids: &[String],
    ) -> Result<Vec<RecordState>, TargetError>;

    /// Writes a batch (at most `max_batch` rows) and says what became of
    /// each row, in order. An error means the batch as a whole failed and
    /// any row may or may not have been written.
    async fn apply(
        &self,
        table: &str,
        schema: &TableSchema,
        batch: &[RowChange],
    ) -> Result<Vec<RowResult>, TargetError>;

    /// Writes an attachment next to its record.
    async fn write_attachment(
        &self,
        attachment: NewAttachment<'_>,
    ) -> Result<AttachmentRef, TargetError>;

    /// Removes an attachment `find_attachment` found (an undo removes
    /// what its job wrote). Removing one already gone is not an error.
    async fn delete_attachment(
        &self,
        key: &AttachmentKey<'_>,
        held: &AttachmentRef,
    ) -> Result<(), TargetError>;

    /// The attachment, if the target holds it.
    async fn find_attachment(
        &self,
        key: &AttachmentKey<'_>,
    ) -> Result<Option<AttachmentRef>, TargetError>;

    /// Whether the instance answers with the service's credentials now.
    async fn reachable(&self) -> Result<(), TargetError>;
}
