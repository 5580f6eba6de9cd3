//! `ops_audit_log`: insert-only trail of operator changes.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub at: ChronoDateTimeUtc,
    pub kind: String,
    pub subject: String,
    pub actor: String,
    pub operator_id: String,
    pub previous: Json,
    pub current: Json,
    pub changed: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
