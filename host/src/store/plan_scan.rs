//! The two sorted streams a dry-run merges per table: the latest index
//! version of each record at the PIT, and the target's current rows. Both
//! are ordered bytewise by `sys_id` and read as streams, so planning holds
//! one row of each at a time whatever the scope's size.

use futures::{Stream, StreamExt};
use sea_orm::{DatabaseBackend, StreamTrait, Value};

use super::sql::{bytewise, list_placeholders, statement};
use super::{Store, StoreError};

/// One index version (the scan returns every version at or before the PIT,
/// newest first within a `sys_id`; the planner keeps the first).
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub sys_id: String,
    /// `upsert` or `delete`.
    pub op: String,
    pub payload: Option<serde_json::Value>,
    pub payload_sha256: Option<String>,
}

/// One live target row, without its payload.
#[derive(Debug, Clone)]
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
    /// Every version at or before `pit_us`, by `sys_id` (bytewise), newest first.
    pub async fn scan_versions<'a>(
        &'a self,
        scope: ScanScope<'_>,
        pit_us: i64,
    ) -> Result<impl Stream<Item = Result<VersionRow, StoreError>> + 'a, StoreError> {
        let backend = self.backend();
        let mut values: Vec<Value> = vec![
            scope.tenant_id.into(),
            scope.instance_id.into(),
            scope.table.into(),
            pit_us.into(),
        ];
        let narrow = filter(&scope, &mut values);
        let sql = format!(
            "SELECT sys_id, op, payload, payload_sha256 FROM index_records WHERE tenant_id = ? AND instance_id = ? \
             AND table_name = ? AND event_time_us <= ?{narrow} ORDER BY {}, event_time_us DESC, \"offset\" DESC, id DESC",
            bytewise(backend, "sys_id")
        );
        let stream = self.db().stream(statement(backend, &sql, values)).await?;
        Ok(stream.map(|row| {
            let row = row?;
            Ok(VersionRow {
                sys_id: row.try_get("", "sys_id")?,
                op: row.try_get("", "op")?,
                payload: row.try_get("", "payload")?,
                payload_sha256: row.try_get("", "payload_sha256")?,
            })
        }))
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
        Ok(stream.map(|row| {
            let row = row?;
            Ok(TargetKeyRow {
                sys_id: row.try_get("", "sys_id")?,
                payload_sha256: row.try_get("", "payload_sha256")?,
            })
        }))
    }

    /// Which backend, for callers composing SQL elsewhere in this layer.
    pub fn dialect(&self) -> DatabaseBackend {
        self.backend()
    }
}
