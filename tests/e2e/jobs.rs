//! Jobs and the lock queue over HTTP: creation from executable plans only,
//! queue metadata of overlapping jobs, promotion on completion in order,
//! cancelling queued jobs, the one terminal event, and the refusals.

use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::{Version, INSTANCE, TENANT};
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

/// `(plan_id, plan_hash)` of a fresh executable plan over `tables`.
async fn plan(ctx: &TestContext, tables: &[&str]) -> (String, String) {
    let plan = ctx.executable_plan(tables, 1, json!({})).await;
    (
        plan["plan_id"].as_str().unwrap().to_owned(),
        plan["plan_hash"].as_str().unwrap().to_owned(),
    )
}

async fn try_create(ctx: &TestContext, (plan_id, plan_hash): &(String, String)) -> Reply {
    ctx.post(
        "/v1/jobs",
        &json!({"plan_id": plan_id, "plan_hash": plan_hash}),
    )
    .await
}

async fn create(ctx: &TestContext, plan: &(String, String)) -> Value {
    let reply = try_create(ctx, plan).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

fn id(job: &Value) -> String {
    job["job_id"].as_str().unwrap().to_owned()
}

async fn job(ctx: &TestContext, job_id: &str) -> Value {
    let reply = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

async fn complete(ctx: &TestContext, job_id: &str, body: Value) -> Reply {
    ctx.post(&format!("/v1/jobs/{job_id}/complete"), &body)
        .await
}

async fn events(ctx: &TestContext, job_id: &str) -> Vec<Value> {
    let reply = ctx.get(&format!("/v1/jobs/{job_id}/events")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["events"].as_array().unwrap().clone()
}

async fn event_types(ctx: &TestContext, job_id: &str) -> Vec<String> {
    let events = events(ctx, job_id).await;
    events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_running(job: &Value) {
    assert_eq!(job["status"], "running", "{job}");
    assert_no_queue_metadata(job);
    assert!(job["started_at"].is_string(), "{job}");
}

fn assert_no_queue_metadata(job: &Value) {
    assert_eq!(job["wait_reason_code"], Value::Null, "{job}");
    assert_eq!(job["wait_tables"], json!([]), "{job}");
    assert_eq!(job["queue_position"], Value::Null, "{job}");
    assert_eq!(job["blocking_job_ids"], json!([]), "{job}");
}

fn assert_queued(job: &Value, wait_tables: &[&str], position: i64, blocking: &[&String]) {
    assert_eq!(job["status"], "queued", "{job}");
    assert_eq!(job["wait_reason_code"], "waiting_table_lock", "{job}");
    assert_eq!(job["wait_tables"], json!(wait_tables), "{job}");
    assert_eq!(job["queue_position"], json!(position), "{job}");
    assert_eq!(job["blocking_job_ids"], json!(blocking), "{job}");
    assert_eq!(job["started_at"], Value::Null, "{job}");
    assert_eq!(job["execution_state"], "not_started", "{job}");
}

#[tokio::test]
async fn overlapping_jobs_queue_with_wait_fields_and_positions() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let both = plan(&ctx, &["incident", "problem"]).await;
    let problem = plan(&ctx, &["problem"]).await;
    let change = plan(&ctx, &["change"]).await;

    let first = create(&ctx, &incident).await;
    assert_running(&first);
    assert_eq!(first["tables"], json!(["incident"]));
    assert_eq!(first["plan_id"], json!(incident.0));
    assert_eq!(first["operator_id"], "bootstrap");
    let first_id = id(&first);
    let second = create(&ctx, &both).await;
    let second_id = id(&second);
    // Held: incident. Free: problem (nobody holds or wants it yet).
    assert_queued(&second, &["incident"], 1, &[&first_id]);
    let third = create(&ctx, &problem).await;
    let third_id = id(&third);
    // Wanted by the earlier queued job: problem.
    assert_queued(&third, &["problem"], 2, &[&second_id]);
    let fourth = create(&ctx, &incident).await;
    let fourth_id = id(&fourth);
    assert_queued(&fourth, &["incident"], 2, &[&first_id, &second_id]);
    let unrelated = create(&ctx, &change).await;
    assert_running(&unrelated);

    // The document read later says the same.
    assert_queued(&job(&ctx, &third_id).await, &["problem"], 2, &[&second_id]);
    assert_eq!(event_types(&ctx, &first_id).await, ["job_started"]);
    let queued = events(&ctx, &second_id).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["event_type"], "job_queued");
    assert_eq!(queued[0]["seq"], 1);
    assert_eq!(queued[0]["reason_code"], "waiting_table_lock");
    assert_eq!(queued[0]["actor"], "bootstrap");
    assert_eq!(queued[0]["details"]["wait_tables"], json!(["incident"]));

    let listed = ctx.get("/v1/jobs?status=queued").await;
    let ids: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, [second_id.clone(), third_id.clone(), fourth_id]);
    let listed = ctx.get("/v1/jobs?table=problem").await;
    let ids: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, [second_id, third_id]);
    let listed = ctx
        .get(&format!(
            "/v1/jobs?tenant_id={TENANT}&instance_id={INSTANCE}&status=running"
        ))
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    let none = ctx.get("/v1/jobs?tenant_id=globex").await;
    assert_eq!(none.body["items"], json!([]));
}

#[tokio::test]
async fn completing_a_holder_promotes_exactly_the_freed_jobs_in_order() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let both = plan(&ctx, &["incident", "problem"]).await;
    let problem = plan(&ctx, &["problem"]).await;
    let holder = id(&create(&ctx, &incident).await);
    let wide = id(&create(&ctx, &both).await);
    let narrow = id(&create(&ctx, &problem).await);
    let later = id(&create(&ctx, &incident).await);

    let reply = complete(&ctx, &holder, json!({"status": "failed", "actor": "ops-7"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["promoted_job_ids"], json!([wide]));
    let ended = &reply.body["job"];
    assert_eq!(ended["status"], "failed");
    assert_eq!(ended["status_reason_code"], "failed_internal_error");
    assert_eq!(ended["execution_state"], "terminal");
    assert!(ended["finished_at"].is_string());
    assert_no_queue_metadata(ended);
    assert_running(&job(&ctx, &wide).await);
    assert_queued(&job(&ctx, &narrow).await, &["problem"], 1, &[&wide]);
    assert_queued(&job(&ctx, &later).await, &["incident"], 1, &[&wide]);

    // Releasing both tables frees both waiters at once, in queue order.
    let reply = complete(
        &ctx,
        &wide,
        json!({"status": "cancelled", "actor": "ops-7", "note": "wrong scope"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["promoted_job_ids"], json!([narrow, later]));
    assert_eq!(
        reply.body["job"]["status_reason_code"],
        "cancelled_by_operator"
    );
    assert_running(&job(&ctx, &narrow).await);
    assert_running(&job(&ctx, &later).await);

    assert_eq!(
        event_types(&ctx, &holder).await,
        ["job_started", "job_failed"]
    );
    let history = events(&ctx, &wide).await;
    let types: Vec<&str> = history
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["job_queued", "job_started", "job_cancelled"]);
    assert_eq!(history[1]["details"]["released_by"], json!(holder));
    let terminal = &history[2];
    assert_eq!(terminal["seq"], 3);
    assert_eq!(terminal["actor"], "ops-7");
    assert_eq!(terminal["reason_code"], "cancelled_by_operator");
    assert_eq!(terminal["details"]["note"], "wrong scope");
    assert_eq!(
        terminal["details"]["promoted_job_ids"],
        json!([narrow, later])
    );
    assert_eq!(
        terminal["details"]["released_tables"],
        json!(["incident", "problem"])
    );
}

#[tokio::test]
async fn cancelling_a_queued_job_clears_its_metadata_and_shifts_positions() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let both = plan(&ctx, &["incident", "problem"]).await;
    let problem = plan(&ctx, &["problem"]).await;
    let holder = id(&create(&ctx, &incident).await);
    let a = id(&create(&ctx, &incident).await);
    let b = id(&create(&ctx, &both).await);
    let c = id(&create(&ctx, &incident).await);
    let d = id(&create(&ctx, &problem).await);
    assert_queued(&job(&ctx, &c).await, &["incident"], 3, &[&holder, &a, &b]);
    assert_queued(&job(&ctx, &d).await, &["problem"], 2, &[&b]);

    let reply = complete(&ctx, &a, json!({"status": "cancelled", "actor": "ops-7"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["promoted_job_ids"], json!([]));
    assert_eq!(reply.body["job"]["status"], "cancelled");
    assert_no_queue_metadata(&reply.body["job"]);
    assert_eq!(reply.body["job"]["started_at"], Value::Null);
    assert_no_queue_metadata(&job(&ctx, &a).await);
    assert_queued(&job(&ctx, &b).await, &["incident"], 1, &[&holder]);
    assert_queued(&job(&ctx, &c).await, &["incident"], 2, &[&holder, &b]);
    assert_eq!(event_types(&ctx, &a).await, ["job_queued", "job_cancelled"]);

    // Cancelling the queued job that held up `d` on `problem` lets it run:
    // `problem` is free and nobody earlier wants it any more.
    let reply = complete(&ctx, &b, json!({"status": "cancelled", "actor": "ops-7"})).await;
    assert_eq!(reply.body["promoted_job_ids"], json!([d]));
    assert_running(&job(&ctx, &d).await);
    assert_queued(&job(&ctx, &c).await, &["incident"], 1, &[&holder]);
}

#[tokio::test]
async fn completing_a_terminal_job_is_409_and_changes_nothing() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let holder = id(&create(&ctx, &incident).await);
    let waiter = id(&create(&ctx, &incident).await);
    let first = complete(
        &ctx,
        &holder,
        json!({"status": "cancelled", "actor": "ops-7"}),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["promoted_job_ids"], json!([waiter]));
    let before = job(&ctx, &holder).await;
    let history = events(&ctx, &holder).await;
    for body in [
        json!({"status": "failed", "actor": "ops-8"}),
        json!({"status": "cancelled", "actor": "ops-7"}),
    ] {
        let again = complete(&ctx, &holder, body).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
        assert_eq!(again.reason(), "job_already_terminal");
        assert_eq!(again.body["details"]["status"], "cancelled");
    }
    assert_eq!(job(&ctx, &holder).await, before);
    assert_eq!(events(&ctx, &holder).await, history);
    assert_running(&job(&ctx, &waiter).await);
    let terminal = history
        .iter()
        .filter(|e| e["event_type"] == "job_cancelled")
        .count();
    assert_eq!(terminal, 1);
}

#[tokio::test]
async fn jobs_come_only_from_executable_plans_with_their_hash() {
    let ctx = TestContext::start().await;
    let ok = plan(&ctx, &["incident"]).await;
    let missing = try_create(&ctx, &("plan_nope".into(), ok.1.clone())).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.reason(), "plan_not_found");
    let wrong_hash = try_create(&ctx, &(ok.0.clone(), "0".repeat(64))).await;
    assert_eq!(wrong_hash.status, StatusCode::CONFLICT);
    assert_eq!(wrong_hash.reason(), "blocked_plan_hash_mismatch");

    let stale = stale_plan(&ctx).await;
    assert_eq!(stale["gate"]["executability"], "preview_only");
    let refused = try_create(&ctx, &ids_of(&stale)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.reason(), "blocked_freshness_stale");

    ctx.target_table("orphan", &[], true).await;
    let blocked = ctx.dry_run(&["orphan"], &now_minus(5), json!({})).await;
    assert_eq!(
        blocked.body["gate"]["executability"], "blocked",
        "{:?}",
        blocked.body
    );
    let refused = try_create(&ctx, &ids_of(&blocked.body)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.reason(), "blocked_freshness_unknown");

    let listed = ctx.get("/v1/jobs").await;
    assert_eq!(
        listed.body["items"],
        json!([]),
        "no refused request made a job"
    );
}

fn now_minus(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ids_of(plan: &Value) -> (String, String) {
    (
        plan["plan_id"].as_str().unwrap().to_owned(),
        plan["plan_hash"].as_str().unwrap().to_owned(),
    )
}

/// A plan whose only reason is a watermark 30 minutes old (`preview_only`).
async fn stale_plan(ctx: &TestContext) -> Value {
    let at = now_minus(50);
    ctx.ingest(
        0,
        &[Version::upsert(
            "stale",
            "s1",
            &at,
            json!({"short_description": "x"}),
        )],
    )
    .await;
    ctx.watermark("stale", &now_minus(30)).await;
    ctx.target_table("stale", &[], true).await;
    let reply = ctx.dry_run(&["stale"], &now_minus(40), json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

#[tokio::test]
async fn other_tenants_jobs_do_not_exist_and_capabilities_are_checked() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let job_id = id(&create(&ctx, &incident).await);
    let all = ["restore_read", "restore_execute"];
    let globex = ctx.token("ops-g", &all, &["globex"]).await;
    let as_globex = |method, path: String, body: Option<Value>| {
        let (ctx, token) = (&ctx, globex.clone());
        async move { ctx.send(method, &path, Some(&token), body.as_ref()).await }
    };
    for path in [
        format!("/v1/jobs/{job_id}"),
        format!("/v1/jobs/{job_id}/events"),
    ] {
        let reply = as_globex(Method::GET, path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.reason(), "job_not_found");
    }
    let body = json!({"status": "cancelled", "actor": "x"});
    let reply = as_globex(
        Method::POST,
        format!("/v1/jobs/{job_id}/complete"),
        Some(body),
    )
    .await;
    assert_eq!(reply.reason(), "job_not_found");
    let body = json!({"plan_id": incident.0, "plan_hash": incident.1});
    let reply = as_globex(Method::POST, "/v1/jobs".into(), Some(body.clone())).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.reason(), "plan_not_found");
    let listed = as_globex(Method::GET, "/v1/jobs".into(), None).await;
    assert_eq!(listed.body["items"], json!([]));

    let reader = ctx.token("ops-r", &["restore_read"], &["*"]).await;
    let reply = ctx
        .send(Method::POST, "/v1/jobs", Some(&reader), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.reason(),
        "blocked_missing_capability",
        "{:?}",
        reply.body
    );
    assert_eq!(
        reply.body["details"]["missing_capabilities"],
        json!(["restore_execute"])
    );
    let path = format!("/v1/jobs/{job_id}/complete");
    let cancel = json!({"status": "cancelled", "actor": "x"});
    let reply = ctx
        .send(Method::POST, &path, Some(&reader), Some(&cancel))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.reason(),
        "blocked_missing_capability",
        "{:?}",
        reply.body
    );
    assert_eq!(job(&ctx, &job_id).await["status"], "running");
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_field() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let job_id = id(&create(&ctx, &incident).await);
    let reply = ctx.post("/v1/jobs", &json!({"plan_id": incident.0})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request", "{:?}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("plan_hash"),
        "{:?}",
        reply.body
    );
    let path = format!("/v1/jobs/{job_id}/complete");
    for (body, field) in [
        (json!({"status": "completed", "actor": "x"}), "status"),
        (json!({"status": "failed"}), "actor"),
        (
            json!({"status": "failed", "actor": "x", "reason_code": "Not Snake"}),
            "reason_code",
        ),
    ] {
        let reply = ctx.post(&path, &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.reason(), "invalid_request");
        assert!(
            reply.body["message"].as_str().unwrap().contains(field),
            "{:?}",
            reply.body
        );
    }
    let reply = ctx.get("/v1/jobs?status=sleeping").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request", "{:?}", reply.body);
    let reply = ctx.get("/v1/jobs?cursor=not-ours!").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request", "{:?}", reply.body);
    assert_eq!(job(&ctx, &job_id).await["status"], "running");
}

#[tokio::test]
async fn jobs_and_events_page_with_cursors() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(id(&create(&ctx, &incident).await));
    }
    let first = ctx.get("/v1/jobs?limit=2").await;
    let page: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(page, created[..2]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = ctx.get(&format!("/v1/jobs?limit=2&cursor={cursor}")).await;
    let page: Vec<String> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(page, created[2..]);
    assert_eq!(second.body["next_cursor"], Value::Null);

    let holder = &created[0];
    complete(&ctx, holder, json!({"status": "failed", "actor": "x"})).await;
    let path = format!("/v1/jobs/{holder}/events");
    let one = ctx.get(&format!("{path}?limit=1")).await;
    assert_eq!(one.body["events"][0]["event_type"], "job_started");
    let cursor = one.body["next_cursor"].as_str().unwrap();
    let rest = ctx.get(&format!("{path}?limit=1&cursor={cursor}")).await;
    assert_eq!(rest.body["events"][0]["event_type"], "job_failed");
    assert_eq!(rest.body["events"][0]["seq"], 2);
    assert_eq!(rest.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_tenant_without_entitlement_gets_no_job() {
    let ctx = TestContext::start().await;
    let incident = plan(&ctx, &["incident"]).await;
    let path = format!("/v1/admin/tenants/{TENANT}/entitlement");
    let set = |enabled: bool| json!({"restore_enabled": enabled, "actor": "ops-lead"});
    let off = ctx
        .send(
            Method::PUT,
            &path,
            Some(&ctx.admin_token),
            Some(&set(false)),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.body);
    let refused = try_create(&ctx, &incident).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.reason(), "blocked_entitlement_disabled");
    assert_eq!(ctx.get("/v1/jobs").await.body["items"], json!([]));
    ctx.send(Method::PUT, &path, Some(&ctx.admin_token), Some(&set(true)))
        .await;
    assert_running(&create(&ctx, &incident).await);
}

/// A plan that is not executable and whose stored gate names no reason
/// (a row written before gate reasons were stored) is refused with the
/// generic `409 blocked_plan_not_executable`, never made a job.
#[tokio::test]
async fn a_blocked_plan_without_a_gate_reason_is_not_executable() {
    let ctx = TestContext::start().await;
    ctx.target_table("orphan", &[], true).await;
    let blocked = ctx.dry_run(&["orphan"], &now_minus(5), json!({})).await;
    assert_eq!(
        blocked.body["gate"]["executability"], "blocked",
        "{:?}",
        blocked.body
    );
    let (plan_id, plan_hash) = ids_of(&blocked.body);
    rrs_tests::faults::execute(
        &ctx.database,
        &format!("UPDATE plans SET gate_reason_code = NULL WHERE plan_id = '{plan_id}'"),
    )
    .await;
    let refused = try_create(&ctx, &(plan_id, plan_hash)).await;
    assert_eq!(
        (refused.status, refused.reason()),
        (StatusCode::CONFLICT, "blocked_plan_not_executable"),
        "{:?}",
        refused.body
    );
    let jobs = rrs_tests::faults::count(&ctx.database, "SELECT COUNT(*) FROM jobs").await;
    assert_eq!(jobs, 0, "no job was made from the plan");
}
