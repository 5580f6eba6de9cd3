//! Queries on `drill_runs`: a run is inserted `running` when a drill
//! starts (the unique `(schedule_id, slot_us)` refuses a second run of a
//! slot as `Duplicate`) and updated once with its outcome; lists are paged
//! by `run_seq`.

use sea_orm::{FromQueryResult, Value};

use super::{Store, StoreError};

/// A stored run.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DrillRunRow {
    pub run_seq: i64,
    pub run_id: String,
    pub schedule_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub sandbox_tenant_id: String,
    pub sandbox_instance_id: String,
    pub trigger_kind: String,
    pub slot_us: i64,
    pub holder: String,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub message: Option<String>,
    pub started_at_us: i64,
    pub finished_at_us: Option<i64>,
    pub keep_until_us: i64,
    pub pit_us: Option<i64>,
    pub recovery_point_seconds: Option<f64>,
    pub plan_id: Option<String>,
    pub job_id: Option<String>,
    pub restore_ms: Option<i64>,
    pub rows_per_second: Option<f64>,
    pub rows_verified: i64,
    pub rows_mismatched: i64,
    pub mismatches: Option<serde_json::Value>,
    pub sample_seed: Option<i64>,
    pub manifest_sha256: Option<String>,
    pub sandbox_cleaned: bool,
}

/// A run as it starts.
#[derive(Debug, Clone)]
pub struct NewDrillRun {
    pub run_id: String,
    pub schedule_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub sandbox_tenant_id: String,
    pub sandbox_instance_id: String,
    pub trigger_kind: String,
    pub slot_us: i64,
    pub holder: String,
    pub outcome: String,
    pub started_at_us: i64,
    pub keep_until_us: i64,
    pub sample_seed: Option<i64>,
}

/// What a run found, written when it ends (or as it goes: the plan and
/// job ids as soon as they exist, so a replica taking over finds them).
#[derive(Debug, Clone, Default)]
pub struct DrillRunUpdate {
    pub outcome: String,
    pub reason_code: Option<String>,
    pub message: Option<String>,
    pub finished_at_us: Option<i64>,
    pub pit_us: Option<i64>,
    pub recovery_point_seconds: Option<f64>,
    pub plan_id: Option<String>,
    pub job_id: Option<String>,
    pub restore_ms: Option<i64>,
    pub rows_per_second: Option<f64>,
    pub rows_verified: i64,
    pub rows_mismatched: i64,
    pub mismatches: Option<serde_json::Value>,
    pub manifest_sha256: Option<String>,
    pub sandbox_cleaned: bool,
}

const COLUMNS: &str = "run_seq, run_id, schedule_id, tenant_id, instance_id, sandbox_tenant_id, \
    sandbox_instance_id, trigger_kind, slot_us, holder, outcome, reason_code, message, started_at_us, \
    finished_at_us, keep_until_us, pit_us, recovery_point_seconds, plan_id, job_id, restore_ms, \
    rows_per_second, rows_verified, rows_mismatched, mismatches, sample_seed, manifest_sha256, \
    sandbox_cleaned";

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct DrillRunFilter {
    pub schedule_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl Store {
    /// Inserts a starting run (`Duplicate` when its slot already has one).
    pub async fn insert_drill_run(&self, run: &NewDrillRun) -> Result<(), StoreError> {
        let sql = "INSERT INTO drill_runs (run_id, schedule_id, tenant_id, instance_id, sandbox_tenant_id, \
                   sandbox_instance_id, trigger_kind, slot_us, holder, outcome, started_at_us, keep_until_us, \
                   sample_seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let values: Vec<Value> = vec![
            run.run_id.clone().into(),
            run.schedule_id.clone().into(),
            run.tenant_id.clone().into(),
            run.instance_id.clone().into(),
            run.sandbox_tenant_id.clone().into(),
            run.sandbox_instance_id.clone().into(),
            run.trigger_kind.clone().into(),
            run.slot_us.into(),
            run.holder.clone().into(),
            run.outcome.clone().into(),
            run.started_at_us.into(),
            run.keep_until_us.into(),
            run.sample_seed.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// Writes what a run found so far (or its end).
    pub async fn update_drill_run(
        &self,
        run_id: &str,
        update: &DrillRunUpdate,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE drill_runs SET outcome = ?, reason_code = ?, message = ?, finished_at_us = ?, \
                   pit_us = ?, recovery_point_seconds = ?, plan_id = ?, job_id = ?, restore_ms = ?, \
                   rows_per_second = ?, rows_verified = ?, rows_mismatched = ?, mismatches = ?, \
                   manifest_sha256 = ?, sandbox_cleaned = ? WHERE run_id = ?";
        let values: Vec<Value> = vec![
            update.outcome.clone().into(),
            update.reason_code.clone().into(),
            update.message.clone().into(),
            update.finished_at_us.into(),
            update.pit_us.into(),
            update.recovery_point_seconds.into(),
            update.plan_id.clone().into(),
            update.job_id.clone().into(),
            update.restore_ms.into(),
            update.rows_per_second.into(),
            update.rows_verified.into(),
            update.rows_mismatched.into(),
            Value::Json(update.mismatches.clone().map(Box::new)),
            update.manifest_sha256.clone().into(),
            update.sandbox_cleaned.into(),
            run_id.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// A run by id.
    pub async fn drill_run(&self, run_id: &str) -> Result<Option<DrillRunRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM drill_runs WHERE run_id = ?");
        self.fetch_one(&sql, vec![run_id.into()]).await
    }

    /// Runs of a schedule still `running` (left by a replica that stopped).
    pub async fn running_drill_runs(
        &self,
        schedule_id: &str,
    ) -> Result<Vec<DrillRunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM drill_runs WHERE schedule_id = ? AND outcome = 'running' ORDER BY run_seq"
        );
        self.fetch_all(&sql, vec![schedule_id.into()]).await
    }

    /// Up to `limit` runs after `after` (by `run_seq`), oldest first.
    pub async fn drill_runs_page(
        &self,
        filter: &DrillRunFilter,
        after: i64,
        limit: u64,
    ) -> Result<Vec<DrillRunRow>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM drill_runs WHERE run_seq > ?");
        let mut values: Vec<Value> = vec![after.into()];
        if let Some(schedule_id) = &filter.schedule_id {
            sql.push_str(" AND schedule_id = ?");
            values.push(schedule_id.clone().into());
        }
        if let Some(tenant_id) = &filter.tenant_id {
            sql.push_str(" AND tenant_id = ?");
            values.push(tenant_id.clone().into());
        }
        sql.push_str(" ORDER BY run_seq LIMIT ?");
        values.push((limit as i64).into());
        self.fetch_all(&sql, values).await
    }

    /// The latest run of each tenant that passed or failed (skipped and
    /// running runs say nothing of whether restores work).
    pub async fn latest_decided_drill_runs(&self) -> Result<Vec<DrillRunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM drill_runs r WHERE run_seq = (SELECT MAX(l.run_seq) FROM drill_runs l \
             WHERE l.tenant_id = r.tenant_id AND l.outcome IN ('passed', 'failed')) ORDER BY tenant_id"
        );
        self.fetch_all(&sql, vec![]).await
    }

    /// Tenants a drill is owed for: those with a backup (a watermark) or a
    /// drill schedule, less those whose restores are disabled.
    pub async fn drill_tenants(&self) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT tenant_id FROM (SELECT tenant_id FROM index_watermarks UNION \
                   SELECT tenant_id FROM drill_schedules) t WHERE tenant_id NOT IN \
                   (SELECT tenant_id FROM tenant_entitlements WHERE restore_enabled = ?) ORDER BY tenant_id";
        self.fetch_texts(sql, vec![false.into()]).await
    }

    /// Deletes runs kept past `now_us`; returns how many.
    pub async fn prune_drill_runs(&self, now_us: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM drill_runs WHERE keep_until_us < ? AND outcome <> 'running'";
        self.write_sql(sql, vec![now_us.into()]).await
    }
}
