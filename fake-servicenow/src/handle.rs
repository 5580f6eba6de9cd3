//! The test-facing side of a running fake: change its behaviours, read what
//! clients did (request log, records, attachments) and seed fixtures, all
//! without going through authentication, ACLs or rate limits. The `/fake/`
//! control endpoints call these same methods.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::acl::AclRule;
use crate::config::{Behaviour, TableSchema};
use crate::faults::{FaultSpec, PendingFault};
use crate::log::RequestLogEntry;
use crate::rate_limit::{Burst, RateLimit};
use crate::state::{Shared, StoredRecord};
use crate::table_api::new_record;
use crate::values::{is_sys_id, new_sys_id, to_field_string, Fields};

/// Controls and inspects one running fake instance. Cheap to clone.
#[derive(Clone)]
pub struct FakeHandle {
    shared: Arc<Shared>,
}

/// An attachment as stored: its metadata (all strings) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub meta: Fields,
    pub content: Bytes,
}

/// `sys_*` fields a seed may set (the server's otherwise).
const SEEDABLE_SYS: [&str; 5] = [
    "sys_created_on",
    "sys_created_by",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
];

impl FakeHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Base URL clients use (`http://127.0.0.1:<port>` unless configured).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The configured tables.
    pub fn tables(&self) -> Vec<TableSchema> {
        self.shared.config.tables.clone()
    }

    pub fn behaviour(&self) -> Behaviour {
        self.shared.lock().behaviour.clone()
    }

    /// Replaces latency, ACL and rate limit at once.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.shared.lock().behaviour = behaviour;
    }

    /// The most requests that were inside their injected latency at once.
    pub fn most_delayed_at_once(&self) -> usize {
        self.shared
            .most_delayed
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Delay added to every ServiceNow API request from now on.
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.shared.lock().behaviour.latency_ms = ms;
    }

    /// Replaces the ACL rules.
    pub fn set_acl(&self, rules: Vec<AclRule>) {
        self.shared.lock().behaviour.acl = rules;
    }

    pub fn add_acl_rule(&self, rule: AclRule) {
        self.shared.lock().behaviour.acl.push(rule);
    }

    /// Sets (or with `None` lifts) the per-user rate limit.
    pub fn set_rate_limit(&self, rule: Option<RateLimit>) {
        self.shared.lock().behaviour.rate_limit = rule;
    }

    /// The next `burst.count` authenticated requests get 429.
    pub fn burst_429(&self, burst: Burst) {
        self.shared.lock().rate.start_burst(burst);
    }

    /// Schedules a fault on the `spec.nth` write from now.
    pub fn add_fault(&self, spec: FaultSpec) {
        self.shared.lock().faults.schedule(spec);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    pub fn pending_faults(&self) -> Vec<PendingFault> {
        self.shared.lock().faults.pending()
    }

    /// Writes counted so far (those that passed authentication and rate
    /// limiting); `PendingFault::at_write` is on this scale.
    pub fn writes_seen(&self) -> u64 {
        self.shared.lock().faults.writes_seen()
    }

    /// Requests left in the current 429 burst.
    pub fn burst_left(&self) -> u32 {
        self.shared.lock().rate.burst_left()
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.shared.lock().log.entries()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// A stored table's records in insertion order (`None`: no such table).
    pub fn records(&self, table: &str) -> Option<Vec<Fields>> {
        let state = self.shared.lock();
        let rows = state.rows(table)?;
        Some(rows.into_iter().cloned().collect())
    }

    pub fn record(&self, table: &str, sys_id: &str) -> Option<Fields> {
        self.shared.lock().record(table, sys_id).cloned()
    }

    /// Attachments in upload order.
    pub fn attachments(&self) -> Vec<AttachmentInfo> {
        let state = self.shared.lock();
        let rows = state.attachment_rows();
        rows.into_iter()
            .map(|a| AttachmentInfo {
                meta: a.meta.clone(),
                content: a.content.clone(),
            })
            .collect()
    }

    /// Inserts fixture records as `system`, bypassing auth, ACLs, faults and
    /// the log. Unlike the Table API, a seed may set `sys_created_on`,
    /// `sys_updated_on`, `sys_created_by`, `sys_updated_by` and
    /// `sys_mod_count`, and a field that is not a column is an error.
    pub fn seed(&self, table: &str, rows: Vec<Map<String, Value>>) -> Result<Vec<Fields>, String> {
        let schema = self.shared.schema.table(table);
        let Some(schema) = schema.filter(|t| t.derived.is_none()) else {
            return Err(format!("no stored table {table}"));
        };
        let mut state = self.shared.lock();
        let mut seeded = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(name) = row.keys().find(|k| schema.column(k).is_none()) {
                return Err(format!("{name} is not a column of {table}"));
            }
            let chosen = row
                .get("sys_id")
                .and_then(Value::as_str)
                .filter(|id| is_sys_id(id));
            let sys_id = chosen.map_or_else(new_sys_id, str::to_owned);
            if state.record(table, &sys_id).is_some() {
                return Err(format!("{table} already has a record {sys_id}"));
            }
            let mut fields = new_record(schema, &row, &sys_id, "system");
            for name in SEEDABLE_SYS {
                if let Some(value) = row.get(name) {
                    fields.insert(name.to_owned(), to_field_string(value));
                }
            }
            let seq = state.next_seq();
            let stored = StoredRecord {
                seq,
                fields: fields.clone(),
            };
            state
                .records
                .entry(table.to_owned())
                .or_default()
                .insert(sys_id, stored);
            seeded.push(fields);
        }
        Ok(seeded)
    }

    /// Makes a user's password, and every token acting as that user, stop
    /// working (until [`FakeHandle::reset`]). False if the user is unknown.
    pub fn revoke_user(&self, user: &str) -> bool {
        self.shared.lock().auth.revoke_user(user)
    }

    /// Makes an OAuth client's secret and all its tokens stop working.
    pub fn revoke_client(&self, client_id: &str) -> bool {
        self.shared.lock().auth.revoke_client(client_id)
    }

    /// Expires every access token now (a client must fetch a new one).
    pub fn expire_tokens(&self) {
        self.shared.lock().auth.expire_tokens();
    }

    /// Back to the start: no records, attachments, tokens, faults, bursts or
    /// log; start behaviours restored and revocations lifted.
    pub fn reset(&self) {
        self.shared.reset();
    }
}
