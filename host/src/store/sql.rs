//! Raw SQL for the hot paths (bulk inserts, streamed scans), written once
//! with `?` placeholders and rewritten to `$n` for PostgreSQL.

use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement, Value};

use super::{Store, StoreError};

/// A statement for the backend, `?` placeholders rewritten as needed.
pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => numbered(sql),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Runs one statement on any connection or transaction; how many rows it
/// touched.
pub async fn execute(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, StoreError> {
    let statement = statement(conn.get_database_backend(), sql, values);
    Ok(conn.execute(statement).await?.rows_affected())
}

impl Store {
    /// Runs one write outside a transaction, on the write connection; how
    /// many rows it touched.
    pub(super) async fn write_sql(&self, sql: &str, values: Vec<Value>) -> Result<u64, StoreError> {
        execute(self.write_db(), sql, values).await
    }

    /// Every row a query returns.
    pub(super) async fn fetch_all<T: FromQueryResult>(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<T>, StoreError> {
        let statement = statement(self.backend(), sql, values);
        Ok(T::find_by_statement(statement).all(self.db()).await?)
    }

    /// The first row a query returns, if any.
    pub(super) async fn fetch_one<T: FromQueryResult>(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Option<T>, StoreError> {
        let statement = statement(self.backend(), sql, values);
        Ok(T::find_by_statement(statement).one(self.db()).await?)
    }

    /// The text in the first column of every row a query returns.
    pub(super) async fn fetch_texts(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<String>, StoreError> {
        let statement = statement(self.backend(), sql, values);
        let rows = self.db().query_all(statement).await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get_by_index(0))
            .collect::<Result<_, _>>()?)
    }

    /// The `n` of a `SELECT COUNT(*) AS n` query.
    pub(super) async fn count_sql(&self, sql: &str, values: Vec<Value>) -> Result<i64, StoreError> {
        #[derive(FromQueryResult)]
        struct Count {
            n: i64,
        }
        let count: Option<Count> = self.fetch_one(sql, values).await?;
        Ok(count.map_or(0, |c| c.n))
    }
}

fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut in_string = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// `(?, ?, ?), (?, ?, ?)`: placeholders for a multi-row insert.
pub fn rows_placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// `?, ?, ?`: placeholders for an `IN (...)` list.
pub fn list_placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Byte-wise ordering of text, so streams merged in Rust agree with the
/// database's `ORDER BY` (PostgreSQL's default collation is not bytewise).
pub fn bytewise(backend: DatabaseBackend, column: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("{column} COLLATE \"C\""),
        _ => column.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_outside_strings() {
        assert_eq!(
            numbered("a = ? AND b = '?' AND c IN (?, ?)"),
            "a = $1 AND b = '?' AND c IN ($2, $3)"
        );
        assert_eq!(rows_placeholders(2, 2), "(?, ?), (?, ?)");
    }
}
