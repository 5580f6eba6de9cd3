//! Opening the database: the pool, SQLite's WAL mode, and migrations.

use std::sync::Arc;
use std::time::Duration;

use rrs_migrations::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement,
};

use super::checkpoint::Checkpointer;
use super::StoreError;
use crate::config::DatabaseConfig;
use rrs_migrations::Migrator;

/// A handle on the service database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite only: the WAL checkpoint task, stopped with the last clone.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// The pool settings the service connects with. SQLite files are opened
/// in WAL mode with a busy timeout, so readers never block the writer.
/// Public for tools that need a connection of their own to the service's
/// database, configured like the service's.
pub fn connect_options(url: &str, settings: &DatabaseConfig) -> ConnectOptions {
    // A locked SQLite file waits as long as a pool acquire would, then
    // answers `database_unavailable` like any other outage.
    // PostgreSQL likewise gives up on a lock after that long.
    let busy_timeout = Duration::from_millis(settings.acquire_timeout_ms);
    let lock_timeout = busy_timeout;
    let statement_timeout = Duration::from_millis(settings.statement_timeout_ms);
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(move |opts| {
            opts.options([
                ("lock_timeout", format!("{}ms", lock_timeout.as_millis())),
                (
                    "statement_timeout",
                    format!("{}ms", statement_timeout.as_millis()),
                ),
            ])
        })
        .map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
                // Checkpoints run in the background (see `checkpoint`).
                .pragma("wal_autocheckpoint", "0")
        });
    options
}

impl Store {
    /// Connects with the configured pool (see [`connect_options`]).
    pub async fn connect(url: &str, settings: &DatabaseConfig) -> Result<Self, StoreError> {
        let db = Database::connect(connect_options(url, settings)).await?;
        let checkpointer = (db.get_database_backend() == DatabaseBackend::Sqlite)
            .then(|| Arc::new(Checkpointer::start(db.clone())));
        Ok(Self {
            db,
            _checkpointer: checkpointer,
        })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Whether the database answers and no migration is pending.
    pub async fn ready(&self) -> Result<bool, StoreError> {
        self.db
            .execute(Statement::from_string(
                self.backend(),
                "SELECT 1".to_owned(),
            ))
            .await?;
        let pending = Migrator::get_pending_migrations(&self.db).await?;
        Ok(pending.is_empty())
    }

    /// The connection, for the query modules of this layer only: the
    /// layers above reach the database through `Store`'s methods.
    pub(super) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Which SQL dialect the database speaks.
    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// Closes the pool (tests use it to simulate an outage).
    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await?;
        Ok(())
    }
}
