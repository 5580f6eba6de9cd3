//! A fresh database per test: a SQLite file in a temp dir by default, or a
//! new PostgreSQL database (dropped afterwards) when
//! `RRS_TEST_DATABASE_URL` names a server.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// One test's database.
pub struct TestDatabase {
    /// URL the service connects to.
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// Creates an empty database: PostgreSQL when `RRS_TEST_DATABASE_URL`
    /// is set, SQLite otherwise. A URL that is not `postgres://` or
    /// `postgresql://` is refused: a misconfigured run must not fall back
    /// to SQLite and pass as if PostgreSQL had been tested.
    pub async fn create() -> Self {
        let backend = Backend::from_env();
        announce(&backend);
        match backend {
            Backend::Postgres(admin_url) => Self::create_postgres(admin_url).await,
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("rrs.db").display());
                TestDatabase {
                    url,
                    postgres: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    async fn create_postgres(admin_url: String) -> Self {
        let name = format!("rrs_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .expect("connect to RRS_TEST_DATABASE_URL");
        admin
            .execute(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = replace_database(&admin_url, &name);
        TestDatabase {
            url,
            postgres: Some((admin_url, name)),
            _dir: None,
        }
    }

    /// A direct connection, for tests that inspect or tamper with rows.
    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

/// The backend the tests run on, from `RRS_TEST_DATABASE_URL`.
#[derive(Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// Panics on a set `RRS_TEST_DATABASE_URL` that is not PostgreSQL.
    pub fn from_env() -> Self {
        Self::from_url(std::env::var("RRS_TEST_DATABASE_URL").ok())
    }

    fn from_url(url: Option<String>) -> Self {
        match url {
            None => Backend::Sqlite,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Backend::Postgres(url)
            }
            Some(url) => panic!(
                "RRS_TEST_DATABASE_URL must be a PostgreSQL URL (postgres:// or \
                 postgresql://), got {:?}; unset it to run on SQLite",
                url.split('@').next_back().unwrap_or_default()
            ),
        }
    }
}

/// Says once per test binary which backend its tests run on, on the real
/// stderr (not the per-test capture, which hides a passing test's output).
fn announce(backend: &Backend) {
    use std::io::Write;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let line = match backend {
            Backend::Sqlite => "rrs-tests: database backend SQLite (a file per test)".to_owned(),
            Backend::Postgres(url) => format!(
                "rrs-tests: database backend PostgreSQL at {} (a database per test)",
                url.split('@').next_back().unwrap_or_default()
            ),
        };
        let _ = writeln!(std::io::stderr(), "{line}");
    });
}

/// For a test that exists for PostgreSQL only (and is `#[ignore]`d so a
/// SQLite run reports it as ignored, not as passed): panics when run on
/// SQLite, so `--include-ignored` without PostgreSQL fails instead of
/// passing green.
pub fn require_postgres(why: &str) {
    assert!(
        matches!(Backend::from_env(), Backend::Postgres(_)),
        "PostgreSQL-only test run without RRS_TEST_DATABASE_URL: {why}"
    );
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[scheme_end..].find('/') {
        Some(slash) => format!("{}/{name}{query}", &base[..scheme_end + slash]),
        None => format!("{base}/{name}{query}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = admin
                        .execute(Statement::from_string(admin.get_database_backend(), sql))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::{replace_database, Backend};

    #[test]
    fn only_postgres_urls_are_accepted() {
        assert_eq!(Backend::from_url(None), Backend::Sqlite);
        assert_eq!(
            Backend::from_url(Some("postgresql://h/db".into())),
            Backend::Postgres("postgresql://h/db".into())
        );
        for bad in ["sqlite://x.db", "mysql://h/db", ""] {
            let refused = std::panic::catch_unwind(|| Backend::from_url(Some(bad.into())));
            assert!(refused.is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h:5432/test?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
    }
}
