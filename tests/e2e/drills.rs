//! Restore drills that run themselves: a schedule fires on the test's
//! clock (the scheduler's tick, driven through the test hook, no
//! sleeping), restores prod's backup into the sandbox through the real
//! pipeline, verifies it, puts the sandbox back and records the run; a
//! corrupted backup fails the next drill and blocks GA readiness; a stale
//! source skips it; and the schedules' bad paths.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

/// The scheduler only ticks when the test says.
const NO_BACKGROUND_TICKS: &str = "[drills]\ntick_seconds = 0\n";

fn ago(minutes: i64) -> String {
    (Utc::now() - Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

async fn table_of(ctx: &TestContext, instance: &str, table: &str) {
    let path = format!("/v1/targets/acme/{instance}/tables/{table}");
    let body = json!({"columns": [{"name": "short_description", "type": "string"}],
        "write_allowed": true});
    let reply = ctx
        .send(Method::PUT, &path, Some(&ctx.admin_token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn row_of(ctx: &TestContext, instance: &str, sys_id: &str, text: &str) {
    let path = format!("/v1/targets/acme/{instance}/tables/incident/records/{sys_id}");
    let body = json!({"payload": {"short_description": text}});
    let reply = ctx
        .send(Method::PUT, &path, Some(&ctx.admin_token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn payload_of(ctx: &TestContext, instance: &str, sys_id: &str) -> Option<Value> {
    let reply = ctx
        .get(&format!(
            "/v1/targets/acme/{instance}/tables/incident/records/{sys_id}"
        ))
        .await;
    (reply.status == StatusCode::OK).then(|| reply.body["payload"].clone())
}

/// prod's backup of `incident` (`a`, `b`, `c` ten minutes ago, a watermark
/// `watermark_minutes` ago); prod drifted on `a`; the sandbox has an old
/// `b` and a record `x` the backup never had.
async fn world(ctx: &TestContext, watermark_minutes: i64) {
    let when = ago(10);
    let versions: Vec<Version<'_>> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            Version::upsert(
                "incident",
                id,
                &when,
                json!({"short_description": id.to_uppercase()}),
            )
        })
        .collect();
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(watermark_minutes)).await;
    table_of(ctx, "prod", "incident").await;
    table_of(ctx, "sandbox", "incident").await;
    row_of(ctx, "prod", "a", "A changed in prod").await;
    row_of(ctx, "sandbox", "b", "old B").await;
    row_of(ctx, "sandbox", "x", "only in the sandbox").await;
}

fn schedule_body(cron: &str) -> Value {
    json!({"source": {"tenant_id": "acme", "instance_id": "prod"},
        "sandbox": {"tenant_id": "acme", "instance_id": "sandbox"},
        "cron": cron, "tables": ["incident"], "retention_days": 30})
}

async fn schedule(ctx: &TestContext, cron: &str) -> Value {
    let reply = ctx
        .post("/v1/admin/drills/schedules", &schedule_body(cron))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

async fn runs(ctx: &TestContext) -> Vec<Value> {
    ctx.all_pages("/v1/admin/drills/runs?limit=1", "items")
        .await
}

/// The sandbox is as before the drill, and prod was never touched.
async fn assert_untouched(ctx: &TestContext) {
    assert_eq!(
        payload_of(ctx, "sandbox", "b").await,
        Some(json!({"short_description": "old B"}))
    );
    assert_eq!(
        payload_of(ctx, "sandbox", "x").await,
        Some(json!({"short_description": "only in the sandbox"}))
    );
    assert_eq!(payload_of(ctx, "sandbox", "a").await, None);
    assert_eq!(payload_of(ctx, "sandbox", "c").await, None);
    assert_eq!(
        payload_of(ctx, "prod", "a").await,
        Some(json!({"short_description": "A changed in prod"}))
    );
    assert_eq!(payload_of(ctx, "prod", "b").await, None);
    assert_eq!(payload_of(ctx, "prod", "c").await, None);
}

fn assert_passed(run: &Value) {
    assert_eq!(run["outcome"], "passed", "{run:#}");
    assert!(run["reason_code"].is_null(), "{run:#}");
    assert_eq!(run["rows_verified"], 3, "{run:#}");
    assert_eq!(run["rows_mismatched"], 0);
    assert_eq!(run["mismatches"], json!([]));
    assert_eq!(run["sandbox_cleaned"], true);
    assert!(run["restore_ms"].as_i64().unwrap() >= 0);
    assert!(run["rows_per_second"].as_f64().unwrap() > 0.0);
    assert!(run["recovery_point_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(run["manifest_sha256"].as_str().unwrap().len(), 64);
    assert!(run["job_id"].is_string() && run["plan_id"].is_string());
}

async fn ga_drill_check(ctx: &TestContext) -> Value {
    let reply = ctx.get("/v1/admin/ops/ga-readiness").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let check = reply.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "restore_drills_passed")
        .cloned()
        .unwrap();
    let blocked = reply.body["blocked_reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("restore_drills_passed"));
    assert_eq!(blocked, check["passed"] == false);
    check
}

#[tokio::test]
async fn a_scheduled_drill_restores_verifies_cleans_up_and_records_a_pass() {
    let ctx = TestContext::start_with(NO_BACKGROUND_TICKS).await;
    world(&ctx, 1).await;
    // No drill yet: the tenant has a backup, so GA readiness wants one.
    let before = ga_drill_check(&ctx).await;
    assert_eq!(before["passed"], false);
    assert_eq!(before["observed"]["acme"]["outcome"], "none");

    let created = schedule(&ctx, "*/5 * * * *").await;
    let slot = at(&created["next_run_at"]);
    assert!(slot > Utc::now() && slot <= Utc::now() + Duration::minutes(5));
    // Before its slot, a tick runs nothing.
    let early = ctx
        .service()
        .drill_tick(slot - Duration::seconds(1))
        .await
        .unwrap();
    assert!(early.is_empty());
    assert!(runs(&ctx).await.is_empty());

    let fired = ctx
        .service()
        .drill_tick(slot + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(fired.len(), 1);
    let listed = runs(&ctx).await;
    assert_eq!(listed.len(), 1);
    let run = &listed[0];
    assert_passed(run);
    assert_eq!(run["trigger"], "schedule");
    assert_eq!(at(&run["slot_at"]), slot);
    assert_eq!(run["schedule_id"], created["schedule_id"]);
    assert_eq!(
        run["sandbox"],
        json!({"tenant_id": "acme", "instance_id": "sandbox"})
    );
    assert_untouched(&ctx).await;
    // The drill's job really ran into the sandbox and ended completed.
    let job = ctx
        .get(&format!("/v1/jobs/{}", run["job_id"].as_str().unwrap()))
        .await;
    assert_eq!(job.body["status"], "completed", "{:?}", job.body);
    assert_eq!(job.body["instance_id"], "sandbox");
    let check = ga_drill_check(&ctx).await;
    assert_eq!(check["passed"], true, "{check:#}");
    assert_eq!(check["observed"]["acme"]["outcome"], "passed");
    // The SLO view shows the measured recovery time against the objective.
    let slo = ctx.get("/v1/admin/ops/slo").await;
    let recovery = &slo.body["drill_recovery_time"];
    assert_eq!(recovery["objective_seconds"], 3600.0, "{recovery:#}");
    assert_eq!(recovery["within_objective"], true);
    assert_eq!(recovery["tenants"][0]["tenant_id"], "acme");
    assert_eq!(recovery["tenants"][0]["run_id"], run["run_id"]);
    let seconds = recovery["tenants"][0]["restore_seconds"].as_f64().unwrap();
    assert!((seconds * 1e3 - run["restore_ms"].as_f64().unwrap()).abs() < 1e-6);

    // The same slot never runs twice.
    let again = ctx
        .service()
        .drill_tick(slot + Duration::seconds(2))
        .await
        .unwrap();
    assert!(again.is_empty());
    let moved = ctx
        .get(&format!(
            "/v1/admin/drills/schedules/{}",
            created["schedule_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(at(&moved.body["next_run_at"]), slot + Duration::minutes(5));
}

#[tokio::test]
async fn a_scheduler_back_after_missed_slots_runs_one_drill_and_a_stale_source_skips_it() {
    let ctx = TestContext::start_with(NO_BACKGROUND_TICKS).await;
    world(&ctx, 1).await;
    let created = schedule(&ctx, "*/5 * * * *").await;
    let slot = at(&created["next_run_at"]);
    // Back three hours later: thirty-six slots were missed, one drill runs.
    let later = slot + Duration::hours(3);
    let fired = ctx.service().drill_tick(later).await.unwrap();
    assert_eq!(fired.len(), 1);
    let listed = runs(&ctx).await;
    assert_eq!(listed.len(), 1);
    // Three hours after the watermark, the gate calls the source stale: the
    // drill is skipped with the gate's reason, not failed.
    let run = &listed[0];
    assert_eq!(run["outcome"], "skipped", "{run:#}");
    assert_eq!(run["reason_code"], "blocked_freshness_stale");
    assert!(run["job_id"].is_null());
    assert!(run["recovery_point_seconds"].as_f64().unwrap() > 3.0 * 3600.0);
    let schedule_now = ctx
        .get(&format!(
            "/v1/admin/drills/schedules/{}",
            created["schedule_id"].as_str().unwrap()
        ))
        .await;
    assert!(at(&schedule_now.body["next_run_at"]) > later);
    assert_eq!(ctx.service().drill_tick(later).await.unwrap().len(), 0);
    assert_untouched(&ctx).await;
    // A skipped drill neither passes nor fails the tenant.
    assert_eq!(
        ga_drill_check(&ctx).await["observed"]["acme"]["outcome"],
        "none"
    );

    // Past its 30 days of retention a run is gone; the new one stays.
    let much_later = later + Duration::days(31);
    assert_eq!(ctx.service().drill_tick(much_later).await.unwrap().len(), 1);
    let kept = runs(&ctx).await;
    assert_eq!(kept.len(), 1);
    assert_ne!(kept[0]["run_id"], run["run_id"]);
}

#[tokio::test]
async fn a_sampled_drill_restores_and_verifies_only_its_sample_and_records_the_seed() {
    let ctx = TestContext::start_with(NO_BACKGROUND_TICKS).await;
    world(&ctx, 1).await;
    let mut body = schedule_body("0 3 * * *");
    body["sample_per_table"] = json!(2);
    let reply = ctx.post("/v1/admin/drills/schedules", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["sample_per_table"], 2);
    let id = reply.body["schedule_id"].as_str().unwrap();
    let run = ctx
        .post(&format!("/v1/admin/drills/schedules/{id}/run"), &json!({}))
        .await;
    assert_eq!(run.status, StatusCode::OK, "{:?}", run.body);
    assert_eq!(run.body["outcome"], "passed", "{:#}", run.body);
    assert_eq!(run.body["rows_verified"], 2);
    assert!(run.body["sample_seed"].is_i64());
    let plan = ctx
        .get(&format!(
            "/v1/plans/{}",
            run.body["plan_id"].as_str().unwrap()
        ))
        .await;
    let sampled = plan.body["inputs"]["scope"][0]["sys_ids"]
        .as_array()
        .unwrap();
    assert_eq!(sampled.len(), 2, "{:?}", plan.body["inputs"]);
    assert_untouched(&ctx).await;
}

#[tokio::test]
async fn a_stale_watermark_skips_a_drill_run_by_hand() {
    let ctx = TestContext::start_with(NO_BACKGROUND_TICKS).await;
    world(&ctx, 120).await;
    let created = schedule(&ctx, "0 3 * * *").await;
    let id = created["schedule_id"].as_str().unwrap();
    let reply = ctx
        .post(&format!("/v1/admin/drills/schedules/{id}/run"), &json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["outcome"], "skipped");
    assert_eq!(reply.body["reason_code"], "blocked_freshness_stale");
    assert_eq!(reply.body["trigger"], "manual");
    assert_untouched(&ctx).await;
}

/// Changes the index payload of `sys_id` behind the service's back, its
/// ingest hash left as it was.
async fn corrupt_backup(ctx: &TestContext, sys_id: &str) {
    let db = ctx.database.connect().await;
    let sql = format!(
        "UPDATE index_records SET payload = '{{\"short_description\":\"corrupted\"}}' \
         WHERE table_name = 'incident' AND sys_id = '{sys_id}'"
    );
    let changed = db
        .execute(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
}

#[tokio::test]
async fn a_corrupted_backup_fails_the_next_drill_and_blocks_ga_readiness() {
    let ctx = TestContext::start_with(NO_BACKGROUND_TICKS).await;
    world(&ctx, 1).await;
    let created = schedule(&ctx, "0 3 * * *").await;
    let id = created["schedule_id"].as_str().unwrap();
    let run_now = format!("/v1/admin/drills/schedules/{id}/run");
    let first = ctx.post(&run_now, &json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_passed(&first.body);
    assert_eq!(ga_drill_check(&ctx).await["passed"], true);

    corrupt_backup(&ctx, "b").await;
    let second = ctx.post(&run_now, &json!({})).await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    let run = &second.body;
    assert_eq!(run["outcome"], "failed", "{run:#}");
    assert_eq!(run["reason_code"], "drill_verification_mismatch");
    assert_eq!(run["rows_verified"], 3);
    assert_eq!(run["rows_mismatched"], 1);
    assert_eq!(run["mismatches"][0]["table"], "incident");
    assert_eq!(run["mismatches"][0]["sys_id"], "b");
    assert_ne!(
        run["mismatches"][0]["expected_sha256"],
        run["mismatches"][0]["observed_sha256"]
    );
    assert_eq!(run["sandbox_cleaned"], true);
    assert_untouched(&ctx).await;

    let check = ga_drill_check(&ctx).await;
    assert_eq!(check["passed"], false);
    assert_eq!(check["observed"]["acme"]["outcome"], "failed");
    assert_eq!(
        check["observed"]["acme"]["reason_code"],
        "drill_verification_mismatch"
    );
    // The gauges are process-wide (other tests set acme's too): their
    // presence is asserted, the values are the run's.
    let metrics = ctx.client.get(ctx.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    for gauge in [
        "rrs_drill_mismatches{tenant_id=\"acme\"}",
        "rrs_drill_last_success_timestamp{tenant_id=\"acme\"}",
        "rrs_drill_duration_seconds{tenant_id=\"acme\"}",
    ] {
        assert!(text.contains(gauge), "{gauge} missing from {text}");
    }
}

#[tokio::test]
async fn schedules_refuse_bad_input_unknown_ids_missing_capabilities_and_other_tenants() {
    let ctx = TestContext::start_with(NO_BACKGROUND_TICKS).await;
    let bad_cron = ctx
        .post(
            "/v1/admin/drills/schedules",
            &schedule_body("every tuesday"),
        )
        .await;
    assert_eq!(bad_cron.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_cron.reason(), "invalid_request");
    assert!(bad_cron.body["message"].as_str().unwrap().contains("cron"));
    let mut blank_table = schedule_body("0 3 * * *");
    blank_table["tables"] = json!([" "]);
    let reply = ctx.post("/v1/admin/drills/schedules", &blank_table).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request");
    let mut into_itself = schedule_body("0 3 * * *");
    into_itself["sandbox"] = into_itself["source"].clone();
    let reply = ctx.post("/v1/admin/drills/schedules", &into_itself).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request");

    for (method, path) in [
        (Method::GET, "/v1/admin/drills/schedules/drs_nope"),
        (Method::DELETE, "/v1/admin/drills/schedules/drs_nope"),
        (Method::POST, "/v1/admin/drills/schedules/drs_nope/run"),
    ] {
        let reply = ctx
            .send(method, path, Some(&ctx.admin_token), Some(&json!({})))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.reason(), "drill_schedule_not_found");
    }

    let created = schedule(&ctx, "0 3 * * *").await;
    let id = created["schedule_id"].as_str().unwrap();
    let reader = ctx.token("reader", &["restore_read"], &["acme"]).await;
    let reply = ctx
        .send(Method::GET, "/v1/admin/drills/runs", Some(&reader), None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "blocked_missing_capability");
    assert_eq!(
        reply.body["details"]["missing_capabilities"],
        json!(["ops_admin"])
    );

    let globex = ctx.token("globex-ops", &["ops_admin"], &["globex"]).await;
    let path = format!("/v1/admin/drills/schedules/{id}");
    let reply = ctx.send(Method::GET, &path, Some(&globex), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.reason(), "drill_schedule_not_found");
    let reply = ctx
        .send(
            Method::POST,
            "/v1/admin/drills/schedules",
            Some(&globex),
            Some(&schedule_body("0 3 * * *")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    let listed = ctx
        .send(
            Method::GET,
            "/v1/admin/drills/schedules",
            Some(&globex),
            None,
        )
        .await;
    assert_eq!(listed.body["items"], json!([]));

    let deleted = ctx
        .send(Method::DELETE, &path, Some(&ctx.admin_token), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(ctx.get(&path).await.status, StatusCode::NOT_FOUND);
}

/// Another replica's live lease on the schedule, as it holds it while it
/// runs a drill.
async fn lease_held_elsewhere(ctx: &TestContext, schedule_id: &str, until: DateTime<Utc>) {
    let db = ctx.database.connect().await;
    let sql = format!(
        "UPDATE drill_schedules SET claimed_by = 'rrs-other:1', claimed_until_us = {} \
         WHERE schedule_id = '{schedule_id}'",
        until.timestamp_micros()
    );
    let changed = db
        .execute(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
}

#[tokio::test]
async fn a_schedule_another_replica_runs_is_neither_run_by_hand_nor_fired_again() {
    let ctx = TestContext::start_with(NO_BACKGROUND_TICKS).await;
    world(&ctx, 1).await;
    let created = schedule(&ctx, "*/5 * * * *").await;
    let id = created["schedule_id"].as_str().unwrap();
    let slot = at(&created["next_run_at"]);
    lease_held_elsewhere(&ctx, id, slot + Duration::minutes(10)).await;

    let reply = ctx
        .post(&format!("/v1/admin/drills/schedules/{id}/run"), &json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.body);
    assert_eq!(reply.reason(), "drill_already_running");
    let during = ctx
        .service()
        .drill_tick(slot + Duration::seconds(1))
        .await
        .unwrap();
    assert!(during.is_empty());
    assert!(runs(&ctx).await.is_empty());

    // The lease expired unreleased: the holder stopped. The next tick
    // claims the schedule and runs the slot once.
    let after = ctx
        .service()
        .drill_tick(slot + Duration::minutes(11))
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    let listed = runs(&ctx).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(at(&listed[0]["slot_at"]), slot);
}
