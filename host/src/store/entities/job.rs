//! `jobs`: execute-intent jobs; `job_seq` is the admission order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub job_seq: i64,
    #[sea_orm(unique)]
    pub job_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub status: String,
    pub status_reason_code: Option<String>,
    pub execution_state: String,
    pub operator_id: String,
    pub event_seq: i64,
    pub created_at: ChronoDateTimeUtc,
    pub started_at: Option<ChronoDateTimeUtc>,
    pub finished_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
