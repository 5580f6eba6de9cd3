//! Helpers: a terminal job, the package endpoints, the offline verifier,
//! and SQL that tampers with stored rows the way an attacker with database
//! rights would (past the insert-only triggers).

use reqwest::{Method, StatusCode};
use rrs_tests::{Reply, TestContext};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{json, Value};

/// A job made from a fresh executable plan over `incident` and ended by
/// the operator; returns the job.
pub async fn terminal_job(ctx: &TestContext) -> Value {
    let job = running_job(ctx).await;
    let id = job["job_id"].as_str().unwrap();
    let body = json!({"status": "cancelled", "actor": "ops-7", "note": "evidence test"});
    let reply = ctx.post(&format!("/v1/jobs/{id}/complete"), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["job"].clone()
}

/// A job that is running (not terminal).
pub async fn running_job(ctx: &TestContext) -> Value {
    let table = format!(
        "incident_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let plan = ctx.executable_plan(&[table.as_str()], 3, json!({})).await;
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let reply = ctx.post("/v1/jobs", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

pub fn id(job: &Value) -> String {
    job["job_id"].as_str().unwrap().to_owned()
}

pub async fn export(ctx: &TestContext, job_id: &str) -> Value {
    let reply = ctx
        .post(&format!("/v1/jobs/{job_id}/evidence/export"), &json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

pub async fn read(ctx: &TestContext, job_id: &str, version: Option<i64>) -> Reply {
    let query = version.map_or(String::new(), |v| format!("?package_version={v}"));
    ctx.get(&format!("/v1/jobs/{job_id}/evidence{query}")).await
}

/// The verdict of reading a package (the latest when `None`): `None`
/// when verified.
pub async fn service_verdict(
    ctx: &TestContext,
    job_id: &str,
    version: Option<i64>,
) -> Option<String> {
    let reply = read(ctx, job_id, version).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let verification = &reply.body["verification"];
    match verification["signature_verification"].as_str().unwrap() {
        "verified" => {
            assert_eq!(verification["reason_code"], Value::Null);
            None
        }
        _ => Some(verification["reason_code"].as_str().unwrap().to_owned()),
    }
}

/// The package file as downloaded.
pub async fn package_file(ctx: &TestContext, job_id: &str, version: Option<i64>) -> Vec<u8> {
    let query = version.map_or(String::new(), |v| format!("?package_version={v}"));
    let response = ctx
        .client
        .get(ctx.url(&format!("/v1/jobs/{job_id}/evidence/package{query}")))
        .bearer_auth(&ctx.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(&format!("evidence-{job_id}-v")),
        "{disposition}"
    );
    response.bytes().await.unwrap().to_vec()
}

/// The public key PEM of a signer key id, from the keyring endpoint.
pub async fn public_key(ctx: &TestContext, signer_key_id: &str) -> String {
    let reply = ctx.get("/v1/evidence/keys").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["signer_key_id"] == signer_key_id)
        .unwrap_or_else(|| panic!("no key {signer_key_id} in {}", reply.body))["public_key_pem"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The offline verifier's verdict on a file with a key: `None` when verified.
pub fn offline_verdict(file: &[u8], key_pem: &str) -> Option<String> {
    let report = rrs::domain::evidence::offline::verify_package_bytes(
        file,
        Some(key_pem),
        chrono::Utc::now(),
    )
    .unwrap();
    report.verification.reason_code.map(|c| c.to_string())
}

/// Both verdicts on a package version, as it stands now: the service's
/// and the offline verifier's on the file downloaded now.
pub async fn verdicts(
    ctx: &TestContext,
    package: &Value,
    key_pem: &str,
) -> (Option<String>, Option<String>) {
    let job_id = package["evidence"]["job_id"].as_str().unwrap();
    let version = package["evidence"]["package_version"].as_i64();
    let service = service_verdict(ctx, job_id, version).await;
    let file = package_file(ctx, job_id, version).await;
    (service, offline_verdict(&file, key_pem))
}

/// The public key of the package's signer.
pub async fn signer_key(ctx: &TestContext, package: &Value) -> String {
    let key_id = package["manifest_signature"]["signer_key_id"]
        .as_str()
        .unwrap();
    public_key(ctx, key_id).await
}

/// Runs SQL as the database owner would, past the insert-only triggers:
/// on PostgreSQL with triggers off for the transaction, on SQLite after
/// dropping the table's triggers.
pub async fn tamper(ctx: &TestContext, table: &str, sql: &str) {
    let db = ctx.database.connect().await;
    let backend = db.get_database_backend();
    if ctx.database.is_postgres() {
        let txn = db.begin().await.unwrap();
        txn.execute(Statement::from_string(
            backend,
            "SET LOCAL session_replication_role = replica",
        ))
        .await
        .unwrap();
        let result = txn
            .execute(Statement::from_string(backend, sql))
            .await
            .unwrap();
        assert!(result.rows_affected() > 0, "{sql} changed nothing");
        txn.commit().await.unwrap();
    } else {
        let triggers = db
            .query_all(Statement::from_string(
                backend,
                format!("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '{table}'"),
            ))
            .await
            .unwrap();
        for row in triggers {
            let name: String = row.try_get("", "name").unwrap();
            db.execute(Statement::from_string(
                backend,
                format!("DROP TRIGGER {name}"),
            ))
            .await
            .unwrap();
        }
        let result = db
            .execute(Statement::from_string(backend, sql))
            .await
            .unwrap();
        assert!(result.rows_affected() > 0, "{sql} changed nothing");
    }
}

/// Runs SQL as the service's own connections would (triggers in force).
pub async fn plain_sql(ctx: &TestContext, sql: &str) -> Result<u64, String> {
    let db = ctx.database.connect().await;
    db.execute(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| e.to_string())
}

/// One integer from a query.
pub async fn count(ctx: &TestContext, sql: &str) -> i64 {
    let db = ctx.database.connect().await;
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// A request with another token.
pub async fn send_as(ctx: &TestContext, method: Method, path: &str, token: Option<&str>) -> Reply {
    let body = (method == Method::POST).then(|| json!({}));
    ctx.send(method, path, token, body.as_ref()).await
}
