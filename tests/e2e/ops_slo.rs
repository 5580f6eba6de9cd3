//! The SLO burn-rate view and the GA readiness gate, moved by real data:
//! index records and watermarks for source freshness, the operator
//! switches and drills for the gate; the same figures on `/metrics`.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use rrs_tests::TestContext;
use serde_json::{json, Value};

const DRILLS: [&str; 6] = [
    "auth_outage",
    "sidecar_lag",
    "pg_saturation",
    "entitlement_disable",
    "crash_resume",
    "evidence_audit_export",
];

fn check<'a>(slo: &'a Value, name: &str) -> &'a Value {
    slo["burn_rate"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {slo}"))
}

fn ago(seconds: i64) -> String {
    (Utc::now() - Duration::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn record(ctx: &TestContext, partition: i64, sys_id: &str) {
    let body = json!({"records": [{"tenant_id": "acme", "instance_id": "prod", "table": "incident",
        "sys_id": sys_id, "op": "upsert", "event_time": ago(3600), "topic": "sn.acme.prod.incident",
        "partition": partition, "offset": 1, "payload": {"short_description": "x"}}]});
    let reply = ctx.post("/v1/index/records", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn watermark(ctx: &TestContext, partition: i64, time: &str) {
    let body = json!({"watermarks": [{"tenant_id": "acme", "instance_id": "prod",
        "topic": "sn.acme.prod.incident", "partition": partition, "watermark_time": time}]});
    let reply = ctx.post("/v1/index/watermarks", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn slo(ctx: &TestContext) -> Value {
    let reply = ctx.get("/v1/admin/ops/slo").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

#[tokio::test]
async fn a_fresh_service_is_within_budget_and_checks_without_data_say_so() {
    let ctx = TestContext::start().await;
    let slo = slo(&ctx).await;
    assert_eq!(slo["window_seconds"], 30 * 24 * 3600);
    assert_eq!(slo["burn_rate"]["status"], "within_budget");
    assert_eq!(slo["burn_rate"]["failed_checks"], json!([]));
    let names: Vec<(&str, &str)> = slo["burn_rate"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("execute_success_rate", "critical"),
            ("stale_source_count", "critical"),
            ("evidence_verification_failed", "critical"),
            ("queue_wait_p95_seconds", "warning"),
            ("execute_duration_p95_seconds", "warning"),
            ("auth_pause_rate", "warning"),
        ]
    );
    let rate = check(&slo, "execute_success_rate");
    assert_eq!(rate["observed"], Value::Null);
    assert_eq!(rate["samples"], 0);
    assert_eq!(rate["passed"], true);
    assert_eq!(rate["target"], 0.99);
    assert_eq!(rate["objective"], "at_least");
    assert_eq!(check(&slo, "stale_source_count")["observed"], 0.0);
    let budget = &slo["burn_rate"]["error_budget"];
    assert_eq!(budget["objective"], "execute_success_rate");
    assert_eq!(budget["windows"][0]["name"], "long");
    assert_eq!(budget["windows"][0]["window_seconds"], 3600);
    assert_eq!(budget["windows"][1]["name"], "short");
    assert_eq!(budget["windows"][1]["burn_rate"], Value::Null);
    assert_eq!(budget["fast_burn"], false);
}

#[tokio::test]
async fn window_and_targets_come_from_configuration() {
    let ctx = TestContext::start_with(
        "[slo]\nwindow_seconds = 3600\nqueue_wait_p95_seconds_max = 12.5\nburn_rate_short_window_seconds = 60\n",
    )
    .await;
    let slo = slo(&ctx).await;
    assert_eq!(slo["window_seconds"], 3600);
    assert_eq!(check(&slo, "queue_wait_p95_seconds")["target"], 12.5);
    assert_eq!(
        slo["burn_rate"]["error_budget"]["windows"][1]["window_seconds"],
        60
    );
}

#[test]
fn bad_slo_configuration_is_refused_naming_the_key() {
    let error = rrs::config::Config::from_toml_str("[slo]\nexecute_success_rate_min = 1.5\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("execute_success_rate_min"), "{error}");
    let error = rrs::config::Config::from_toml_str(
        "[slo]\nburn_rate_long_window_seconds = 60\nburn_rate_short_window_seconds = 60\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("burn_rate_short_window_seconds"), "{error}");
}

#[tokio::test]
async fn unknown_and_stale_sources_breach_stale_source_count() {
    let ctx = TestContext::start().await;
    record(&ctx, 0, "a1").await;
    let unknown = slo(&ctx).await;
    assert_eq!(unknown["burn_rate"]["status"], "breached");
    assert_eq!(
        unknown["burn_rate"]["failed_checks"],
        json!(["stale_source_count"])
    );
    assert_eq!(check(&unknown, "stale_source_count")["observed"], 1.0);

    watermark(&ctx, 0, &ago(5)).await;
    let fresh = slo(&ctx).await;
    assert_eq!(fresh["burn_rate"]["status"], "within_budget");
    assert_eq!(check(&fresh, "stale_source_count")["observed"], 0.0);
    assert_eq!(check(&fresh, "stale_source_count")["samples"], 1);

    // The default gate policy's max_lag_seconds is 900: two hours is stale.
    record(&ctx, 1, "a2").await;
    watermark(&ctx, 1, &ago(7200)).await;
    let stale = slo(&ctx).await;
    assert_eq!(stale["burn_rate"]["status"], "breached");
    assert_eq!(
        stale["burn_rate"]["failed_checks"],
        json!(["stale_source_count"])
    );
    assert_eq!(check(&stale, "stale_source_count")["observed"], 1.0);
    assert_eq!(check(&stale, "stale_source_count")["samples"], 2);

    watermark(&ctx, 1, &ago(1)).await;
    assert_eq!(slo(&ctx).await["burn_rate"]["status"], "within_budget");
}

async fn ga(ctx: &TestContext) -> Value {
    let reply = ctx.get("/v1/admin/ops/ga-readiness").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

async fn set_everything(ctx: &TestContext) {
    ctx.post(
        "/v1/admin/ops/staging-mode",
        &json!({"enabled": true, "actor": "a"}),
    )
    .await;
    ctx.post(
        "/v1/admin/ops/runbooks-signoff",
        &json!({"signed_off": true, "actor": "a"}),
    )
    .await;
    for drill in DRILLS {
        let body = json!({"drill_id": drill, "status": "pass", "actor": "a"});
        let reply = ctx.post("/v1/admin/ops/failure-drills", &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
}

#[tokio::test]
async fn ga_is_blocked_with_one_reason_per_unmet_condition() {
    let ctx = TestContext::start().await;
    let verdict = ga(&ctx).await;
    assert_eq!(verdict["ready"], false);
    assert_eq!(
        verdict["blocked_reasons"],
        json!([
            "staging_mode_enabled",
            "runbooks_signed_off",
            "failure_drills_passed"
        ])
    );
    let checks = verdict["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "staging_mode_enabled",
            "slo_within_budget",
            "runbooks_signed_off",
            "failure_drills_passed",
            "evidence_verification_failures_zero",
            "restore_drills_passed"
        ]
    );
    assert_eq!(checks[1]["observed"], "within_budget");
    assert_eq!(checks[3]["observed"]["crash_resume"], "pending");
    assert_eq!(checks[4]["observed"], 0);

    set_everything(&ctx).await;
    let open = ga(&ctx).await;
    assert_eq!(open["ready"], true, "{open}");
    assert_eq!(open["blocked_reasons"], json!([]));
    assert!(open["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));
}

#[tokio::test]
async fn turning_any_condition_back_blocks_again() {
    let ctx = TestContext::start().await;
    set_everything(&ctx).await;
    assert_eq!(ga(&ctx).await["ready"], true);

    let undo_redo: [(&str, Value, Value, &str); 3] = [
        (
            "/v1/admin/ops/staging-mode",
            json!({"enabled": false, "actor": "a"}),
            json!({"enabled": true, "actor": "a"}),
            "staging_mode_enabled",
        ),
        (
            "/v1/admin/ops/runbooks-signoff",
            json!({"signed_off": false, "actor": "a"}),
            json!({"signed_off": true, "actor": "a"}),
            "runbooks_signed_off",
        ),
        (
            "/v1/admin/ops/failure-drills",
            json!({"drill_id": "sidecar_lag", "status": "fail", "actor": "a"}),
            json!({"drill_id": "sidecar_lag", "status": "pass", "actor": "a"}),
            "failure_drills_passed",
        ),
    ];
    for (path, undo, redo, reason) in undo_redo {
        ctx.post(path, &undo).await;
        let blocked = ga(&ctx).await;
        assert_eq!(blocked["ready"], false, "{reason}");
        assert_eq!(blocked["blocked_reasons"], json!([reason]));
        ctx.post(path, &redo).await;
        assert_eq!(ga(&ctx).await["ready"], true, "{reason} restored");
    }

    let pending = json!({"drill_id": "auth_outage", "status": "pending", "actor": "a"});
    ctx.post("/v1/admin/ops/failure-drills", &pending).await;
    let blocked = ga(&ctx).await;
    assert_eq!(blocked["blocked_reasons"], json!(["failure_drills_passed"]));
    assert_eq!(blocked["checks"][3]["observed"]["auth_outage"], "pending");
    assert_eq!(blocked["checks"][3]["observed"]["crash_resume"], "pass");
    let pass = json!({"drill_id": "auth_outage", "status": "pass", "actor": "a"});
    ctx.post("/v1/admin/ops/failure-drills", &pass).await;

    // An unknown source breaches the SLO, which blocks GA.
    record(&ctx, 0, "a1").await;
    let blocked = ga(&ctx).await;
    assert_eq!(blocked["blocked_reasons"], json!(["slo_within_budget"]));
    assert_eq!(blocked["checks"][1]["observed"], "breached");
    watermark(&ctx, 0, &ago(1)).await;
    // Fresh again; but the tenant now has a backup and no restore drill.
    let blocked = ga(&ctx).await;
    assert_eq!(blocked["blocked_reasons"], json!(["restore_drills_passed"]));
    assert_eq!(blocked["checks"][5]["observed"]["acme"]["outcome"], "none");
}

#[tokio::test]
async fn the_figures_are_on_metrics() {
    let ctx = TestContext::start().await;
    slo(&ctx).await;
    ga(&ctx).await;
    let reply = ctx.client.get(ctx.url("/metrics")).send().await.unwrap();
    let text = reply.text().await.unwrap();
    for series in [
        "rrs_slo_status",
        "rrs_slo_check_passed{check=\"stale_source_count\"}",
        "rrs_slo_check_target{check=\"execute_success_rate\"}",
        "rrs_slo_check_observed{check=\"execute_success_rate\",severity=\"critical\"}",
        "rrs_slo_error_budget_burn_rate{window=\"long\"}",
        "rrs_slo_fast_burn",
        "rrs_ga_ready",
        "rrs_ga_check_passed{check=\"failure_drills_passed\"}",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
}
