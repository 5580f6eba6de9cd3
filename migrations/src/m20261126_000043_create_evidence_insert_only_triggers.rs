//! Evidence is insert-only, and the database itself says so: triggers
//! refuse UPDATE and DELETE of evidence packages and keyring rows (and
//! TRUNCATE on PostgreSQL), whatever the client. A new export is a new
//! package version; a rotated key is a new keyring row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The insert-only tables.
const TABLES: [&str; 2] = ["evidence_packages", "evidence_signer_keys"];

const PG_FUNCTION: &str = r#"
CREATE OR REPLACE FUNCTION rrs_refuse_evidence_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'evidence is insert-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$$"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        if backend == DatabaseBackend::Postgres {
            db.execute_unprepared(PG_FUNCTION).await?;
        }
        for table in TABLES {
            for statement in create_statements(backend, table) {
                db.execute_unprepared(&statement).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for table in TABLES {
            for statement in drop_statements(backend, table) {
                db.execute_unprepared(&statement).await?;
            }
        }
        if backend == DatabaseBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS rrs_refuse_evidence_change()")
                .await?;
        }
        Ok(())
    }
}

fn create_statements(backend: DatabaseBackend, table: &str) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            format!(
                "CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION rrs_refuse_evidence_change()"
            ),
            format!(
                "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION rrs_refuse_evidence_change()"
            ),
        ],
        _ => ["UPDATE", "DELETE"]
            .iter()
            .map(|op| {
                let name = op.to_ascii_lowercase();
                format!(
                    "CREATE TRIGGER {table}_no_{name} BEFORE {op} ON {table} \
                     BEGIN SELECT RAISE(ABORT, 'evidence is insert-only: {op} on {table} refused'); END"
                )
            })
            .collect(),
    }
}

fn drop_statements(backend: DatabaseBackend, table: &str) -> Vec<String> {
    match backend {
        DatabaseBackend::Postgres => vec![
            format!("DROP TRIGGER IF EXISTS {table}_insert_only ON {table}"),
            format!("DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"),
        ],
        _ => vec![
            format!("DROP TRIGGER IF EXISTS {table}_no_update"),
            format!("DROP TRIGGER IF EXISTS {table}_no_delete"),
        ],
    }
}
