//! Everything one fake instance holds, behind one lock. Handlers take the
//! lock only for in-memory work and never across an `.await`, so injected
//! latency and slow clients never serialise other requests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::auth::AuthState;
use crate::config::{Behaviour, Config};
use crate::connection::Connections;
use crate::faults::Faults;
use crate::log::RequestLog;
use crate::rate_limit::RateState;
use crate::schema::Schema;
use crate::values::Fields;

/// A stored record with its insertion number (the default list order).
#[derive(Debug, Clone)]
pub(crate) struct StoredRecord {
    pub seq: u64,
    pub fields: Fields,
}

/// An attachment: its `sys_attachment` row and its bytes.
#[derive(Debug, Clone)]
pub(crate) struct StoredAttachment {
    pub seq: u64,
    pub meta: Fields,
    pub content: Bytes,
}

#[derive(Debug)]
pub(crate) struct State {
    /// table -> sys_id -> record.
    pub records: BTreeMap<String, BTreeMap<String, StoredRecord>>,
    pub attachments: BTreeMap<String, StoredAttachment>,
    next_seq: u64,
    pub behaviour: Behaviour,
    pub rate: RateState,
    pub faults: Faults,
    pub auth: AuthState,
    pub log: RequestLog,
}

impl State {
    pub fn new(config: &Config, schema: &Schema) -> Self {
        Self {
            records: schema
                .stored()
                .map(|t| (t.name.clone(), BTreeMap::new()))
                .collect(),
            attachments: BTreeMap::new(),
            next_seq: 1,
            behaviour: config.behaviour.clone(),
            rate: RateState::default(),
            faults: Faults::default(),
            auth: AuthState::new(config),
            log: RequestLog::new(config.request_log_capacity),
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// A stored table's records in insertion order (`None`: not stored).
    pub fn rows(&self, table: &str) -> Option<Vec<&Fields>> {
        let records = self.records.get(table)?;
        let mut rows: Vec<&StoredRecord> = records.values().collect();
        rows.sort_by_key(|r| r.seq);
        Some(rows.into_iter().map(|r| &r.fields).collect())
    }

    pub fn record(&self, table: &str, sys_id: &str) -> Option<&Fields> {
        Some(&self.records.get(table)?.get(sys_id)?.fields)
    }

    /// Attachment rows in upload order.
    pub fn attachment_rows(&self) -> Vec<&StoredAttachment> {
        let mut rows: Vec<&StoredAttachment> = self.attachments.values().collect();
        rows.sort_by_key(|a| a.seq);
        rows
    }
}

/// What the server, the handle and the control endpoints share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub schema: Schema,
    /// Base URL written into links (no trailing slash).
    pub base_url: String,
    /// `sys_created_on` of the derived dictionary rows.
    pub started_on: String,
    /// Live connections, for the injected connection drops.
    pub connections: Arc<Connections>,
    /// Requests inside their injected latency now, and the most seen at
    /// once: shows that the delay does not serialise requests.
    pub delayed: std::sync::atomic::AtomicUsize,
    pub most_delayed: std::sync::atomic::AtomicUsize,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(
        config: Config,
        schema: Schema,
        base_url: String,
        connections: Arc<Connections>,
    ) -> Self {
        let state = State::new(&config, &schema);
        Self {
            config,
            schema,
            base_url: base_url.trim_end_matches('/').to_owned(),
            started_on: crate::values::now_glide(),
            connections,
            delayed: Default::default(),
            most_delayed: Default::default(),
            state: Mutex::new(state),
        }
    }

    /// The state; a panic while it was held does not make it unusable
    /// (each critical section leaves it consistent or panics before writing).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to the start configuration: no records, attachments, tokens,
    /// faults or log; start behaviours and credentials restored.
    pub fn reset(&self) {
        *self.lock() = State::new(&self.config, &self.schema);
    }
}
