//! The four artifacts of a terminal job — plan, execution, rollback
//! journal, job events — and how each is streamed in canonical form.
//!
//! An artifact is a JSON object of small members (its header) plus a few
//! long lists (plan rows, row outcomes, journal rows, events). Sources hand
//! the header over whole and the lists page by page, so hashing a
//! 100,000-row journal never holds it in memory. The same stream feeds the
//! hash and, for a download, the package file: what the auditor receives
//! is byte for byte what was hashed.

use std::io::Write;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::canonical::{
    canonical_key_order, write_canonical, write_raw, write_value, HashingWriter,
};
use crate::domain::DomainError;

/// Rows fetched per page while streaming a list.
pub const PAGE_ROWS: u64 = 1000;

/// One of the four artifacts a package covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    Plan,
    Execution,
    RollbackJournal,
    JobEvents,
}

impl ArtifactKind {
    /// Every artifact, in the order they are hashed and verified.
    pub const ALL: [ArtifactKind; 4] = [
        ArtifactKind::Plan,
        ArtifactKind::Execution,
        ArtifactKind::RollbackJournal,
        ArtifactKind::JobEvents,
    ];

    /// The wire name (`artifact_hashes` member).
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Plan => "plan",
            ArtifactKind::Execution => "execution",
            ArtifactKind::RollbackJournal => "rollback_journal",
            ArtifactKind::JobEvents => "job_events",
        }
    }
}

/// One page of a long list and where the next one starts.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Value>,
    /// Opaque key to pass as `after` for the next page; `None` at the end.
    pub next: Option<String>,
}

/// Where an artifact's content comes from (the store, or a fixture).
#[async_trait]
pub trait ArtifactSource: Send + Sync {
    /// The artifact's small members (everything but its long lists).
    async fn header(&self) -> Result<Map<String, Value>, DomainError>;
    /// Names of the long lists, each read with [`ArtifactSource::page`].
    fn lists(&self) -> Vec<&'static str>;
    /// One page of a list, in its stable order, after the key `after`.
    async fn page(&self, list: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError>;
}

/// Where streamed bytes go; `page_done` lets a streaming response hand on
/// what was written so far, so memory stays flat.
#[async_trait]
pub trait Output: Write + Send {
    /// Called after every page written.
    async fn page_done(&mut self) -> Result<(), DomainError> {
        Ok(())
    }
}

#[async_trait]
impl Output for std::io::Sink {}

#[async_trait]
impl Output for Vec<u8> {}

#[async_trait]
impl<W: Output> Output for HashingWriter<W> {
    async fn page_done(&mut self) -> Result<(), DomainError> {
        self.inner_mut().page_done().await
    }
}

/// The hash of an artifact and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDigest {
    /// sha256 of the canonical form.
    pub sha256: String,
    /// Rows in its long lists.
    pub rows: u64,
    /// Bytes of the canonical form.
    pub bytes: u64,
}

/// Hashes an artifact without keeping it.
pub async fn digest(source: &dyn ArtifactSource) -> Result<ArtifactDigest, DomainError> {
    let mut out = HashingWriter::new(std::io::sink());
    let rows = stream(source, &mut out).await?;
    let (sha256, bytes, _) = out.finish();
    Ok(ArtifactDigest {
        sha256,
        rows,
        bytes,
    })
}

/// Writes an artifact's canonical form to `out`, returning the list rows
/// written.
pub async fn stream<W: Output>(
    source: &dyn ArtifactSource,
    out: &mut W,
) -> Result<u64, DomainError> {
    let header = source.header().await?;
    let lists = source.lists();
    if let Some(clash) = lists.iter().find(|name| header.contains_key(**name)) {
        return Err(DomainError::Internal(format!(
            "artifact member {clash} is both a header member and a list"
        )));
    }
    let members = canonical_key_order(
        header
            .keys()
            .cloned()
            .chain(lists.iter().map(|name| (*name).to_owned()))
            .collect(),
    );
    let mut rows = 0;
    write_raw(out, b"{")?;
    for (index, key) in members.iter().enumerate() {
        if index > 0 {
            write_raw(out, b",")?;
        }
        write_canonical(out, key)?;
        write_raw(out, b":")?;
        match header.get(key) {
            Some(value) => write_value(out, value)?,
            None => rows += stream_list(source, key, out).await?,
        }
    }
    write_raw(out, b"}")?;
    Ok(rows)
}

async fn stream_list<W: Output>(
    source: &dyn ArtifactSource,
    list: &str,
    out: &mut W,
) -> Result<u64, DomainError> {
    let mut after: Option<String> = None;
    let mut rows = 0u64;
    write_raw(out, b"[")?;
    loop {
        let page = source.page(list, after.as_deref(), PAGE_ROWS).await?;
        for item in &page.items {
            if rows > 0 {
                write_raw(out, b",")?;
            }
            write_value(out, item)?;
            rows += 1;
        }
        out.page_done().await?;
        match page.next {
            Some(next) if !page.items.is_empty() => after = Some(next),
            _ => break,
        }
    }
    write_raw(out, b"]")?;
    Ok(rows)
}
