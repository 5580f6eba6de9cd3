//! Database migrations of the restore service, for SQLite and PostgreSQL.
//!
//! One change per file, date-stamped (`mYYYYMMDD_NNNNNN_<verb>_<table>`),
//! never renumbered: a deployed database records each name it applied.
//! The server applies pending migrations at start (`rrs migrate` does it
//! alone).

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_auth_tokens;

/// Every migration, in the order it is applied.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261126_000001_create_auth_tokens::Migration)]
    }
}
