//! Raw SQL for the hot paths (bulk inserts, streamed scans), written once
//! with `?` placeholders and rewritten to `$n` for PostgreSQL.

use sea_orm::{DatabaseBackend, Statement, Value};

/// A statement for the backend, `?` placeholders rewritten as needed.
pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => numbered(sql),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
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
