//! Restore drills on two replicas of one PostgreSQL database, as real
//! processes with their schedulers on (every second, a drill every
//! second): each slot runs once, and a replica killed in the middle of a
//! drill's restore leaves a run the other replica takes over (the dead
//! one's job cancelled, the sandbox put back from its journal, the drill
//! re-run under the same run), never a half-done sandbox.
//!
//! This test waits on real processes, so it polls with a deadline.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use rrs_tests::faults::count;
use rrs_tests::fixtures::Version;
use rrs_tests::process::ServerProcess;
use rrs_tests::TestContext;
use serde_json::{json, Value};

const SERVER: &str = env!("CARGO_BIN_EXE_rrs-e2e-server");
/// Enough rows that a drill's restore takes several chunks.
const ROWS: usize = 5000;

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn table_of(ctx: &TestContext, instance: &str) {
    let path = format!("/v1/targets/acme/{instance}/tables/incident");
    let body = json!({"columns": [{"name": "short_description", "type": "string"}],
        "write_allowed": true});
    let reply = ctx
        .send(Method::PUT, &path, Some(&ctx.admin_token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

/// prod's backup of `ROWS` records; the sandbox holds one record of its own.
async fn world(ctx: &TestContext) {
    let when = ago(10);
    let ids: Vec<String> = (0..ROWS).map(|i| format!("r{i:05}")).collect();
    for (n, batch) in ids.chunks(1000).enumerate() {
        let versions: Vec<Version<'_>> = batch
            .iter()
            .map(|id| Version::upsert("incident", id, &when, json!({"short_description": id})))
            .collect();
        ctx.ingest((n * 1000) as i64, &versions).await;
    }
    ctx.watermark("incident", &ago(0)).await;
    table_of(ctx, "prod").await;
    table_of(ctx, "sandbox").await;
    let path = "/v1/targets/acme/sandbox/tables/incident/records/x";
    let body = json!({"payload": {"short_description": "only in the sandbox"}});
    let reply = ctx
        .send(Method::PUT, path, Some(&ctx.admin_token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn replica(ctx: &TestContext, name: &str) -> ServerProcess {
    let data_dir = ctx.data_path(name);
    std::fs::create_dir_all(&data_dir).unwrap();
    let env = [
        ("RRS_DRILLS__TICK_SECONDS", "1"),
        ("RRS_DRILLS__LEASE_SECONDS", "3"),
    ];
    ServerProcess::start_with(SERVER, &ctx.database.url, &data_dir, &ctx.admin_token, &env).await
}

/// Polls `probe` until it answers, for at most a minute.
async fn until<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The run now restoring into the sandbox: `running`, with a job that
/// has already journaled (and so written) rows.
async fn run_mid_restore(ctx: &TestContext) -> Option<(String, String)> {
    let runs = ctx.get("/v1/admin/drills/runs?limit=1000").await;
    for run in runs.body["items"].as_array()? {
        let (Some(run_id), Some(job_id)) = (run["run_id"].as_str(), run["job_id"].as_str()) else {
            continue;
        };
        if run["outcome"] != "running" {
            continue;
        }
        let sql = format!("SELECT COUNT(*) FROM rollback_journal WHERE job_id = '{job_id}'");
        if count(&ctx.database, &sql).await > 0 {
            return Some((run_id.to_owned(), job_id.to_owned()));
        }
    }
    None
}

async fn run_of(ctx: &TestContext, run_id: &str) -> Value {
    let runs = ctx
        .all_pages("/v1/admin/drills/runs?limit=1000", "items")
        .await;
    runs.into_iter().find(|r| r["run_id"] == run_id).unwrap()
}

#[tokio::test]
#[ignore = "PostgreSQL only (RRS_TEST_DATABASE_URL, run with --include-ignored): replicas share one database"]
async fn a_drill_of_a_killed_replica_is_re_run_by_the_other_and_each_slot_runs_once() {
    let ctx = TestContext::start_with("[drills]\ntick_seconds = 0\n").await;
    world(&ctx).await;
    let body = json!({"source": {"tenant_id": "acme", "instance_id": "prod"},
        "sandbox": {"tenant_id": "acme", "instance_id": "sandbox"},
        "cron": "* * * * * *", "tables": ["incident"]});
    let created = ctx.post("/v1/admin/drills/schedules", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let schedule_id = created.body["schedule_id"].as_str().unwrap().to_owned();

    let mut a = replica(&ctx, "replica-a").await;
    let (run_id, job_id) = until("a drill mid-restore", || run_mid_restore(&ctx)).await;
    let mut b = replica(&ctx, "replica-b").await;
    a.kill();

    let taken_over = until("the other replica to finish the drill", || async {
        let run = run_of(&ctx, &run_id).await;
        (run["outcome"] != "running").then_some(run)
    })
    .await;
    assert_eq!(taken_over["outcome"], "passed", "{taken_over:#}");
    assert!(
        taken_over["message"]
            .as_str()
            .unwrap_or_default()
            .contains("re-run after taking over"),
        "{taken_over:#}"
    );
    assert_eq!(taken_over["rows_verified"], ROWS as i64);
    assert_eq!(taken_over["sandbox_cleaned"], true);
    assert_ne!(taken_over["job_id"], json!(job_id));
    // The killed replica's job is ended: cancelled by the take-over, or
    // completed when its last chunk committed before the kill landed (the
    // drill's verification and clean-up were still left to do). Either
    // way it is not left running, and the drill was re-run under a job of
    // its own.
    let dead_job = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    let status = dead_job.body["status"].as_str().unwrap_or_default();
    assert!(
        ["cancelled", "completed"].contains(&status),
        "{:?}",
        dead_job.body
    );

    // Let B run a drill or two more, then stop the schedule and wait for
    // every run to end.
    until("a later drill by the other replica", || async {
        let runs = ctx
            .all_pages("/v1/admin/drills/runs?limit=1000", "items")
            .await;
        runs.iter()
            .any(|r| r["run_id"] != json!(run_id) && r["outcome"] == "passed")
            .then_some(())
    })
    .await;
    let deleted = ctx
        .send(
            Method::DELETE,
            &format!("/v1/admin/drills/schedules/{schedule_id}"),
            Some(&ctx.admin_token),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let runs = until("every run to end", || async {
        let runs = ctx
            .all_pages("/v1/admin/drills/runs?limit=1000", "items")
            .await;
        runs.iter()
            .all(|r| r["outcome"] != "running")
            .then_some(runs)
    })
    .await;
    b.kill();

    let mut slots: Vec<&str> = runs
        .iter()
        .map(|r| r["slot_at"].as_str().unwrap())
        .collect();
    let total = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), total, "a slot ran twice: {runs:#?}");
    for run in &runs {
        assert_eq!(run["outcome"], "passed", "{run:#}");
        assert_eq!(run["sandbox_cleaned"], true);
    }
    // The sandbox is as before any drill: its own record, nothing else.
    let sandbox_rows = count(
        &ctx.database,
        "SELECT COUNT(*) FROM target_records WHERE tenant_id = 'acme' AND instance_id = 'sandbox'",
    )
    .await;
    assert_eq!(sandbox_rows, 1);
    let x = ctx
        .get("/v1/targets/acme/sandbox/tables/incident/records/x")
        .await;
    assert_eq!(
        x.body["payload"],
        json!({"short_description": "only in the sandbox"})
    );
    let prod_rows = count(
        &ctx.database,
        "SELECT COUNT(*) FROM target_records WHERE tenant_id = 'acme' AND instance_id = 'prod'",
    )
    .await;
    assert_eq!(prod_rows, 0);
}
