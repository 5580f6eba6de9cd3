//! PostgreSQL: the decision log's `input` compressed with lz4 instead of
//! pglz. A gate decision over a plan with 100,000 delete candidates logs
//! about 12 MB of input in one value, which TOAST compresses as it is
//! written, inside the plan's request; lz4 compresses several times faster
//! than pglz, at a similar ratio on JSON. Applied only where the server was
//! built with lz4 (it then lists `lz4` among `default_toast_compression`'s
//! values); elsewhere, and on SQLite, nothing changes. Values already
//! written keep their compression.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Sets `input`'s compression to `method` if this server has lz4.
fn set_compression(method: &str) -> String {
    format!(
        "DO $$ BEGIN \
         IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' \
         AND 'lz4' = ANY(enumvals)) THEN \
         ALTER TABLE policy_decisions ALTER COLUMN input SET COMPRESSION {method}; \
         END IF; END $$"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&set_compression("lz4"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&set_compression("pglz"))
                .await?;
        }
        Ok(())
    }
}
