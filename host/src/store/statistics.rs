//! Planner statistics on PostgreSQL, refreshed where a query depends on
//! them. A table that grew in bulk since its last `ANALYZE` has no column
//! statistics for what it holds now; the planner then takes equality
//! filters for one row and picks nested loops that rescan the table per
//! row (measured: a dry-run over 50,000 just-ingested records ran into the
//! statement timeout; with statistics it takes 77 ms of scan). Autovacuum
//! catches up within a naptime when it is on; before it runs, or where it
//! is off, a query that needs fresh statistics asks for them here.
//!
//! "Stale" is judged from sizes the server knows exactly and at once (the
//! table's pages now against `pg_class.relpages` as of the last analyze),
//! not from the statistics collector's counters, which a backend flushes
//! up to a second late. SQLite plans from its indexes and needs nothing.

use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement};

use super::{Store, StoreError};

/// Growth (in 8 KiB pages) below which statistics count as fresh enough.
const MIN_NEW_PAGES: i64 = 64;

impl Store {
    /// `ANALYZE`s `table` on PostgreSQL when it has at least doubled (and
    /// grown by [`MIN_NEW_PAGES`]) since it was last analyzed. `table` is
    /// one of the service's own tables, never caller input.
    pub async fn ensure_statistics(&self, table: &'static str) -> Result<(), StoreError> {
        if self.backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let sql = format!(
            "SELECT relpages::bigint AS analyzed, \
             (pg_relation_size(oid) / current_setting('block_size')::bigint)::bigint AS now \
             FROM pg_class WHERE oid = '{table}'::regclass"
        );
        #[derive(FromQueryResult)]
        struct Pages {
            analyzed: i64,
            now: i64,
        }
        let db = self.db();
        let statement = Statement::from_string(DatabaseBackend::Postgres, sql);
        let Some(Pages { analyzed, now }) = Pages::find_by_statement(statement).one(db).await?
        else {
            return Ok(());
        };
        if stale(analyzed, now) {
            tracing::info!(
                table,
                analyzed_pages = analyzed,
                pages = now,
                "refreshing planner statistics"
            );
            db.execute(Statement::from_string(
                DatabaseBackend::Postgres,
                format!("ANALYZE {table}"),
            ))
            .await?;
        }
        Ok(())
    }
}

/// Whether a table of `now` pages, `analyzed` at its last analyze, needs
/// new statistics.
fn stale(analyzed: i64, now: i64) -> bool {
    now - analyzed >= MIN_NEW_PAGES && now >= 2 * analyzed
}

#[cfg(test)]
mod tests {
    use super::stale;

    #[test]
    fn only_a_table_that_doubled_by_enough_pages_is_stale() {
        assert!(!stale(0, 10), "a small table plans fine without");
        assert!(stale(0, 64));
        assert!(stale(100, 200));
        assert!(!stale(100, 199));
        assert!(!stale(1_000, 1_500), "grown by half: still fresh enough");
        assert!(!stale(500, 400), "shrunk");
    }
}
