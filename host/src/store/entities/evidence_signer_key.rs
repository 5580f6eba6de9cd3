//! `evidence_signer_keys`: the keyring of public keys by signer key id,
//! insert-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence_signer_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub signer_key_id: String,
    pub algorithm: String,
    #[sea_orm(column_type = "Text")]
    pub public_key_pem: String,
    pub public_key_sha256: String,
    pub source: String,
    pub registered_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
