//! The references restored rows make (`plan_refs`, written with the plan)
//! and which of them would dangle against the target as it is now:
//! planning checks them inside its transaction, execution again before it
//! writes.

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::sql::statement;
use super::{Store, StoreError};

/// A reference to a record that will not exist after the restore.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct RefConflictRow {
    #[sea_orm(from_alias = "table_name")]
    pub table: String,
    pub sys_id: String,
    pub field: String,
    pub ref_table: String,
    pub ref_sys_id: String,
}

/// A reference the plan alone does not settle: the referenced record is
/// deleted by the plan (`deleted`), or the plan does not touch it and only
/// the target can say whether it exists.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct OpenRefRow {
    #[sea_orm(from_alias = "table_name")]
    pub table: String,
    pub sys_id: String,
    pub field: String,
    pub ref_table: String,
    pub ref_sys_id: String,
    pub deleted: bool,
}

impl Store {
    /// References of a stored plan that the plan alone does not settle.
    pub async fn open_references(&self, plan_id: &str) -> Result<Vec<OpenRefRow>, StoreError> {
        open_references(self.db(), plan_id).await
    }

    /// References of a stored plan that would dangle against the target now.
    pub async fn dangling_references(
        &self,
        plan_id: &str,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Vec<RefConflictRow>, StoreError> {
        dangling_references(self.db(), plan_id, tenant_id, instance_id).await
    }
}

/// References of a plan that would dangle given the target's current rows:
/// the referenced record exists after the restore when the plan restores
/// or keeps it, or when the plan does not touch it and the target has it.
pub(super) async fn dangling_references(
    conn: &impl ConnectionTrait,
    plan_id: &str,
    tenant_id: &str,
    instance_id: &str,
) -> Result<Vec<RefConflictRow>, StoreError> {
    let sql = "SELECT r.table_name, r.sys_id, r.field, r.ref_table, r.ref_sys_id FROM plan_refs r \
               WHERE r.plan_id = ? \
               AND NOT EXISTS (SELECT 1 FROM plan_rows p WHERE p.plan_id = r.plan_id AND p.table_name = r.ref_table \
                   AND p.sys_id = r.ref_sys_id AND p.action IN ('create', 'update', 'unchanged', 'skip_delete', 'undecided_delete')) \
               AND NOT (NOT EXISTS (SELECT 1 FROM plan_rows p WHERE p.plan_id = r.plan_id AND p.table_name = r.ref_table \
                   AND p.sys_id = r.ref_sys_id) \
                 AND EXISTS (SELECT 1 FROM target_records t WHERE t.tenant_id = ? AND t.instance_id = ? \
                   AND t.table_name = r.ref_table AND t.sys_id = r.ref_sys_id)) \
               ORDER BY r.plan_row_id, r.field";
    let values: Vec<Value> = vec![plan_id.into(), tenant_id.into(), instance_id.into()];
    Ok(
        RefConflictRow::find_by_statement(statement(conn.get_database_backend(), sql, values))
            .all(conn)
            .await?,
    )
}

/// References of a plan whose record the plan does not keep or restore.
pub(super) async fn open_references(
    conn: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<OpenRefRow>, StoreError> {
    let sql = "SELECT r.table_name, r.sys_id, r.field, r.ref_table, r.ref_sys_id, \
               EXISTS (SELECT 1 FROM plan_rows p WHERE p.plan_id = r.plan_id AND p.table_name = r.ref_table \
                   AND p.sys_id = r.ref_sys_id) AS deleted \
               FROM plan_refs r WHERE r.plan_id = ? \
               AND NOT EXISTS (SELECT 1 FROM plan_rows p WHERE p.plan_id = r.plan_id AND p.table_name = r.ref_table \
                   AND p.sys_id = r.ref_sys_id AND p.action IN ('create', 'update', 'unchanged', 'skip_delete', 'undecided_delete')) \
               ORDER BY r.plan_row_id, r.field";
    let values: Vec<Value> = vec![plan_id.into()];
    Ok(
        OpenRefRow::find_by_statement(statement(conn.get_database_backend(), sql, values))
            .all(conn)
            .await?,
    )
}
