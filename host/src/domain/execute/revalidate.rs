//! Step 4 of execute and resume: the target must still be what the plan
//! assumed — each table's schema hash and write permission, and no
//! reference of a restored row dangling. A failure ends the job `failed`
//! with the reason as `status_reason_code`, before any row is written.

use serde_json::json;

use super::super::plan::document::PlanDocument;
use super::super::plan::references;
use super::super::{DomainError, ReasonCode};
use crate::store::Store;
use crate::target::Target;

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
    target: &dyn Target,
    plan: &PlanDocument,
) -> Result<Option<Invalidated>, DomainError> {
    for planned in &plan.tables {
        let current = target.describe_table(&planned.table).await?;
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
    let dangling = if target.promises().atomic_with_journal {
        let into = plan.target_instance();
        store
            .dangling_references(&plan.plan_id, &into.tenant_id, &into.instance_id)
            .await?
            .into_iter()
            .map(references::doc)
            .collect()
    } else {
        let open = store.open_references(&plan.plan_id).await?;
        references::remote_dangling(target, open).await?
    };
    if let Some(first) = dangling.first() {
        let conflicts = serde_json::to_value(&dangling).unwrap_or_default();
        return Ok(Some(conflict(
            ReasonCode::BlockedReferenceConflict,
            format!(
                "{}.{} of {} would refer to a missing {} {}",
                first.table,
                first.field,
                first.sys_id,
                first.referenced_table,
                first.referenced_sys_id
            ),
            json!({"remediation": "replan", "reference_conflicts": conflicts}),
        )));
    }
    Ok(None)
}
