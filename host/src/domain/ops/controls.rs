//! The operator-recorded inputs of the GA gate: staging mode, runbook
//! sign-off and the six failure drills. Each change is stored with an
//! audit row (who, when, the state before and after) in the same
//! transaction, so the trail can never disagree with the state.

use chrono::{DateTime, Utc};

use super::change_meta;
use crate::domain::capability::Principal;
use crate::domain::DomainError;
use crate::store::ops::{AuditRow, DrillRow, SetBy, SwitchRow};
use crate::store::Store;

/// An operator switch of the GA gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Staging mode: GA-targeted validation runs.
    StagingMode,
    /// The runbooks are signed off.
    RunbooksSignoff,
}

impl Switch {
    /// Its key in storage and its `kind` in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Switch::StagingMode => "staging_mode",
            Switch::RunbooksSignoff => "runbooks_signoff",
        }
    }
}

/// The failure drills GA needs passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DrillId {
    AuthOutage,
    SidecarLag,
    PgSaturation,
    EntitlementDisable,
    CrashResume,
    EvidenceAuditExport,
}

impl DrillId {
    /// Every drill, in contract order.
    pub const ALL: [DrillId; 6] = [
        DrillId::AuthOutage,
        DrillId::SidecarLag,
        DrillId::PgSaturation,
        DrillId::EntitlementDisable,
        DrillId::CrashResume,
        DrillId::EvidenceAuditExport,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillId::AuthOutage => "auth_outage",
            DrillId::SidecarLag => "sidecar_lag",
            DrillId::PgSaturation => "pg_saturation",
            DrillId::EntitlementDisable => "entitlement_disable",
            DrillId::CrashResume => "crash_resume",
            DrillId::EvidenceAuditExport => "evidence_audit_export",
        }
    }
}

/// A drill's recorded outcome; never recorded is `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillStatus {
    Pass,
    Fail,
    Pending,
}

impl DrillStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillStatus::Pass => "pass",
            DrillStatus::Fail => "fail",
            DrillStatus::Pending => "pending",
        }
    }

    fn parse(stored: &str) -> Result<Self, DomainError> {
        [DrillStatus::Pass, DrillStatus::Fail, DrillStatus::Pending]
            .into_iter()
            .find(|s| s.as_str() == stored)
            .ok_or_else(|| DomainError::Internal(format!("stored drill status {stored:?}")))
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
            set_by: row.set_by,
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

/// Sets a switch on behalf of `actor`; returns the stored state.
pub async fn set_switch(
    store: &Store,
    principal: &Principal,
    switch: Switch,
    enabled: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<SwitchState, DomainError> {
    let meta = change_meta(principal, actor, now);
    let changed = store
        .set_ops_switch(switch.as_str(), enabled, false, &meta)
        .await?;
    tracing::info!(switch = switch.as_str(), enabled, actor, operator_id = %principal.operator_id,
        "ops switch set");
    Ok(changed.current.into())
}

/// Every drill with its latest outcome, in contract order.
pub async fn drills(store: &Store) -> Result<Vec<DrillState>, DomainError> {
    let rows = store.failure_drills().await?;
    DrillId::ALL
        .into_iter()
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

/// Records a drill's outcome on behalf of `actor`; returns the stored state.
pub async fn record_drill(
    store: &Store,
    principal: &Principal,
    drill_id: DrillId,
    status: DrillStatus,
    notes: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<DrillState, DomainError> {
    let meta = change_meta(principal, actor, now);
    let changed = store
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

fn drill_state(drill_id: DrillId, row: DrillRow) -> Result<DrillState, DomainError> {
    Ok(DrillState {
        drill_id,
        status: DrillStatus::parse(&row.status)?,
        notes: row.notes,
        set_by: row.set_by,
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

/// Up to `limit` audit rows after `after` (an opaque sequence key, as a
/// decimal string), oldest first; a key this service did not issue is
/// `400 invalid_request`.
pub async fn audit_page(
    store: &Store,
    filter: &AuditFilter,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditRow>, DomainError> {
    let after_seq = match after {
        None => None,
        Some(key) => Some(
            key.parse::<i64>()
                .map_err(|_| DomainError::invalid("cursor is not a valid cursor"))?,
        ),
    };
    Ok(store
        .ops_audit_page(
            filter.kind.as_deref(),
            filter.subject.as_deref(),
            after_seq,
            u64::from(limit) + 1,
        )
        .await?)
}
