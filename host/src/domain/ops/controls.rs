//! The operator-recorded inputs of the GA gate: staging mode, runbook
//! sign-off and the six failure drills. Each change is stored with an
//! audit row (who, when, the state before and after) in the same
//! transaction, so the trail can never disagree with the state.

use chrono::{DateTime, Utc};
use strum::{EnumIter, EnumString, IntoEnumIterator, IntoStaticStr};

use super::change_meta;
use crate::domain::paging::{Page, PageRequest};
use crate::domain::principal::{Capability, Principal};
use crate::domain::{DomainError, RestoreService};
use crate::store::ops::{AuditRow, DrillRow, SwitchRow};
use crate::store::Store;

/// An operator switch of the GA gate; its name is its key in storage and
/// its `kind` in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Switch {
    /// Staging mode: GA-targeted validation runs.
    StagingMode,
    /// The runbooks are signed off.
    RunbooksSignoff,
}

/// The failure drills GA needs passed, in contract order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, EnumIter, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum DrillId {
    AuthOutage,
    SidecarLag,
    PgSaturation,
    EntitlementDisable,
    CrashResume,
    EvidenceAuditExport,
}

/// A drill's recorded outcome; never recorded is `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum DrillStatus {
    Pass,
    Fail,
    Pending,
}

impl Switch {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl DrillId {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl DrillStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who last set a piece of state; all `None` while it was never set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetBy {
    pub actor: Option<String>,
    pub operator_id: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<crate::store::ops::SetBy> for SetBy {
    fn from(row: crate::store::ops::SetBy) -> Self {
        Self {
            actor: row.actor,
            operator_id: row.operator_id,
            updated_at: row.updated_at,
        }
    }
}

/// One change in the operations audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `staging_mode`, `runbooks_signoff`, `failure_drill` or `tenant_entitlement`.
    pub kind: String,
    /// The switch key, drill id or tenant id changed.
    pub subject: String,
    pub actor: String,
    pub operator_id: String,
    pub previous: serde_json::Value,
    pub current: serde_json::Value,
    pub changed: bool,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        Self {
            seq: row.seq,
            at: row.at,
            kind: row.kind,
            subject: row.subject,
            actor: row.actor,
            operator_id: row.operator_id,
            previous: row.previous,
            current: row.current,
            changed: row.changed,
        }
    }
}

/// A switch's state; `set_by` is empty while it was never set.
#[derive(Debug, Clone)]
pub struct SwitchState {
    pub enabled: bool,
    pub set_by: SetBy,
}

/// A drill's latest outcome.
#[derive(Debug, Clone)]
pub struct DrillState {
    pub drill_id: DrillId,
    pub status: DrillStatus,
    pub notes: Option<String>,
    pub set_by: SetBy,
}

impl From<SwitchRow> for SwitchState {
    fn from(row: SwitchRow) -> Self {
        Self {
            enabled: row.enabled,
            set_by: row.set_by.into(),
        }
    }
}

/// The switch's current state (`false` until first set).
pub async fn switch_state(store: &Store, switch: Switch) -> Result<SwitchState, DomainError> {
    Ok(match store.ops_switch(switch.as_str()).await? {
        Some(row) => row.into(),
        None => SwitchState {
            enabled: false,
            set_by: SetBy::default(),
        },
    })
}

impl RestoreService {
    /// A switch's state (`false` until first set). Needs `ops_admin`.
    pub async fn switch(
        &self,
        principal: &Principal,
        switch: Switch,
    ) -> Result<SwitchState, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        switch_state(&self.store, switch).await
    }

    /// Sets a switch on behalf of `actor`; returns the stored state.
    pub async fn set_switch(
        &self,
        principal: &Principal,
        switch: Switch,
        enabled: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<SwitchState, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let meta = change_meta(principal, actor, now);
        let changed = self
            .store
            .set_ops_switch(switch.as_str(), enabled, false, &meta)
            .await?;
        tracing::info!(switch = switch.as_str(), enabled, actor, operator_id = %principal.operator_id,
            "ops switch set");
        Ok(changed.current.into())
    }

    /// Every drill with its latest outcome, in contract order.
    pub async fn failure_drills(
        &self,
        principal: &Principal,
    ) -> Result<Vec<DrillState>, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        drills(&self.store).await
    }

    /// Records a drill's outcome on behalf of `actor`; returns the stored state.
    pub async fn record_drill(
        &self,
        principal: &Principal,
        drill: (DrillId, DrillStatus),
        notes: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<DrillState, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let (drill_id, status) = drill;
        let meta = change_meta(principal, actor, now);
        let changed = self
            .store
            .record_failure_drill(
                drill_id.as_str(),
                status.as_str(),
                notes,
                DrillStatus::Pending.as_str(),
                &meta,
            )
            .await?;
        tracing::info!(drill_id = drill_id.as_str(), status = status.as_str(), actor,
            operator_id = %principal.operator_id, "failure drill recorded");
        drill_state(drill_id, changed.current)
    }

    /// A page of the audit trail, oldest first.
    pub async fn ops_audit(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let rows = self
            .store
            .ops_audit_page(
                filter.kind.as_deref(),
                filter.subject.as_deref(),
                Some(page.after),
                page.fetch(),
            )
            .await?;
        Ok(Page::of(rows, page, |row| row.seq).map(AuditEntry::from))
    }
}

/// Every drill with its latest outcome, in contract order.
pub async fn drills(store: &Store) -> Result<Vec<DrillState>, DomainError> {
    let rows = store.failure_drills().await?;
    DrillId::iter()
        .map(|id| match rows.iter().find(|r| r.drill_id == id.as_str()) {
            Some(row) => drill_state(id, row.clone()),
            None => Ok(DrillState {
                drill_id: id,
                status: DrillStatus::Pending,
                notes: None,
                set_by: SetBy::default(),
            }),
        })
        .collect()
}

fn drill_state(drill_id: DrillId, row: DrillRow) -> Result<DrillState, DomainError> {
    Ok(DrillState {
        drill_id,
        status: crate::domain::error::parse_stored("drill status", &row.status)?,
        notes: row.notes,
        set_by: row.set_by.into(),
    })
}

/// What part of the audit trail to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// `staging_mode`, `runbooks_signoff`, `failure_drill` or `tenant_entitlement`.
    pub kind: Option<String>,
    /// A drill id, tenant id or switch key.
    pub subject: Option<String>,
}
