//! The two sorted streams a dry-run merges per table: the latest index
//! version of each record at the PIT, and the target's current rows. Both
//! are ordered bytewise by `sys_id` and read as streams, so planning holds
//! one row of each at a time whatever the scope's size.

use futures::{Stream, StreamExt};
use sea_orm::{DatabaseBackend, FromQueryResult, StreamTrait, Value};

use super::sql::{bytewise, list_placeholders, statement};
use super::{Store, StoreError};

/// One index version (the scan returns the latest version at or before the
/// PIT of each `sys_id`, several only on a tie, newest first; the planner
/// keeps the first).
#[derive(Debug, Clone, FromQueryResult)]
pub struct VersionRow {
    pub sys_id: String,
    /// `upsert` or `delete`.
    pub op: String,
    pub payload: Option<serde_json::Value>,
    pub payload_sha256: Option<String>,
}

/// One live target row, without its payload.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TargetKeyRow {
    pub sys_id: String,
    pub payload_sha256: String,
}

/// What one scan covers: a table, optionally narrowed to a sorted batch of
/// `sys_id`s.
#[derive(Debug, Clone, Copy)]
pub struct ScanScope<'a> {
    pub tenant_id: &'a str,
    pub instance_id: &'a str,
    pub table: &'a str,
    pub sys_ids: Option<&'a [String]>,
}

fn filter(scope: &ScanScope<'_>, values: &mut Vec<Value>) -> String {
    match scope.sys_ids {
        Some(ids) => {
            values.extend(ids.iter().map(|id| Value::from(id.clone())));
            format!(" AND sys_id IN ({})", list_placeholders(ids.len()))
        }
        None => String::new(),
    }
}

impl Store {
    /// The latest version at or before `pit_us` of each `sys_id`, by
    /// `sys_id` (bytewise); versions tied on that event time all come, the
    /// newest offset first.
    ///
    /// The reduction to one version per record happens in the database:
    /// the inner query finds each record's latest event time from the
    /// covering index alone, and only those rows (with their payloads) are
    /// read and streamed. Streaming every version instead costs a
    /// driver round trip per version (sqlx's SQLite worker hands rows over
    /// one by one), several times the planning itself.
    pub async fn scan_versions<'a>(
        &'a self,
        scope: ScanScope<'_>,
        pit_us: i64,
    ) -> Result<impl Stream<Item = Result<VersionRow, StoreError>> + 'a, StoreError> {
        // The self-join below needs column statistics on PostgreSQL.
        self.ensure_statistics("index_records").await?;
        let backend = self.backend();
        let mut values: Vec<Value> = vec![
            scope.tenant_id.into(),
            scope.instance_id.into(),
            scope.table.into(),
            pit_us.into(),
        ];
        let narrow = filter(&scope, &mut values);
        values.extend([
            scope.tenant_id.into(),
            scope.instance_id.into(),
            scope.table.into(),
        ]);
        // CROSS JOIN keeps SQLite from scanning every version of `r` and
        // probing `m`; PostgreSQL plans it like an inner join.
        let sql = format!(
            "SELECT r.sys_id, r.op, r.payload, r.payload_sha256 FROM (SELECT sys_id, MAX(event_time_us) AS latest \
             FROM index_records WHERE tenant_id = ? AND instance_id = ? AND table_name = ? AND event_time_us <= ?{narrow} \
             GROUP BY sys_id) m CROSS JOIN index_records r WHERE r.tenant_id = ? AND r.instance_id = ? \
             AND r.table_name = ? AND r.sys_id = m.sys_id AND r.event_time_us = m.latest \
             ORDER BY {}, r.\"offset\" DESC, r.id DESC",
            bytewise(backend, "r.sys_id")
        );
        let stream = self.db().stream(statement(backend, &sql, values)).await?;
        Ok(stream.map(|row| Ok(VersionRow::from_query_result(&row?, "")?)))
    }

    /// The target's rows of the scope, by `sys_id` (bytewise).
    pub async fn scan_target_keys<'a>(
        &'a self,
        scope: ScanScope<'_>,
    ) -> Result<impl Stream<Item = Result<TargetKeyRow, StoreError>> + 'a, StoreError> {
        let backend = self.backend();
        let mut values: Vec<Value> = vec![
            scope.tenant_id.into(),
            scope.instance_id.into(),
            scope.table.into(),
        ];
        let narrow = filter(&scope, &mut values);
        let sql = format!(
            "SELECT sys_id, payload_sha256 FROM target_records WHERE tenant_id = ? AND instance_id = ? \
             AND table_name = ?{narrow} ORDER BY {}",
            bytewise(backend, "sys_id")
        );
        let stream = self.db().stream(statement(backend, &sql, values)).await?;
        Ok(stream.map(|row| Ok(TargetKeyRow::from_query_result(&row?, "")?)))
    }

    /// Which backend, for callers composing SQL elsewhere in this layer.
    pub fn dialect(&self) -> DatabaseBackend {
        self.backend()
    }
}
