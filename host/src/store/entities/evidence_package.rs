//! `evidence_packages`: signed evidence packages, insert-only (the
//! database refuses UPDATE and DELETE).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence_packages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub package_id: String,
    pub job_id: String,
    pub package_version: i64,
    pub origin: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    #[sea_orm(column_type = "Text")]
    pub manifest_json: String,
    pub manifest_sha256: String,
    #[sea_orm(column_type = "Text")]
    pub report_json: String,
    pub report_hash: String,
    pub signer_key_id: String,
    pub algorithm: String,
    pub signature: String,
    pub retention_class: String,
    pub worm_enabled: bool,
    pub retain_until: ChronoDateTimeUtc,
    pub retain_until_us: i64,
    pub artifact_rows: i64,
    pub artifact_bytes: i64,
    pub generated_by: String,
    pub generated_at: ChronoDateTimeUtc,
    pub generated_at_us: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
