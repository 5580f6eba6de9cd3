//! Queries on the operations tables: `ops_switches`, `ops_failure_drills`,
//! `tenant_entitlements` and their audit trail `ops_audit_log`.
//!
//! Every change is one transaction that takes the row's lock first (an
//! insert that does nothing when the row exists, then `SELECT ... FOR
//! UPDATE` on PostgreSQL; on SQLite the insert already holds the write
//! lock), reads the state before, writes the state after and appends the
//! audit row. So concurrent changes on several replicas are serialised and
//! each audit row's `previous` is exactly the state it replaced.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{json, Value};

use super::entities::ops_audit_log::{self, Entity as AuditLog};
use super::entities::ops_failure_drill::{self, Entity as Drills};
use super::entities::ops_switch::{self, Entity as Switches};
use super::entities::tenant_entitlement::{self, Entity as Entitlements};
use super::{Store, StoreError};

/// Who makes a change, on whose token, and when.
#[derive(Debug, Clone)]
pub struct ChangeMeta {
    /// The `actor` named in the request.
    pub actor: String,
    /// The operator of the token that made the call.
    pub operator_id: String,
    pub at: DateTime<Utc>,
}

/// Who last set a piece of state; all `None` while it was never set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetBy {
    pub actor: Option<String>,
    pub operator_id: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl SetBy {
    fn from_meta(meta: &ChangeMeta) -> Self {
        Self {
            actor: Some(meta.actor.clone()),
            operator_id: Some(meta.operator_id.clone()),
            updated_at: Some(meta.at),
        }
    }
}

/// An operator switch (staging mode, runbook sign-off).
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchRow {
    pub switch_key: String,
    pub enabled: bool,
    pub set_by: SetBy,
}

/// The latest recorded outcome of a failure drill.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRow {
    pub drill_id: String,
    /// `pass`, `fail` or `pending`.
    pub status: String,
    pub notes: Option<String>,
    pub set_by: SetBy,
}

/// A tenant's restore entitlement.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitlementRow {
    pub tenant_id: String,
    pub restore_enabled: bool,
    pub set_by: SetBy,
}

/// One entry of the audit trail, as stored: `kind` is `staging_mode`,
/// `runbooks_signoff`, `failure_drill` or `tenant_entitlement`, `subject`
/// the switch key, drill id or tenant id changed.
pub type AuditRow = ops_audit_log::Model;

/// The state a change replaced and the state it stored.
#[derive(Debug, Clone)]
pub struct Changed<T> {
    pub previous: T,
    pub current: T,
}

/// What one audit row records.
struct AuditEntry<'a> {
    kind: &'a str,
    subject: &'a str,
    previous: Value,
    current: Value,
}

impl From<ops_switch::Model> for SwitchRow {
    fn from(m: ops_switch::Model) -> Self {
        Self {
            switch_key: m.switch_key,
            enabled: m.enabled,
            set_by: SetBy {
                actor: m.actor,
                operator_id: m.operator_id,
                updated_at: m.updated_at,
            },
        }
    }
}

impl From<ops_failure_drill::Model> for DrillRow {
    fn from(m: ops_failure_drill::Model) -> Self {
        Self {
            drill_id: m.drill_id,
            status: m.status,
            notes: m.notes,
            set_by: SetBy {
                actor: m.actor,
                operator_id: m.operator_id,
                updated_at: m.updated_at,
            },
        }
    }
}

impl From<tenant_entitlement::Model> for EntitlementRow {
    fn from(m: tenant_entitlement::Model) -> Self {
        Self {
            tenant_id: m.tenant_id,
            restore_enabled: m.restore_enabled,
            set_by: SetBy {
                actor: m.actor,
                operator_id: m.operator_id,
                updated_at: m.updated_at,
            },
        }
    }
}

impl Store {
    /// The switch, if it was ever set.
    pub async fn ops_switch(&self, key: &str) -> Result<Option<SwitchRow>, StoreError> {
        Ok(Switches::find_by_id(key.to_owned())
            .one(self.db())
            .await?
            .map(SwitchRow::from))
    }

    /// Sets a switch (`unset` is its value before it was ever set) and
    /// appends the audit row with `kind` = the switch key.
    pub async fn set_ops_switch(
        &self,
        key: &str,
        enabled: bool,
        unset: bool,
        meta: &ChangeMeta,
    ) -> Result<Changed<SwitchRow>, StoreError> {
        let txn = self.begin_write().await?;
        let seed = ops_switch::ActiveModel {
            switch_key: Set(key.to_owned()),
            enabled: Set(unset),
            actor: Set(None),
            operator_id: Set(None),
            updated_at: Set(None),
        };
        Switches::insert(seed)
            .on_conflict(
                OnConflict::column(ops_switch::Column::SwitchKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        let previous: SwitchRow = Switches::find_by_id(key.to_owned())
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| vanished("ops_switches", key))?
            .into();
        let current = SwitchRow {
            switch_key: key.to_owned(),
            enabled,
            set_by: SetBy::from_meta(meta),
        };
        ops_switch::ActiveModel {
            switch_key: Set(key.to_owned()),
            enabled: Set(enabled),
            actor: Set(current.set_by.actor.clone()),
            operator_id: Set(current.set_by.operator_id.clone()),
            updated_at: Set(current.set_by.updated_at),
        }
        .update(&txn)
        .await?;
        let entry = AuditEntry {
            kind: key,
            subject: key,
            previous: json!({ "enabled": previous.enabled }),
            current: json!({ "enabled": enabled }),
        };
        append_audit(&txn, meta, entry).await?;
        txn.commit().await?;
        Ok(Changed { previous, current })
    }

    /// Every drill ever recorded, by id.
    pub async fn failure_drills(&self) -> Result<Vec<DrillRow>, StoreError> {
        Ok(Drills::find()
            .order_by_asc(ops_failure_drill::Column::DrillId)
            .all(self.db())
            .await?
            .into_iter()
            .map(DrillRow::from)
            .collect())
    }

    /// Records a drill's outcome (a never-recorded drill was `unset_status`)
    /// and appends the audit row (`kind = failure_drill`).
    pub async fn record_failure_drill(
        &self,
        drill_id: &str,
        status: &str,
        notes: Option<&str>,
        unset_status: &str,
        meta: &ChangeMeta,
    ) -> Result<Changed<DrillRow>, StoreError> {
        let txn = self.begin_write().await?;
        let seed = ops_failure_drill::ActiveModel {
            drill_id: Set(drill_id.to_owned()),
            status: Set(unset_status.to_owned()),
            notes: Set(None),
            actor: Set(None),
            operator_id: Set(None),
            updated_at: Set(None),
        };
        Drills::insert(seed)
            .on_conflict(
                OnConflict::column(ops_failure_drill::Column::DrillId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        let previous: DrillRow = Drills::find_by_id(drill_id.to_owned())
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| vanished("ops_failure_drills", drill_id))?
            .into();
        let current = DrillRow {
            drill_id: drill_id.to_owned(),
            status: status.to_owned(),
            notes: notes.map(str::to_owned),
            set_by: SetBy::from_meta(meta),
        };
        ops_failure_drill::ActiveModel {
            drill_id: Set(drill_id.to_owned()),
            status: Set(current.status.clone()),
            notes: Set(current.notes.clone()),
            actor: Set(current.set_by.actor.clone()),
            operator_id: Set(current.set_by.operator_id.clone()),
            updated_at: Set(current.set_by.updated_at),
        }
        .update(&txn)
        .await?;
        let entry = AuditEntry {
            kind: "failure_drill",
            subject: drill_id,
            previous: json!({ "status": previous.status, "notes": previous.notes }),
            current: json!({ "status": current.status, "notes": current.notes }),
        };
        append_audit(&txn, meta, entry).await?;
        txn.commit().await?;
        Ok(Changed { previous, current })
    }

    /// The tenant's entitlement row, if it was ever set.
    pub async fn tenant_entitlement(
        &self,
        tenant_id: &str,
    ) -> Result<Option<EntitlementRow>, StoreError> {
        Ok(Entitlements::find_by_id(tenant_id.to_owned())
            .one(self.db())
            .await?
            .map(EntitlementRow::from))
    }

    /// Sets a tenant's entitlement (a tenant never set was `unset`) and
    /// appends the audit row (`kind = tenant_entitlement`).
    pub async fn set_tenant_entitlement(
        &self,
        tenant_id: &str,
        restore_enabled: bool,
        unset: bool,
        meta: &ChangeMeta,
    ) -> Result<Changed<EntitlementRow>, StoreError> {
        let txn = self.begin_write().await?;
        let seed = tenant_entitlement::ActiveModel {
            tenant_id: Set(tenant_id.to_owned()),
            restore_enabled: Set(unset),
            actor: Set(None),
            operator_id: Set(None),
            updated_at: Set(None),
        };
        Entitlements::insert(seed)
            .on_conflict(
                OnConflict::column(tenant_entitlement::Column::TenantId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        let previous: EntitlementRow = Entitlements::find_by_id(tenant_id.to_owned())
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| vanished("tenant_entitlements", tenant_id))?
            .into();
        let current = EntitlementRow {
            tenant_id: tenant_id.to_owned(),
            restore_enabled,
            set_by: SetBy::from_meta(meta),
        };
        tenant_entitlement::ActiveModel {
            tenant_id: Set(tenant_id.to_owned()),
            restore_enabled: Set(restore_enabled),
            actor: Set(current.set_by.actor.clone()),
            operator_id: Set(current.set_by.operator_id.clone()),
            updated_at: Set(current.set_by.updated_at),
        }
        .update(&txn)
        .await?;
        let entry = AuditEntry {
            kind: "tenant_entitlement",
            subject: tenant_id,
            previous: json!({ "restore_enabled": previous.restore_enabled }),
            current: json!({ "restore_enabled": restore_enabled }),
        };
        append_audit(&txn, meta, entry).await?;
        txn.commit().await?;
        Ok(Changed { previous, current })
    }

    /// Up to `limit` audit rows after `after_seq`, oldest first, optionally
    /// of one kind and one subject.
    pub async fn ops_audit_page(
        &self,
        kind: Option<&str>,
        subject: Option<&str>,
        after_seq: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let mut query = AuditLog::find();
        if let Some(kind) = kind {
            query = query.filter(ops_audit_log::Column::Kind.eq(kind));
        }
        if let Some(subject) = subject {
            query = query.filter(ops_audit_log::Column::Subject.eq(subject));
        }
        if let Some(after) = after_seq {
            query = query.filter(ops_audit_log::Column::Seq.gt(after));
        }
        Ok(query
            .order_by_asc(ops_audit_log::Column::Seq)
            .limit(limit)
            .all(self.db())
            .await?)
    }
}

async fn append_audit(
    txn: &DatabaseTransaction,
    meta: &ChangeMeta,
    entry: AuditEntry<'_>,
) -> Result<(), StoreError> {
    let changed = entry.previous != entry.current;
    ops_audit_log::ActiveModel {
        at: Set(meta.at),
        kind: Set(entry.kind.to_owned()),
        subject: Set(entry.subject.to_owned()),
        actor: Set(meta.actor.clone()),
        operator_id: Set(meta.operator_id.clone()),
        previous: Set(entry.previous),
        current: Set(entry.current),
        changed: Set(changed),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The row was inserted or found a moment ago in the same transaction.
fn vanished(table: &str, key: &str) -> StoreError {
    StoreError::Database(format!(
        "{table} row {key:?} vanished inside its transaction"
    ))
}
