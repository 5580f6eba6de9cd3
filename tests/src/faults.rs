//! Injected write failures: a database trigger that refuses one kind of
//! insert stands for a crash at exactly that write, deterministic and the
//! same on SQLite and PostgreSQL. A transaction that contains the refused
//! write rolls back whole, as it would when the process died there; a
//! write committed before it stays, as it would after a crash.

use sea_orm::{ConnectionTrait, Statement};

use crate::TestDatabase;

/// A trigger refusing inserts into `table` whose new row matches a
/// condition; [`InjectedFault::remove`] drops it.
pub struct InjectedFault {
    name: String,
    table: String,
}

impl InjectedFault {
    /// Refuses every insert into `table` for which `condition` (SQL over
    /// `NEW.<column>`, valid on both databases) holds.
    pub async fn refuse_inserts(
        database: &TestDatabase,
        name: &str,
        table: &str,
        condition: &str,
    ) -> Self {
        let message = format!("injected fault {name}");
        let statements = if database.is_postgres() {
            vec![
                format!(
                    "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
                ),
                format!(
                    "CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW \
                     WHEN ({condition}) EXECUTE FUNCTION {name}()"
                ),
            ]
        } else {
            vec![format!(
                "CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW \
                 WHEN ({condition}) BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )]
        };
        run(database, &statements).await;
        InjectedFault {
            name: name.to_owned(),
            table: table.to_owned(),
        }
    }

    /// Drops the trigger: the writes go through again.
    pub async fn remove(self, database: &TestDatabase) {
        let (name, table) = (&self.name, &self.table);
        let statements = if database.is_postgres() {
            vec![
                format!("DROP TRIGGER {name} ON {table}"),
                format!("DROP FUNCTION {name}()"),
            ]
        } else {
            vec![format!("DROP TRIGGER {name}")]
        };
        run(database, &statements).await;
    }
}

async fn run(database: &TestDatabase, statements: &[String]) {
    let db = database.connect().await;
    for sql in statements {
        db.execute(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    db.close().await.ok();
}

/// One integer from a query.
pub async fn count(database: &TestDatabase, sql: &str) -> i64 {
    let db = database.connect().await;
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    let n = row
        .try_get_by_index::<i64>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db.close().await.ok();
    n
}

/// Runs one statement: a test that tampers with a row.
pub async fn execute(database: &TestDatabase, sql: &str) {
    run(database, &[sql.to_owned()]).await;
}
