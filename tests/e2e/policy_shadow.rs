//! Shadow evaluation over HTTP: a candidate named beside the live gate
//! decides every dry-run after the live gate, is never enforced, and its
//! disagreements are recorded and counted; a looping candidate changes
//! nothing the caller sees.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The default policy file with `candidate` as the gate's shadow.
fn with_gate_shadow(candidate: &Path) -> String {
    let digest = hex::encode(Sha256::digest(std::fs::read(candidate).unwrap()));
    let default = rrs::policy::DEFAULT_POLICIES_TOML;
    let at = default.find("[gate.settings]").unwrap();
    format!(
        "{}shadow = {{ plugin = {:?}, sha256 = {:?} }}\n\n{}",
        &default[..at],
        candidate.display().to_string(),
        digest,
        &default[at..]
    )
}

async fn start_with_shadow(fixture: &str, dir: &Path) -> TestContext {
    let path = dir.join("policies.toml");
    std::fs::write(&path, with_gate_shadow(&rrs_policy_fixtures::path(fixture))).unwrap();
    TestContext::start_with(&format!(
        "[policies]\npath = {:?}\n",
        path.display().to_string()
    ))
    .await
}

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A fresh table with one record: the default gate finds it executable.
async fn fresh_table(ctx: &TestContext, offset: i64, table: &str) {
    ctx.ingest(
        offset,
        &[Version::upsert(table, "r1", &ago(30), json!({"v": 1}))],
    )
    .await;
    ctx.watermark(table, &ago(1)).await;
}

/// Polls `GET /v1/policies/shadow` until the gate has `count` disagreements.
async fn until_gate_disagreements(ctx: &TestContext, count: i64) -> Value {
    let started = Instant::now();
    loop {
        let shadow = ctx.get("/v1/policies/shadow").await;
        assert_eq!(shadow.status, StatusCode::OK, "{:?}", shadow.body);
        if shadow.body["kinds"][0]["disagreements"] == count {
            return shadow.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the gate's shadow did not reach {count} disagreements: {}",
            shadow.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_shadow_gate_that_disagrees_is_recorded_and_never_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = start_with_shadow("strict-gate", dir.path()).await;
    let listed = ctx.get("/v1/policies").await.body;
    assert_eq!(listed["shadows"][0]["kind"], "gate");
    assert_eq!(listed["shadows"][0]["name"], "fixture-strict-gate");

    fresh_table(&ctx, 0, "incident").await;
    fresh_table(&ctx, 100, "restricted_cases").await;
    // The candidate agrees on this one...
    let agreed = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(agreed.body["gate"]["executability"], "executable");
    // ...and would make this one preview-only: the live gate's verdict stands.
    let plan = ctx.dry_run(&["restricted_cases"], &ago(5), json!({})).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(plan.body["gate"]["executability"], "executable");
    assert_eq!(plan.body["gate"]["policy"]["name"], "rrs-default-gate");

    let shadow = until_gate_disagreements(&ctx, 1).await;
    assert_eq!(
        shadow["kinds"][0]["candidate"]["name"],
        "fixture-strict-gate"
    );
    assert_eq!(shadow["kinds"][1]["disagreements"], 0);
    let recent = shadow["recent"].as_array().unwrap();
    assert_eq!(
        recent.len(),
        1,
        "only the restricted plan disagrees: {recent:?}"
    );
    let d = &recent[0];
    assert_eq!(d["decision_id"], plan.body["gate"]["decision_id"]);
    assert_eq!(d["live"]["outcome"], "executable");
    assert_eq!(d["candidate"]["outcome"], "preview_only");
    assert_eq!(
        d["candidate"]["output"]["reasons"],
        json!(["blocked_freshness_stale"])
    );
    // The metric counts it.
    let raw = ctx
        .client
        .get(ctx.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        raw.contains("rrs_policy_shadow_disagreements_total{kind=\"gate\"}"),
        "no shadow metric in /metrics"
    );

    let bad = ctx.get("/v1/policies/shadow?recent=101").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.reason(), "invalid_request");
    let planner = ctx.token("planner", &["restore_plan"], &["*"]).await;
    let denied = ctx
        .send(Method::GET, "/v1/policies/shadow", Some(&planner), None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.reason(), "blocked_missing_capability");
    let other = ctx.token("globex", &["restore_read"], &["globex"]).await;
    let scoped = ctx
        .send(Method::GET, "/v1/policies/shadow", Some(&other), None)
        .await;
    assert_eq!(scoped.body["kinds"][0]["disagreements"], 0);
    assert_eq!(scoped.body["recent"], json!([]));
}

#[tokio::test]
async fn a_looping_shadow_gate_changes_nothing_the_caller_sees() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = start_with_shadow("loop", dir.path()).await;
    fresh_table(&ctx, 0, "incident").await;
    let started = Instant::now();
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    let took = started.elapsed();
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(plan.body["gate"]["executability"], "executable");
    assert!(plan.body["gate"]["policy_error"].is_null());
    // The candidate times out on its own deadline, later, and is recorded
    // as a disagreement (a failure would have denied).
    let shadow = until_gate_disagreements(&ctx, 1).await;
    let d = &shadow["recent"][0];
    assert_eq!(d["candidate"]["outcome"], "policy_error");
    assert_eq!(d["candidate"]["output"]["policy_error"], "policy_timeout");
    // Latency is measured by the policy_decisions bench, not asserted here;
    // the dry-run did not wait for the candidate's ~200 ms deadline run.
    eprintln!("dry-run with a looping shadow took {took:?}");
}
