//! The request log: what the client under test actually sent and what it
//! got, so a test can assert "exactly one insert per record" or "the retry
//! wrote the same content" without instrumenting the client. Control
//! requests under `/fake/` are not logged.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// One ServiceNow API request as the fake handled it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestLogEntry {
    /// 1, 2, 3... in arrival order (after the injected latency).
    pub seq: u64,
    /// When it was handled, RFC 3339 UTC.
    pub at: String,
    pub method: String,
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Authenticated user (`None` when authentication failed).
    pub user: Option<String>,
    /// Table addressed (`sys_attachment` for the Attachment API).
    pub table: Option<String>,
    /// Record addressed or created (attachment `sys_id` for attachments).
    pub sys_id: Option<String>,
    /// HTTP status answered; `None` when the connection was dropped before
    /// a status was decided.
    pub status: Option<u16>,
    /// True for POST/PUT/PATCH/DELETE of records and attachments.
    pub write: bool,
    /// True when the fake closed the connection instead of answering.
    pub dropped: bool,
    /// Injected behaviour that decided the answer: `rate_limited`,
    /// `fault_status`, `drop_before_apply`, `drop_after_apply`.
    pub injected: Option<String>,
    /// For successful inserts/updates: sha256 (hex) of the canonical JSON of
    /// the record's non-`sys_*` fields after the write (see
    /// [`crate::content_sha256`]); for attachment uploads: sha256 of the file.
    pub record_sha256: Option<String>,
}

/// Bounded log; the oldest entries are dropped past the capacity.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: VecDeque<RequestLogEntry>,
    capacity: usize,
    next_seq: u64,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            next_seq: 1,
        }
    }

    /// Appends an entry, giving it the next sequence number.
    pub fn push(&mut self, mut entry: RequestLogEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn entries(&self) -> Vec<RequestLogEntry> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
