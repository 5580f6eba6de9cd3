//! Queries on `plans` and `plan_rows`.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use super::entities::plan::{self, Entity as Plans};
use super::{Store, StoreError};

/// What other resources need to know of a plan without its rows.
#[derive(Debug, Clone)]
pub struct PlanHeader {
    pub plan_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub plan_hash: String,
    pub plan_checksum: String,
    pub pit: DateTime<Utc>,
    /// `executable`, `preview_only` or `blocked`.
    pub executability: String,
    /// The gate's first reason (null when executable).
    pub gate_reason_code: Option<String>,
    /// Table names in scope, sorted and unique.
    pub tables: Vec<String>,
    pub rows_total: i64,
    pub total_chunks: i64,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<plan::Model> for PlanHeader {
    type Error = StoreError;

    fn try_from(model: plan::Model) -> Result<Self, StoreError> {
        Ok(Self {
            plan_id: model.plan_id,
            tenant_id: model.tenant_id,
            instance_id: model.instance_id,
            plan_hash: model.plan_hash,
            plan_checksum: model.plan_checksum,
            pit: model.pit,
            executability: model.executability,
            gate_reason_code: model.gate_reason_code,
            tables: serde_json::from_value(model.tables)?,
            rows_total: model.rows_total,
            total_chunks: model.total_chunks,
            created_at: model.created_at,
        })
    }
}

impl Store {
    /// The plan's header, if the plan exists.
    pub async fn plan_header(&self, plan_id: &str) -> Result<Option<PlanHeader>, StoreError> {
        Plans::find_by_id(plan_id.to_owned())
            .one(self.db())
            .await?
            .map(PlanHeader::try_from)
            .transpose()
    }
}
