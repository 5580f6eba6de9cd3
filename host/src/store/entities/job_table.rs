//! `job_tables`: the tables a job covers, for its whole life.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "job_tables")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_seq: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub table_name: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
