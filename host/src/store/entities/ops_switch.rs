//! `ops_switches`: staging mode and runbook sign-off, one row per switch.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_switches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub switch_key: String,
    pub enabled: bool,
    pub actor: Option<String>,
    pub operator_id: Option<String>,
    pub updated_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
