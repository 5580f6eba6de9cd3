//! Queries on `drill_schedules`: create, read, list and delete a restore
//! drill schedule, and the lease that lets exactly one replica run a slot.
//!
//! [`Store::claim_drill_schedule`] is one conditional `UPDATE`: it takes
//! the lease and moves `next_due_us` on in the same statement, and only
//! when the slot is due and no live lease holds the schedule. Whichever
//! replica's update matches runs the slot; the others match no row. So a
//! slot runs once, two drills of a schedule never overlap, and a replica
//! that dies leaves a lease that simply expires.

use sea_orm::{FromQueryResult, Value};

use super::{Store, StoreError};

/// A stored schedule.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DrillScheduleRow {
    pub schedule_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub sandbox_tenant_id: String,
    pub sandbox_instance_id: String,
    pub cron: String,
    /// A JSON array of table names.
    pub tables: serde_json::Value,
    pub sample_per_table: Option<i32>,
    pub retention_days: i32,
    pub created_by: String,
    pub created_at_us: i64,
    pub next_due_us: i64,
    pub claimed_by: Option<String>,
    pub claimed_until_us: Option<i64>,
}

const COLUMNS: &str =
    "schedule_id, tenant_id, instance_id, sandbox_tenant_id, sandbox_instance_id, \
    cron, tables, sample_per_table, retention_days, created_by, created_at_us, next_due_us, \
    claimed_by, claimed_until_us";

fn json(value: &serde_json::Value) -> Value {
    Value::Json(Some(Box::new(value.clone())))
}

impl Store {
    /// Inserts a new schedule (`Duplicate` when its id exists).
    pub async fn insert_drill_schedule(&self, row: &DrillScheduleRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO drill_schedules ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
        );
        let values: Vec<Value> = vec![
            row.schedule_id.clone().into(),
            row.tenant_id.clone().into(),
            row.instance_id.clone().into(),
            row.sandbox_tenant_id.clone().into(),
            row.sandbox_instance_id.clone().into(),
            row.cron.clone().into(),
            json(&row.tables),
            row.sample_per_table.into(),
            row.retention_days.into(),
            row.created_by.clone().into(),
            row.created_at_us.into(),
            row.next_due_us.into(),
        ];
        self.write_sql(&sql, values).await?;
        Ok(())
    }

    /// The schedule, if it exists.
    pub async fn drill_schedule(
        &self,
        schedule_id: &str,
    ) -> Result<Option<DrillScheduleRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM drill_schedules WHERE schedule_id = ?");
        self.fetch_one(&sql, vec![schedule_id.into()]).await
    }

    /// Every schedule, by id.
    pub async fn drill_schedules(&self) -> Result<Vec<DrillScheduleRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM drill_schedules ORDER BY schedule_id");
        self.fetch_all(&sql, vec![]).await
    }

    /// Deletes a schedule; false when there was none.
    pub async fn delete_drill_schedule(&self, schedule_id: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM drill_schedules WHERE schedule_id = ?";
        Ok(self.write_sql(sql, vec![schedule_id.into()]).await? > 0)
    }

    /// Ids of the schedules whose slot is due at `now_us`, or whose lease
    /// expired unreleased, and that no live lease holds.
    pub async fn due_drill_schedules(&self, now_us: i64) -> Result<Vec<String>, StoreError> {
        // A lease still set but expired was never released: its replica
        // stopped mid-drill, and the schedule is due for a take-over.
        let sql = "SELECT schedule_id FROM drill_schedules WHERE (next_due_us <= ? OR claimed_by IS NOT NULL) \
                   AND (claimed_until_us IS NULL OR claimed_until_us < ?) ORDER BY next_due_us, schedule_id";
        self.fetch_texts(sql, vec![now_us.into(), now_us.into()])
            .await
    }

    /// Takes the lease on a schedule until `until_us` and sets its next
    /// slot to `next_due_us`, only when its next slot is still
    /// `expected_due_us` and no live lease holds it; false otherwise (another
    /// replica ran or runs it).
    pub async fn claim_drill_schedule(
        &self,
        schedule_id: &str,
        holder: &str,
        claim: DrillClaim,
    ) -> Result<bool, StoreError> {
        let sql =
            "UPDATE drill_schedules SET claimed_by = ?, claimed_until_us = ?, next_due_us = ? \
                   WHERE schedule_id = ? AND next_due_us = ? \
                   AND (claimed_until_us IS NULL OR claimed_until_us < ?)";
        let values: Vec<Value> = vec![
            holder.into(),
            claim.until_us.into(),
            claim.next_due_us.into(),
            schedule_id.into(),
            claim.expected_due_us.into(),
            claim.now_us.into(),
        ];
        Ok(self.write_sql(sql, values).await? > 0)
    }

    /// Extends a held lease to `until_us`; false when `holder` lost it.
    pub async fn renew_drill_lease(
        &self,
        schedule_id: &str,
        holder: &str,
        until_us: i64,
    ) -> Result<bool, StoreError> {
        // Only ever extends it (a claim may have set a later end).
        let sql = "UPDATE drill_schedules SET claimed_until_us = ? WHERE schedule_id = ? AND claimed_by = ? \
                   AND claimed_until_us < ?";
        let values: Vec<Value> = vec![
            until_us.into(),
            schedule_id.into(),
            holder.into(),
            until_us.into(),
        ];
        Ok(self.write_sql(sql, values).await? > 0)
    }

    /// Gives a lease back.
    pub async fn release_drill_lease(
        &self,
        schedule_id: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE drill_schedules SET claimed_by = NULL, claimed_until_us = NULL \
                   WHERE schedule_id = ? AND claimed_by = ?";
        let values: Vec<Value> = vec![schedule_id.into(), holder.into()];
        self.write_sql(sql, values).await?;
        Ok(())
    }
}

/// A claim: the time it is made, the lease's end, the next slot the
/// schedule must still have, and the one it gets.
#[derive(Debug, Clone, Copy)]
pub struct DrillClaim {
    pub now_us: i64,
    pub until_us: i64,
    pub expected_due_us: i64,
    pub next_due_us: i64,
}
