//! `ops_failure_drills`: the latest outcome of each failure drill.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_failure_drills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub drill_id: String,
    pub status: String,
    pub notes: Option<String>,
    pub actor: Option<String>,
    pub operator_id: Option<String>,
    pub updated_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
