//! `plans`: immutable dry-run plans (header and whole document).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub plan_hash: String,
    pub plan_checksum: String,
    pub pit: ChronoDateTimeUtc,
    pub executability: String,
    pub gate_reason_code: Option<String>,
    pub tables: Json,
    pub rows_total: i64,
    pub total_chunks: i64,
    pub document: Json,
    pub created_at: ChronoDateTimeUtc,
    /// Null: the target is the source (`tenant_id/instance_id`).
    pub target_tenant_id: Option<String>,
    pub target_instance_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
