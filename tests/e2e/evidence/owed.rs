//! The automatic package a job is owed once execution ends it: the debt
//! commits with the terminal transition (or neither does), any replica
//! pays it, and exactly one automatic package results.

use reqwest::StatusCode;
use rrs_tests::faults::InjectedFault;
use rrs_tests::process::ServerProcess;
use rrs_tests::TestContext;
use serde_json::{json, Value};

use super::support::*;

async fn executed_job(ctx: &TestContext) -> (String, rrs_tests::Reply) {
    let table = format!(
        "incident_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let plan = ctx.executable_plan(&[table.as_str()], 3, json!({})).await;
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let job = ctx.post("/v1/jobs", &body).await;
    assert_eq!(job.status, StatusCode::CREATED, "{:?}", job.body);
    let job_id = id(&job.body);
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    (job_id, done)
}

async fn automatic(ctx: &TestContext, job_id: &str) -> i64 {
    count(ctx, &format!("SELECT COUNT(*) FROM evidence_packages WHERE job_id = '{job_id}' AND origin = 'automatic'")).await
}

async fn owed(ctx: &TestContext, job_id: &str) -> i64 {
    count(
        ctx,
        &format!("SELECT COUNT(*) FROM evidence_obligations WHERE job_id = '{job_id}'"),
    )
    .await
}

/// Polls until `job_id` has its automatic package, failing after 60 s.
async fn wait_for_package(ctx: &TestContext, job_id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let reply = read(ctx, job_id, None).await;
        if reply.status == StatusCode::OK {
            return reply.body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no evidence package for {job_id} after 60 s: {:?}",
            reply.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_debt_commits_with_the_terminal_transition_or_neither_does() {
    let ctx = TestContext::start_with("[execution]\nlease_seconds = 1\n").await;
    let fault = InjectedFault::refuse_inserts(
        &ctx.database,
        "rrs_test_no_obligation",
        "evidence_obligations",
        "NEW.job_id IS NOT NULL",
    )
    .await;
    let (job_id, failed) = executed_job(&ctx).await;
    assert!(failed.status.is_server_error(), "{:?}", failed.body);
    // The job did not end without its debt: it is still running, with no
    // terminal event.
    let job = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(job.body["status"], "running", "{:?}", job.body);
    let terminal = count(&ctx, &format!("SELECT COUNT(*) FROM job_events e JOIN jobs j ON j.job_seq = e.job_seq WHERE j.job_id = '{job_id}' AND e.terminal")).await;
    assert_eq!(terminal, 0);
    fault.remove(&ctx.database).await;

    // Resumed once the failed call's lease expired, it ends with its debt
    // and the debt is paid.
    let cp = ctx.get(&format!("/v1/jobs/{job_id}/checkpoint")).await;
    let body = json!({"expected_plan_checksum": cp.body["plan_checksum"],
        "expected_precondition_checksum": cp.body["precondition_checksum"]});
    let mut resumed = ctx.post(&format!("/v1/jobs/{job_id}/resume"), &body).await;
    for _ in 0..50 {
        if resumed.reason() != "execution_in_progress" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        resumed = ctx.post(&format!("/v1/jobs/{job_id}/resume"), &body).await;
    }
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    let package = wait_for_package(&ctx, &job_id).await;
    assert_eq!(package["evidence"]["origin"], "automatic");
    assert_eq!(
        (automatic(&ctx, &job_id).await, owed(&ctx, &job_id).await),
        (1, 0)
    );
}

#[tokio::test]
async fn an_operator_completion_owes_no_package() {
    let ctx = TestContext::start().await;
    let job_id = id(&terminal_job(&ctx).await);
    assert_eq!(owed(&ctx, &job_id).await, 0);
    let reply = read(&ctx, &job_id, None).await;
    assert_eq!(
        (reply.status, reply.reason()),
        (StatusCode::NOT_FOUND, "evidence_not_found")
    );
    assert_eq!(
        reply.body["message"],
        format!("job {job_id} has no evidence package")
    );
}

#[tokio::test]
async fn replicas_sweeping_the_same_debts_make_one_package_each() {
    let ctx = TestContext::start_with(
        "[evidence]\ngeneration_sweep_seconds = 1\ngeneration_claim_seconds = 1\n",
    )
    .await;
    // The first payments fail, so the debts stay for the sweeps.
    let fault = InjectedFault::refuse_inserts(
        &ctx.database,
        "rrs_test_no_package",
        "evidence_packages",
        "NEW.origin = 'automatic'",
    )
    .await;
    let mut jobs = Vec::new();
    for _ in 0..4 {
        let (job_id, done) = executed_job(&ctx).await;
        assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
        jobs.push(job_id);
    }
    let pending = read(&ctx, &jobs[0], None).await;
    assert_eq!(pending.reason(), "evidence_not_found");
    assert!(
        pending.body["message"]
            .as_str()
            .unwrap()
            .contains("being generated"),
        "{:?}",
        pending.body
    );
    let binary = env!("CARGO_BIN_EXE_rrs-e2e-server");
    let env = [
        ("RRS_EVIDENCE__GENERATION_SWEEP_SECONDS", "1"),
        ("RRS_EVIDENCE__GENERATION_CLAIM_SECONDS", "1"),
    ];
    let mut replicas = Vec::new();
    for name in ["replica-a", "replica-b"] {
        let data = ctx.data_path(name);
        std::fs::create_dir_all(&data).unwrap();
        let url = &ctx.database.url;
        replicas.push(ServerProcess::start_with(binary, url, &data, &ctx.admin_token, &env).await);
    }
    fault.remove(&ctx.database).await;
    for job_id in &jobs {
        wait_for_package(&ctx, job_id).await;
    }
    // A few more sweeps on three replicas add nothing.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    for job_id in &jobs {
        assert_eq!(
            (automatic(&ctx, job_id).await, owed(&ctx, job_id).await),
            (1, 0),
            "{job_id}"
        );
    }
    for mut replica in replicas {
        replica.kill();
    }
}
