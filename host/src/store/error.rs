//! The storage layer's error, classified once from sea-orm's `DbErr` so the
//! layers above never inspect driver errors.

use sea_orm::{sqlx, DbErr, RuntimeErr, SqlErr};

/// What went wrong in the database, as far as callers need to know.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached, or no pooled connection became
    /// free within the acquire timeout. Retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique key already holds this value.
    #[error("duplicate key: {0}")]
    Duplicate(String),
    /// Stored data did not decode (a bug or tampering, never user input).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(message)) = error.sql_err() {
            return StoreError::Duplicate(message);
        }
        match &error {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                StoreError::Unavailable(error.to_string())
            }
            DbErr::Exec(RuntimeErr::SqlxError(inner))
            | DbErr::Query(RuntimeErr::SqlxError(inner))
                if is_unavailable(inner) =>
            {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// Errors that say "the database cannot serve you now", not "your query is
/// wrong": lost connections, pool time-outs, SQLite's busy/locked past the
/// busy timeout, PostgreSQL's connection and shutdown classes.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_code(&code)),
        _ => false,
    }
}

fn is_unavailable_code(code: &str) -> bool {
    // SQLite: BUSY (5), LOCKED (6), BUSY_RECOVERY (261), BUSY_SNAPSHOT (517).
    // PostgreSQL: class 08 (connection), 53300 too_many_connections,
    // 57P01-57P03 shutdown / cannot connect now, 55P03 lock_not_available
    // (lock_timeout), 57014 query_canceled (statement_timeout).
    matches!(
        code,
        "5" | "6" | "261" | "517" | "53300" | "57P01" | "57P02" | "57P03" | "55P03" | "57014"
    ) || code.starts_with("08")
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}
