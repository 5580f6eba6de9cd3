//! Opening the database: the pool, SQLite's WAL mode, and migrations.

use std::sync::Arc;
use std::time::Duration;

use rrs_migrations::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, Statement, TransactionTrait,
};

use super::checkpoint::Checkpointer;
use super::StoreError;
use crate::config::DatabaseConfig;
use rrs_migrations::Migrator;

/// On SQLite, takes the write lock of a transaction that has not read yet
/// (see [`Store::begin_write`]); nothing on PostgreSQL.
pub(super) async fn take_write_lock(txn: &DatabaseTransaction) -> Result<(), StoreError> {
    if txn.get_database_backend() == DatabaseBackend::Sqlite {
        txn.execute_unprepared("DELETE FROM seaql_migrations WHERE 0")
            .await?;
    }
    Ok(())
}

/// The advisory lock key that serialises migrations ("rrs-migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x7272_732d_6d69_6772;

/// A handle on the service database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Where writes go. SQLite takes one writer at a time: on SQLite this is
    /// a pool of one connection, so writers queue for it without holding a
    /// connection (a writer waiting in SQLite's busy handler would hold
    /// one, and enough of them could leave the writer that holds the lock
    /// without the read connection it needs). On PostgreSQL it is `db`.
    writer: DatabaseConnection,
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
        let sqlite = db.get_database_backend() == DatabaseBackend::Sqlite;
        let writer = if sqlite {
            let mut options = connect_options(url, settings);
            options.max_connections(1).min_connections(1);
            Database::connect(options).await?
        } else {
            db.clone()
        };
        let checkpointer = sqlite.then(|| Arc::new(Checkpointer::start(db.clone())));
        Ok(Self {
            db,
            writer,
            _checkpointer: checkpointer,
        })
    }

    /// Applies every pending migration.
    ///
    /// On PostgreSQL, replicas starting together on a new database would
    /// each create the same tables and all but one fail; so the migrations
    /// run under a transaction-scoped advisory lock, held by a transaction
    /// of their own: the others wait for it, then find nothing pending.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.backend() != DatabaseBackend::Postgres {
            Migrator::up(&self.db, None).await?;
            return Ok(());
        }
        let guard = self.db.begin().await?;
        guard
            .execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
        let migrated = Migrator::up(&self.db, None).await;
        guard.commit().await?;
        Ok(migrated?)
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

    /// A transaction that will write. SQLite starts a transaction deferred:
    /// one that reads first and then writes while another connection
    /// writes cannot upgrade its read snapshot and fails at once
    /// (`SQLITE_BUSY_SNAPSHOT`), whatever the busy timeout. So on SQLite
    /// the first statement takes the write lock (a write that touches no
    /// row, to the one table every database has from its first migration),
    /// and a second writer waits up to `acquire_timeout_ms` for it, as
    /// configured. PostgreSQL locks by row and needs nothing here.
    pub(super) async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        let txn = self.writer.begin().await?;
        take_write_lock(&txn).await?;
        Ok(txn)
    }

    /// A transaction that takes no lock yet: its owner calls
    /// [`take_write_lock`] before its first statement (a dry-run opens its
    /// scans first, so it never waits for the lock while holding only part
    /// of the connections it needs).
    pub(super) async fn begin_deferred(&self) -> Result<DatabaseTransaction, StoreError> {
        Ok(self.writer.begin().await?)
    }

    /// The connection for a write outside a transaction.
    pub(super) fn write_db(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// Which SQL dialect the database speaks.
    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// Closes the pool (tests use it to simulate an outage).
    pub async fn close(self) -> Result<(), StoreError> {
        if self.backend() == DatabaseBackend::Sqlite {
            self.writer.close().await?;
        }
        self.db.close().await?;
        Ok(())
    }
}
