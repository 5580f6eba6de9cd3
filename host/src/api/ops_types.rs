//! Wire types of the operations control endpoints (`ops`): requests, the
//! stored states they return, and the audit trail.

use poem_openapi::{Enum, Object};
use serde::Deserialize;
use serde_json::Value;

use super::types::Timestamp;

use crate::domain::ops::controls::{
    AuditEntry, DrillId, DrillState, DrillStatus, SetBy, SwitchState,
};
use crate::domain::ops::entitlement::Entitlement;

/// Turn staging mode on or off.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingModeRequest {
    /// Whether staging mode is on.
    pub enabled: bool,
    /// The operator making the change, for the audit trail.
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\x00\s][^\x00]*$"
    ))]
    pub actor: String,
}

/// Sign the runbooks off, or withdraw the sign-off.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbooksSignoffRequest {
    /// Whether the runbooks are signed off.
    pub signed_off: bool,
    /// The operator signing, for the audit trail.
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\x00\s][^\x00]*$"
    ))]
    pub actor: String,
}

/// A failure drill's outcome to record.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureDrillRequest {
    /// Which drill.
    pub drill_id: DrillIdName,
    /// Its outcome.
    pub status: DrillStatusName,
    /// The operator who ran the drill, for the audit trail.
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\x00\s][^\x00]*$"
    ))]
    pub actor: String,
    /// Free-text notes (what was done, links to evidence).
    #[oai(validator(max_length = 4000, pattern = r"^[^\x00]*$"))]
    pub notes: Option<String>,
}

/// Enable or disable a tenant's restores.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantEntitlementRequest {
    /// Whether the tenant may restore.
    pub restore_enabled: bool,
    /// The operator making the change, for the audit trail.
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\x00\s][^\x00]*$"
    ))]
    pub actor: String,
}

/// A failure drill GA needs passed: `auth_outage` (the token service is
/// down), `sidecar_lag` (watermarks fall behind), `pg_saturation` (the
/// database pool is exhausted), `entitlement_disable` (a tenant's
/// entitlement is switched off mid-restore), `crash_resume` (a replica dies
/// mid-execution and the job resumes), `evidence_audit_export` (an auditor
/// verifies an exported package offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case", remote = "DrillId")]
#[serde(rename_all = "snake_case")]
pub enum DrillIdName {
    AuthOutage,
    SidecarLag,
    PgSaturation,
    EntitlementDisable,
    CrashResume,
    EvidenceAuditExport,
}

/// A drill's outcome: `pass`, `fail`, or `pending` (not run yet, or to be
/// run again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case", remote = "DrillStatus")]
#[serde(rename_all = "snake_case")]
pub enum DrillStatusName {
    Pass,
    Fail,
    Pending,
}

/// What an audit entry changed: `staging_mode`, `runbooks_signoff`,
/// `failure_drill` or `tenant_entitlement`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize, strum::IntoStaticStr, strum::EnumString,
)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OpsAuditKind {
    StagingMode,
    RunbooksSignoff,
    FailureDrill,
    TenantEntitlement,
}

impl OpsAuditKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Staging mode as stored.
#[derive(Debug, Object)]
pub struct StagingModeState {
    /// Whether staging mode is on (off until first set).
    pub enabled: bool,
    /// Who last set it; null while never set.
    pub actor: Option<String>,
    /// The operator of the token that last set it; null while never set.
    pub operator_id: Option<String>,
    /// When it was last set; null while never set.
    pub updated_at: Option<Timestamp>,
}

/// The runbook sign-off as stored.
#[derive(Debug, Object)]
pub struct RunbooksSignoffState {
    /// Whether the runbooks are signed off (not until first set).
    pub signed_off: bool,
    /// Who last set it; null while never set.
    pub actor: Option<String>,
    /// The operator of the token that last set it; null while never set.
    pub operator_id: Option<String>,
    /// When it was last set; null while never set.
    pub updated_at: Option<Timestamp>,
}

/// A drill's latest outcome as stored.
#[derive(Debug, Object)]
pub struct FailureDrillState {
    /// Which drill.
    pub drill_id: DrillIdName,
    /// Its latest outcome (`pending` until first recorded).
    pub status: DrillStatusName,
    /// Notes recorded with it.
    pub notes: Option<String>,
    /// Who recorded it; null while never recorded.
    pub actor: Option<String>,
    /// The operator of the token that recorded it; null while never recorded.
    pub operator_id: Option<String>,
    /// When it was recorded; null while never recorded.
    pub updated_at: Option<Timestamp>,
}

/// Every failure drill.
#[derive(Debug, Object)]
pub struct FailureDrills {
    /// The six drills, in contract order.
    pub drills: Vec<FailureDrillState>,
}

/// A tenant's restore entitlement as stored.
#[derive(Debug, Object)]
pub struct TenantEntitlementState {
    /// The tenant.
    pub tenant_id: String,
    /// Whether the tenant may restore (true until first disabled).
    pub restore_enabled: bool,
    /// Who last set it; null while never set.
    pub actor: Option<String>,
    /// The operator of the token that last set it; null while never set.
    pub operator_id: Option<String>,
    /// When it was last set; null while never set.
    pub updated_at: Option<Timestamp>,
}

/// One change in the operations audit trail.
#[derive(Debug, Object)]
pub struct OpsAuditEntry {
    /// Position in the trail; increases with every change.
    pub seq: i64,
    /// When the change was made.
    pub at: Timestamp,
    /// What was changed.
    pub kind: OpsAuditKind,
    /// Which one: the drill id, the tenant id, or the switch
    /// (`staging_mode`, `runbooks_signoff`).
    pub subject: String,
    /// The operator named as `actor` in the request.
    pub actor: String,
    /// The operator of the token that made the call.
    pub operator_id: String,
    /// The state before: `{"enabled"}` for staging mode and sign-off,
    /// `{"status", "notes"}` for a drill, `{"restore_enabled"}` for an
    /// entitlement (defaults when it was never set).
    pub previous: Value,
    /// The state after, in the same shape.
    pub current: Value,
    /// Whether the state differs from before (false when the same value
    /// was set again).
    pub changed: bool,
}

/// A page of the operations audit trail.
#[derive(Debug, Object)]
pub struct OpsAuditPage {
    /// Changes, oldest first.
    pub items: Vec<OpsAuditEntry>,
    /// Cursor of the next page; null at the end.
    pub next_cursor: Option<String>,
}

fn who(set_by: SetBy) -> (Option<String>, Option<String>, Option<Timestamp>) {
    (
        set_by.actor,
        set_by.operator_id,
        set_by.updated_at.map(Timestamp::from),
    )
}

impl From<SwitchState> for StagingModeState {
    fn from(s: SwitchState) -> Self {
        let (actor, operator_id, updated_at) = who(s.set_by);
        Self {
            enabled: s.enabled,
            actor,
            operator_id,
            updated_at,
        }
    }
}

impl From<SwitchState> for RunbooksSignoffState {
    fn from(s: SwitchState) -> Self {
        let (actor, operator_id, updated_at) = who(s.set_by);
        Self {
            signed_off: s.enabled,
            actor,
            operator_id,
            updated_at,
        }
    }
}

impl From<DrillState> for FailureDrillState {
    fn from(d: DrillState) -> Self {
        let (actor, operator_id, updated_at) = who(d.set_by);
        Self {
            drill_id: d.drill_id.into(),
            status: d.status.into(),
            notes: d.notes,
            actor,
            operator_id,
            updated_at,
        }
    }
}

impl From<Entitlement> for TenantEntitlementState {
    fn from(e: Entitlement) -> Self {
        let (actor, operator_id, updated_at) = who(e.set_by);
        Self {
            tenant_id: e.tenant_id,
            restore_enabled: e.restore_enabled,
            actor,
            operator_id,
            updated_at,
        }
    }
}

impl From<AuditEntry> for OpsAuditEntry {
    fn from(r: AuditEntry) -> Self {
        Self {
            seq: r.seq,
            at: r.at.into(),
            // Only this service writes the trail, with these four kinds.
            kind: r.kind.parse().unwrap_or(OpsAuditKind::TenantEntitlement),
            subject: r.subject,
            actor: r.actor,
            operator_id: r.operator_id,
            previous: r.previous,
            current: r.current,
            changed: r.changed,
        }
    }
}
