//! The SLO checks moved by real jobs driven through the API: failed
//! executions breach `execute_success_rate`, a tampered evidence package
//! breaches `evidence_verification_failed`, a slow queue wait and an
//! expired token's pause put the status `at_risk`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use rrs_tests::{Reply, TestContext};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{json, Value};

fn check<'a>(slo: &'a Value, name: &str) -> &'a Value {
    slo["burn_rate"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {slo}"))
}

async fn slo(ctx: &TestContext) -> Value {
    let reply = ctx.get("/v1/admin/ops/slo").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

async fn job(ctx: &TestContext, plan: &Value) -> Value {
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let reply = ctx.post("/v1/jobs", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

fn id(job: &Value) -> String {
    job["job_id"].as_str().unwrap().to_owned()
}

async fn execute_as(ctx: &TestContext, token: &str, job_id: &str) -> Reply {
    let path = format!("/v1/jobs/{job_id}/execution");
    ctx.send(Method::POST, &path, Some(token), Some(&json!({})))
        .await
}

async fn complete(ctx: &TestContext, job_id: &str, status: &str) -> Reply {
    let body = json!({"status": status, "actor": "ops-7"});
    let reply = ctx
        .post(&format!("/v1/jobs/{job_id}/complete"), &body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply
}

#[tokio::test]
async fn failed_executions_breach_execute_success_rate() {
    let ctx = TestContext::start().await;
    let plan = ctx.executable_plan(&["incident"], 3, json!({})).await;
    let done = execute_as(&ctx, &ctx.admin_token, &id(&job(&ctx, &plan).await)).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let healthy = slo(&ctx).await;
    assert_eq!(healthy["burn_rate"]["status"], "within_budget");
    let rate = check(&healthy, "execute_success_rate");
    assert_eq!(
        (rate["observed"].as_f64(), rate["samples"].as_i64()),
        (Some(1.0), Some(1))
    );

    // The target table stops being writable after the plan: the execution
    // fails its revalidation and the job ends `failed`.
    let plan = ctx.executable_plan(&["problem"], 2, json!({})).await;
    ctx.target_table("problem", &[], false).await;
    let job_id = id(&job(&ctx, &plan).await);
    let failed = execute_as(&ctx, &ctx.admin_token, &job_id).await;
    assert_eq!(failed.status, StatusCode::CONFLICT, "{:?}", failed.body);
    assert_eq!(
        failed.reason(),
        "failed_permission_conflict",
        "{:?}",
        failed.body
    );
    assert_eq!(
        ctx.get(&format!("/v1/jobs/{job_id}")).await.body["status"],
        "failed"
    );

    let breached = slo(&ctx).await;
    assert_eq!(breached["burn_rate"]["status"], "breached");
    assert_eq!(
        breached["burn_rate"]["failed_checks"],
        json!(["execute_success_rate"])
    );
    let rate = check(&breached, "execute_success_rate");
    assert_eq!(
        (rate["observed"].as_f64(), rate["samples"].as_i64()),
        (Some(0.5), Some(2))
    );
    assert_eq!(rate["passed"], false);
    // Half failing against a 1% budget burns it 50 times too fast in both
    // windows: a fast burn.
    let budget = &breached["burn_rate"]["error_budget"];
    assert_eq!(budget["windows"][0]["failed"], 1);
    assert_eq!(budget["windows"][0]["total"], 2);
    assert!((budget["windows"][0]["burn_rate"].as_f64().unwrap() - 50.0).abs() < 1e-6);
    assert!((budget["windows"][1]["burn_rate"].as_f64().unwrap() - 50.0).abs() < 1e-6);
    assert_eq!(budget["fast_burn"], true);
    assert!(budget["budget_remaining"].as_f64().unwrap() < 0.0);

    let ga = ctx.get("/v1/admin/ops/ga-readiness").await;
    assert!(ga.body["blocked_reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("slo_within_budget")));
}

#[tokio::test]
async fn cancelled_jobs_are_not_failed_executions() {
    let ctx = TestContext::start().await;
    let plan = ctx.executable_plan(&["incident"], 2, json!({})).await;
    complete(&ctx, &id(&job(&ctx, &plan).await), "cancelled").await;
    let slo = slo(&ctx).await;
    assert_eq!(check(&slo, "execute_success_rate")["samples"], 0);
    assert_eq!(slo["burn_rate"]["status"], "within_budget");
}

#[tokio::test]
async fn a_slow_queue_wait_puts_the_slo_at_risk() {
    let ctx = TestContext::start_with("[slo]\nqueue_wait_p95_seconds_max = 0.2\n").await;
    let plan = ctx.executable_plan(&["incident"], 2, json!({})).await;
    let holder = job(&ctx, &plan).await;
    assert_eq!(holder["status"], "running");
    let started_at_once = slo(&ctx).await;
    assert_eq!(started_at_once["burn_rate"]["status"], "within_budget");
    assert_eq!(
        check(&started_at_once, "queue_wait_p95_seconds")["observed"],
        0.0
    );

    let again = ctx
        .dry_run(&["incident"], plan["pit"].as_str().unwrap(), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    let waiter = job(&ctx, &again.body).await;
    assert_eq!(waiter["status"], "queued");
    // The waiter waits at least this long for the holder's lock.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let done = complete(&ctx, &id(&holder), "cancelled").await;
    assert_eq!(done.body["promoted_job_ids"], json!([id(&waiter)]));

    let at_risk = slo(&ctx).await;
    assert_eq!(at_risk["burn_rate"]["status"], "at_risk");
    assert_eq!(
        at_risk["burn_rate"]["failed_checks"],
        json!(["queue_wait_p95_seconds"])
    );
    let wait = check(&at_risk, "queue_wait_p95_seconds");
    assert!(wait["observed"].as_f64().unwrap() >= 0.4, "{wait}");
    assert_eq!(wait["samples"], 2);
    assert_eq!(wait["severity"], "warning");
}

/// Executes with a token that expires while the chunks apply: the
/// execution pauses with `paused_auth_expired`. The call is sent shortly
/// before the token's expiry; if it arrives too late (401), it is sent
/// again with a fresh token.
async fn execute_until_the_token_expires(ctx: &TestContext, job_id: &str) -> Reply {
    for _ in 0..5 {
        let body = json!({"operator_id": "night-shift", "capabilities": ["restore_execute", "restore_read"],
            "tenants": ["acme"], "ttl_seconds": 1});
        let issued = ctx.post("/v1/auth/tokens", &body).await;
        let token = issued.body["token"].as_str().unwrap().to_owned();
        let expires_at: chrono::DateTime<chrono::Utc> =
            issued.body["expires_at"].as_str().unwrap().parse().unwrap();
        let lead = expires_at - chrono::Duration::milliseconds(200) - chrono::Utc::now();
        tokio::time::sleep(lead.to_std().unwrap_or_default()).await;
        let reply = execute_as(ctx, &token, job_id).await;
        if reply.status != StatusCode::UNAUTHORIZED {
            return reply;
        }
    }
    panic!("no execute call got in before its token expired");
}

#[tokio::test]
async fn an_execution_paused_by_an_expired_token_puts_the_slo_at_risk() {
    let ctx = TestContext::start().await;
    // Enough one-row chunks that the execution outlives its token.
    let plan = ctx
        .executable_plan(&["incident"], 2000, json!({"chunk_size": 1}))
        .await;
    let job_id = id(&job(&ctx, &plan).await);
    let paused = execute_until_the_token_expires(&ctx, &job_id).await;
    assert_eq!(paused.status, StatusCode::ACCEPTED, "{:?}", paused.body);
    assert_eq!(paused.body["state"], "paused");
    let job = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(job.body["status_reason_code"], "paused_auth_expired");

    let at_risk = slo(&ctx).await;
    assert_eq!(at_risk["burn_rate"]["status"], "at_risk");
    assert_eq!(
        at_risk["burn_rate"]["failed_checks"],
        json!(["auth_pause_rate"])
    );
    let rate = check(&at_risk, "auth_pause_rate");
    assert_eq!(
        (rate["observed"].as_f64(), rate["samples"].as_i64()),
        (Some(1.0), Some(1))
    );
}

/// Changes a stored row as someone with database rights would, past the
/// insert-only triggers (SQLite: dropped; PostgreSQL: replica role).
async fn tamper(ctx: &TestContext, table: &str, sql: &str) {
    let db = ctx.database.connect().await;
    let backend = db.get_database_backend();
    if ctx.database.is_postgres() {
        let txn = db.begin().await.unwrap();
        let replica = "SET LOCAL session_replication_role = replica";
        txn.execute(Statement::from_string(backend, replica))
            .await
            .unwrap();
        let changed = txn
            .execute(Statement::from_string(backend, sql))
            .await
            .unwrap();
        assert!(changed.rows_affected() > 0, "{sql} changed nothing");
        txn.commit().await.unwrap();
        return;
    }
    let list =
        format!("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '{table}'");
    for row in db
        .query_all(Statement::from_string(backend, list))
        .await
        .unwrap()
    {
        let name: String = row.try_get("", "name").unwrap();
        let drop = format!("DROP TRIGGER {name}");
        db.execute(Statement::from_string(backend, drop))
            .await
            .unwrap();
    }
    let changed = db
        .execute(Statement::from_string(backend, sql))
        .await
        .unwrap();
    assert!(changed.rows_affected() > 0, "{sql} changed nothing");
}

#[tokio::test]
async fn a_tampered_evidence_package_breaches_evidence_verification_failed() {
    let ctx = TestContext::start().await;
    let plan = ctx.executable_plan(&["incident"], 3, json!({})).await;
    let job_id = id(&job(&ctx, &plan).await);
    assert_eq!(
        execute_as(&ctx, &ctx.admin_token, &job_id).await.status,
        StatusCode::OK
    );
    let exported = ctx
        .post(&format!("/v1/jobs/{job_id}/evidence/export"), &json!({}))
        .await;
    assert_eq!(exported.status, StatusCode::CREATED, "{:?}", exported.body);
    let clean = slo(&ctx).await;
    assert_eq!(clean["burn_rate"]["status"], "within_budget");
    let evidence = check(&clean, "evidence_verification_failed");
    assert_eq!(evidence["observed"], 0.0);
    assert!(evidence["samples"].as_i64().unwrap() >= 1, "{evidence}");

    // Every package of the job (the one made at the end and the export)
    // gets a forged signature.
    let forged = format!("{}==", "A".repeat(86));
    let sql =
        format!("UPDATE evidence_packages SET signature = '{forged}' WHERE job_id = '{job_id}'");
    tamper(&ctx, "evidence_packages", &sql).await;
    let read = ctx.get(&format!("/v1/jobs/{job_id}/evidence")).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(
        read.body["verification"]["signature_verification"],
        "failed"
    );

    let breached = slo(&ctx).await;
    assert_eq!(breached["burn_rate"]["status"], "breached");
    assert_eq!(
        breached["burn_rate"]["failed_checks"],
        json!(["evidence_verification_failed"])
    );
    assert!(
        check(&breached, "evidence_verification_failed")["observed"]
            .as_f64()
            .unwrap()
            >= 1.0
    );
    let ga = ctx.get("/v1/admin/ops/ga-readiness").await;
    let checks = ga.body["checks"].as_array().unwrap();
    let evidence = checks
        .iter()
        .find(|c| c["name"] == "evidence_verification_failures_zero")
        .unwrap();
    assert_eq!(evidence["passed"], false);
    assert!(evidence["observed"].as_i64().unwrap() >= 1);
}

/// Restores `incident` over two live rows, so the journal holds two
/// before-images; returns the job id.
async fn restore_over_live_rows(ctx: &TestContext) -> String {
    ctx.target_table("incident", &[], true).await;
    for sys_id in ["incident-00000", "incident-00001"] {
        ctx.target_row(
            "incident",
            sys_id,
            json!({"short_description": "live edit"}),
        )
        .await;
    }
    let plan = ctx.executable_plan(&["incident"], 4, json!({})).await;
    assert_eq!(plan["summary"]["updates"], 2, "{:?}", plan["summary"]);
    let job_id = id(&job(ctx, &plan).await);
    let done = execute_as(ctx, &ctx.admin_token, &job_id).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    job_id
}

#[tokio::test]
async fn journal_growth_shows_rows_bytes_and_no_backlog_within_retention() {
    let ctx = TestContext::start().await;
    let empty = ctx.get("/v1/admin/ops/journal-growth").await;
    assert_eq!(empty.status, StatusCode::OK, "{:?}", empty.body);
    assert_eq!(empty.body["jobs"], 0);
    assert_eq!(empty.body["rows_total"], 0);

    restore_over_live_rows(&ctx).await;
    let growth = ctx.get("/v1/admin/ops/journal-growth").await.body;
    assert_eq!(growth["jobs"], 1);
    assert_eq!(growth["rows_total"], 4);
    assert_eq!(growth["rows_per_job"], json!({"avg": 4.0, "max": 4}));
    let bytes = growth["before_image_bytes_total"].as_i64().unwrap();
    assert!(bytes > 0, "{growth}");
    assert_eq!(growth["before_image_bytes_per_job"]["max"], bytes);
    assert_eq!(growth["retention_days"], 365);
    assert_eq!(growth["retention_backlog"]["jobs"], 0);
}

#[tokio::test]
async fn past_retention_a_journal_is_backlog_awaiting_its_export() {
    let ctx = TestContext::start_with("[evidence]\nretention_days = 0\n").await;
    let job_id = restore_over_live_rows(&ctx).await;
    let growth = ctx.get("/v1/admin/ops/journal-growth").await.body;
    let backlog = &growth["retention_backlog"];
    assert_eq!(backlog["jobs"], 1, "{growth}");
    assert_eq!(backlog["before_images"], 2);
    assert_eq!(
        backlog["before_image_bytes"],
        growth["before_image_bytes_total"]
    );
    assert_eq!(backlog["awaiting_export"], 1);

    let exported = ctx
        .post(&format!("/v1/jobs/{job_id}/evidence/export"), &json!({}))
        .await;
    assert_eq!(exported.status, StatusCode::CREATED, "{:?}", exported.body);
    let growth = ctx.get("/v1/admin/ops/journal-growth").await.body;
    assert_eq!(growth["retention_backlog"]["jobs"], 1);
    assert_eq!(growth["retention_backlog"]["awaiting_export"], 0);
}
