//! Drill schedules as operators manage them (`ops_admin`): created with a
//! validated cron expression and scope, read, listed and deleted. A
//! schedule names its source and its sandbox, and the caller must be able
//! to act on both tenants; another tenant's schedule does not exist for it
//! (`404 drill_schedule_not_found`).

use chrono::{DateTime, Utc};

use super::{CronSpec, Schedule, ScheduleInput};
use crate::domain::principal::{Capability, Principal};
use crate::domain::{DomainError, ReasonCode, RestoreService};
use crate::store::drill_schedules::DrillScheduleRow;
use crate::store::Store;

/// Most tables a schedule may name.
pub const MAX_TABLES: usize = 100;

impl RestoreService {
    /// `POST /v1/admin/drills/schedules`.
    pub async fn create_drill_schedule(
        &self,
        principal: &Principal,
        input: ScheduleInput,
        now: DateTime<Utc>,
    ) -> Result<Schedule, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        principal.require_tenant(&input.source.tenant_id)?;
        principal.require_tenant(&input.sandbox.tenant_id)?;
        let cron = validate(&input)?;
        let mut tables = input.tables.clone();
        tables.sort();
        tables.dedup();
        let row = DrillScheduleRow {
            schedule_id: format!("drs_{}", uuid::Uuid::new_v4().simple()),
            tenant_id: input.source.tenant_id,
            instance_id: input.source.instance_id,
            sandbox_tenant_id: input.sandbox.tenant_id,
            sandbox_instance_id: input.sandbox.instance_id,
            cron: input.cron,
            tables: serde_json::json!(tables),
            sample_per_table: input.sample_per_table.map(|n| n as i32),
            retention_days: input.retention_days as i32,
            created_by: principal.operator_id.clone(),
            created_at_us: now.timestamp_micros(),
            next_due_us: cron.next_after(now)?.timestamp_micros(),
            claimed_by: None,
            claimed_until_us: None,
        };
        self.store.insert_drill_schedule(&row).await?;
        Schedule::try_from(row)
    }

    /// `GET /v1/admin/drills/schedules`: the schedules of the caller's
    /// tenants, by id.
    pub async fn drill_schedules(
        &self,
        principal: &Principal,
    ) -> Result<Vec<Schedule>, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        self.store
            .drill_schedules()
            .await?
            .into_iter()
            .filter(|row| principal.sees_tenant(&row.tenant_id))
            .map(Schedule::try_from)
            .collect()
    }

    /// `GET /v1/admin/drills/schedules/{schedule_id}`.
    pub async fn drill_schedule(
        &self,
        principal: &Principal,
        schedule_id: &str,
    ) -> Result<Schedule, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        Schedule::try_from(visible(&self.store, principal, schedule_id).await?)
    }

    /// `DELETE /v1/admin/drills/schedules/{schedule_id}`: its runs stay.
    pub async fn delete_drill_schedule(
        &self,
        principal: &Principal,
        schedule_id: &str,
    ) -> Result<(), DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let row = visible(&self.store, principal, schedule_id).await?;
        principal.require_tenant(&row.tenant_id)?;
        self.store.delete_drill_schedule(schedule_id).await?;
        Ok(())
    }
}

/// The schedule if it exists and the caller sees its tenant, else
/// `404 drill_schedule_not_found`.
pub async fn visible(
    store: &Store,
    principal: &Principal,
    schedule_id: &str,
) -> Result<DrillScheduleRow, DomainError> {
    match store.drill_schedule(schedule_id).await? {
        Some(row) if principal.sees_tenant(&row.tenant_id) => Ok(row),
        _ => Err(DomainError::not_found(
            ReasonCode::DrillScheduleNotFound,
            format!("no drill schedule {schedule_id}"),
        )),
    }
}

/// Checks what the schema cannot: the cron expression, and a sandbox
/// that is not the source.
fn validate(input: &ScheduleInput) -> Result<CronSpec, DomainError> {
    if input.sandbox == input.source {
        return Err(DomainError::invalid(
            "sandbox: a drill restores into a sandbox, never into its source instance",
        ));
    }
    if input.tables.is_empty() || input.tables.len() > MAX_TABLES {
        return Err(DomainError::invalid(format!(
            "tables: name between 1 and {MAX_TABLES} tables"
        )));
    }
    if let Some(bad) = input
        .tables
        .iter()
        .find(|t| t.trim().is_empty() || t.len() > 256)
    {
        return Err(DomainError::invalid(format!(
            "tables: {bad:?} is not a table name (1 to 256 characters, not blank)"
        )));
    }
    CronSpec::parse(&input.cron)
}
