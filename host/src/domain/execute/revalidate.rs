//! Step 4 of execute and resume: the target must still be what the plan
//! assumed — each table's schema hash and write permission, and no
//! reference of a restored row dangling. A failure ends the job `failed`
//! with the reason as `status_reason_code`, before any row is written.

use serde_json::json;

use super::super::plan::document::PlanDocument;
use super::super::{DomainError, ReasonCode};
use crate::store::Store;

/// A revalidation failure: the reason code and the error to answer.
pub struct Invalidated {
    pub reason_code: ReasonCode,
    pub error: DomainError,
}

fn conflict(reason_code: ReasonCode, message: String, details: serde_json::Value) -> Invalidated {
    Invalidated {
        reason_code,
        error: DomainError::Conflict {
            reason_code,
            message,
            details: Some(details),
        },
    }
}

/// Checks the target against the plan; `Ok(None)` when it still holds.
pub async fn revalidate(
    store: &Store,
    plan: &PlanDocument,
) -> Result<Option<Invalidated>, DomainError> {
    for planned in &plan.tables {
        let current = store
            .target_table(&plan.tenant_id, &plan.instance_id, &planned.table)
            .await?;
        let schema = current.as_ref().map(|t| t.schema_sha256.clone());
        if schema != planned.schema_sha256 {
            return Ok(Some(conflict(
                ReasonCode::FailedSchemaConflict,
                format!(
                    "the schema of table {} changed since the plan was made",
                    planned.table
                ),
                json!({"remediation": "abort_and_replan", "table": planned.table,
                       "planned_schema_sha256": planned.schema_sha256, "current_schema_sha256": schema}),
            )));
        }
        if !current.as_ref().is_some_and(|t| t.write_allowed) {
            return Ok(Some(conflict(
                ReasonCode::FailedPermissionConflict,
                format!("table {} is not writable", planned.table),
                json!({"remediation": "abort_and_replan", "table": planned.table}),
            )));
        }
    }
    let dangling = store
        .dangling_references(&plan.plan_id, &plan.tenant_id, &plan.instance_id)
        .await?;
    if let Some(first) = dangling.first() {
        let conflicts: Vec<serde_json::Value> = dangling
            .iter()
            .map(|r| {
                json!({"table": r.table, "sys_id": r.sys_id, "field": r.field,
                            "referenced_table": r.ref_table, "referenced_sys_id": r.ref_sys_id})
            })
            .collect();
        return Ok(Some(conflict(
            ReasonCode::BlockedReferenceConflict,
            format!(
                "{}.{} of {} would refer to a missing {} {}",
                first.table, first.field, first.sys_id, first.ref_table, first.ref_sys_id
            ),
            json!({"remediation": "replan", "reference_conflicts": conflicts}),
        )));
    }
    Ok(None)
}
