//! A server killed (SIGKILL) in the middle of a multi-chunk execution:
//! after a restart the job resumes from its checkpoint, and the target ends
//! as a run without the crash would leave it, no row applied or journaled
//! twice.

use std::time::Duration;

use reqwest::StatusCode;
use rrs_tests::process::ServerProcess;
use rrs_tests::TestContext;
use serde_json::json;

#[tokio::test]
async fn a_killed_execution_resumes_from_its_checkpoint() {
    let ctx = TestContext::start().await;
    let rows = 1500;
    let plan = ctx
        .executable_plan(&["incident"], rows, json!({"chunk_size": 5}))
        .await;
    let total = plan["chunking"]["total_chunks"].as_i64().unwrap();
    let job = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();
    let data = ctx.data_path("replica");
    std::fs::create_dir_all(&data).unwrap();
    let mut server = ServerProcess::start_with(
        env!("CARGO_BIN_EXE_rrs-e2e-server"),
        &ctx.database.url,
        &data,
        &ctx.admin_token,
        &[("RRS_EXECUTION__LEASE_SECONDS", "1")],
    )
    .await;
    let url = server.url(&format!("/v1/jobs/{job_id}/execution"));
    let token = ctx.admin_token.clone();
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
    });
    let checkpoint = format!("/v1/jobs/{job_id}/checkpoint");
    let mut reached = 0;
    for _ in 0..600 {
        let cp = ctx.get(&checkpoint).await;
        reached = cp.body["next_chunk_index"].as_i64().unwrap_or(0);
        if reached >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reached >= 10 && reached < total,
        "killed mid-run, at chunk {reached} of {total}"
    );
    server.kill();
    assert!(
        in_flight.await.unwrap().is_err(),
        "the request died with the server"
    );
    server.restart().await;
    let cp = ctx.get(&checkpoint).await;
    let stopped_at = cp.body["next_chunk_index"].as_i64().unwrap();
    assert!(stopped_at < total);
    let body = json!({"expected_plan_checksum": cp.body["plan_checksum"],
        "expected_precondition_checksum": cp.body["precondition_checksum"]});
    // The dead holder's lease expires after a second.
    let mut resumed = server
        .post(&format!("/v1/jobs/{job_id}/resume"), &body)
        .await;
    for _ in 0..50 {
        if resumed.status != StatusCode::CONFLICT || resumed.reason() != "execution_in_progress" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        resumed = server
            .post(&format!("/v1/jobs/{job_id}/resume"), &body)
            .await;
    }
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    assert_eq!(resumed.body["checkpoint"]["next_chunk_index"], total);
    assert_eq!(
        resumed.body["resume_metadata"]["resumes"][0]["from_chunk_index"],
        stopped_at
    );
    for i in [0, stopped_at as usize * 5, rows - 1] {
        let id = format!("incident-{i:05}");
        let expected = json!({"short_description": format!("row {id}")});
        assert_eq!(
            ctx.target_payload("incident", &id).await,
            Some(expected),
            "{id}"
        );
    }
    let mut journaled = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page < 1000, "job {job_id}: journal pages never end");
        let path = match &cursor {
            Some(c) => format!("/v1/jobs/{job_id}/rollback-journal?cursor={c}"),
            None => format!("/v1/jobs/{job_id}/rollback-journal"),
        };
        let page = ctx.get(&path).await;
        for row in page.body["rollback_journal"].as_array().unwrap() {
            assert!(
                journaled.insert(row["sys_id"].as_str().unwrap().to_owned()),
                "journaled twice: {row}"
            );
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(journaled.len(), rows);
    // A chunk's event commits with the chunk: exactly one per chunk, even
    // for the chunks around the kill.
    let events = ctx.get(&format!("/v1/jobs/{job_id}/events")).await;
    let mut chunk_events: Vec<i64> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "chunk_applied" || e["event_type"] == "chunk_row_fallback")
        .map(|e| e["details"]["chunk_index"].as_i64().unwrap())
        .collect();
    chunk_events.sort_unstable();
    assert_eq!(chunk_events, (0..total).collect::<Vec<_>>());
    server.kill();
}

/// Two replicas on one database receive an execute for the same job at
/// once: exactly one applies chunks, the other answers
/// `409 execution_in_progress`.
#[tokio::test]
async fn one_job_executes_in_one_place_across_replicas() {
    let ctx = TestContext::start().await;
    let plan = ctx
        .executable_plan(&["incident"], 400, json!({"chunk_size": 5}))
        .await;
    let job = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();
    let binary = env!("CARGO_BIN_EXE_rrs-e2e-server");
    let mut a = ServerProcess::replica_of(binary, &ctx, "replica-a").await;
    let mut b = ServerProcess::replica_of(binary, &ctx, "replica-b").await;
    let path = format!("/v1/jobs/{job_id}/execution");
    let empty = json!({});
    let (ra, rb) = tokio::join!(a.post(&path, &empty), b.post(&path, &empty));
    let (winner, loser) = if ra.status == StatusCode::OK {
        (&ra, &rb)
    } else {
        (&rb, &ra)
    };
    assert_eq!(
        winner.status,
        StatusCode::OK,
        "{:?} / {:?}",
        ra.body,
        rb.body
    );
    assert_eq!(loser.status, StatusCode::CONFLICT, "{:?}", loser.body);
    assert!(
        ["execution_in_progress", "execution_already_started"].contains(&loser.reason()),
        "{:?}",
        loser.body
    );
    let outcomes = winner.body["row_outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 400);
    assert!(outcomes
        .iter()
        .all(|o| o["outcome"] == "applied" && o["row_attempt"] == 1));
    a.kill();
    b.kill();
}

/// `(automatic packages, open obligations)` of a job, read from the database.
async fn owed_state(ctx: &TestContext, job_id: &str) -> (i64, i64) {
    let packages = rrs_tests::faults::count(
        &ctx.database,
        &format!("SELECT COUNT(*) FROM evidence_packages WHERE job_id = '{job_id}' AND origin = 'automatic'"),
    )
    .await;
    let owed = rrs_tests::faults::count(
        &ctx.database,
        &format!("SELECT COUNT(*) FROM evidence_obligations WHERE job_id = '{job_id}'"),
    )
    .await;
    (packages, owed)
}

/// Killed right after the execute call answered 200, before its evidence
/// package was generated in the background: after a restart the package
/// is generated (exactly one), because the debt was written with the
/// terminal transition and the restarted service sweeps for it.
#[tokio::test]
async fn a_package_owed_when_the_server_dies_is_generated_after_the_restart() {
    let ctx = TestContext::start().await;
    let plan = ctx.executable_plan(&["incident"], 2000, json!({})).await;
    let job = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();
    let data = ctx.data_path("replica");
    std::fs::create_dir_all(&data).unwrap();
    let mut server = ServerProcess::start_with(
        env!("CARGO_BIN_EXE_rrs-e2e-server"),
        &ctx.database.url,
        &data,
        &ctx.admin_token,
        &[
            ("RRS_EVIDENCE__GENERATION_SWEEP_SECONDS", "1"),
            ("RRS_EVIDENCE__GENERATION_CLAIM_SECONDS", "2"),
        ],
    )
    .await;
    let done = server
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    server.kill();
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed");
    let (packages, owed) = owed_state(&ctx, &job_id).await;
    assert_eq!(packages + owed, 1, "the debt or its payment, never neither");

    server.restart().await;
    let path = format!("/v1/jobs/{job_id}/evidence");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let package = loop {
        let reply = server.get(&path).await;
        if reply.status == StatusCode::OK {
            break reply;
        }
        assert_eq!(reply.reason(), "evidence_not_found", "{:?}", reply.body);
        assert!(
            std::time::Instant::now() < deadline,
            "no evidence package 60 s after the restart: {:?}\n{}",
            reply.body,
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(package.body["evidence"]["origin"], "automatic");
    assert_eq!(
        package.body["verification"]["signature_verification"],
        "verified"
    );
    // Sweeps go on; none adds a second package.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(owed_state(&ctx, &job_id).await, (1, 0));
    let events = ctx.get(&format!("/v1/jobs/{job_id}/events")).await;
    let exported = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "evidence_exported")
        .count();
    assert_eq!(exported, 1, "{:?}", events.body);
    server.kill();
}
