//! `evidence_verification_failures`: one row per failed verification, for
//! the SLO and GA-readiness checks.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence_verification_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub failure_id: String,
    pub package_id: String,
    pub job_id: String,
    pub tenant_id: String,
    pub package_version: i64,
    pub reason_code: String,
    pub failed_checks: Json,
    pub detected_at: ChronoDateTimeUtc,
    pub detected_at_us: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
