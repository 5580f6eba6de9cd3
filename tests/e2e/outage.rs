//! A database that cannot serve answers `503 database_unavailable` with
//! `Retry-After` within the acquire timeout, never a hang.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

#[tokio::test]
async fn locked_or_lost_database_is_503_promptly() {
    let ctx =
        TestContext::start_with("[database]\nacquire_timeout_ms = 400\nretry_after_seconds = 7\n")
            .await;
    // Hold the whole database from outside the service: an exclusive
    // transaction on SQLite, a lock on the token table on PostgreSQL.
    let outside = ctx.database.connect().await;
    let backend = outside.get_database_backend();
    let txn = outside.begin().await.unwrap();
    let lock = if ctx.database.is_postgres() {
        "LOCK TABLE auth_tokens IN ACCESS EXCLUSIVE MODE"
    } else {
        "DELETE FROM auth_tokens WHERE token_id = 'none'"
    };
    txn.execute(Statement::from_string(backend, lock))
        .await
        .unwrap();
    let started = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        ctx.send(
            Method::POST,
            "/v1/auth/tokens",
            Some(&ctx.admin_token),
            Some(&serde_json::json!({
                "operator_id": "x", "capabilities": ["restore_read"], "tenants": ["a"]
            })),
        ),
    )
    .await
    .expect("the service answered instead of hanging");
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        reply.body
    );
    assert_eq!(reply.reason(), "database_unavailable");
    assert_eq!(reply.headers["retry-after"], "7");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    txn.rollback().await.unwrap();
    let after = ctx.get("/v1/auth/whoami").await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "recovers once the database is back"
    );
}
