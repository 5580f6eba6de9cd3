//! The service killed (`SIGKILL`) while a multi-chunk restore is writing
//! to the instance: after a restart and a resume the instance holds what a
//! run without the crash leaves, and its request log shows every record
//! written exactly once, none twice with different content, none lost.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use rrs_tests::process::ServerProcess;
use serde_json::json;

use super::support::{damaged_incidents, job, journal, plan, restored, world};

#[tokio::test]
async fn a_service_killed_mid_chunk_resumes_without_writing_anything_twice() {
    let extra = "concurrency = 4";
    let (sn, ctx) = world(extra).await;
    let rows = 300;
    let ids = damaged_incidents(&sn, &ctx, rows).await;
    let plan = plan(&ctx, json!({"chunk_size": 10})).await;
    let total = plan["chunking"]["total_chunks"].as_i64().unwrap();
    let job_id = job(&ctx, &plan).await;

    let data = ctx.data_path("replica");
    std::fs::create_dir_all(&data).unwrap();
    let config = data.join("rrs.toml");
    std::fs::write(&config, sn.target_toml(extra)).unwrap();
    let mut server = ServerProcess::start_configured(
        env!("CARGO_BIN_EXE_rrs-e2e-server"),
        &ctx.database.url,
        &data,
        &ctx.admin_token,
        &[("RRS_EXECUTION__LEASE_SECONDS", "1")],
        Some(&config),
    )
    .await;
    // Slow enough that the kill lands while writes are in flight.
    sn.fake.handle.set_latency(Duration::from_millis(15));
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
    for _ in 0..1500 {
        reached = ctx.get(&checkpoint).await.body["next_chunk_index"]
            .as_i64()
            .unwrap_or(0);
        if reached >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Kill the moment a new write reaches the instance: with 15 ms per
    // request it is still in flight, and so is the chunk it belongs to.
    let writes_before = sn.fake.handle.writes_seen();
    for _ in 0..5000 {
        if sn.fake.handle.writes_seen() > writes_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill();
    assert!(
        reached >= 5 && reached < total,
        "killed mid-run, at chunk {reached} of {total}"
    );
    assert!(
        sn.fake.handle.writes_seen() > writes_before,
        "the kill came while writes were going on"
    );
    assert!(
        in_flight.await.unwrap().is_err(),
        "the request died with the server"
    );
    sn.fake.handle.set_latency(Duration::ZERO);

    server.restart().await;
    let cp = ctx.get(&checkpoint).await;
    let body = json!({"expected_plan_checksum": cp.body["plan_checksum"],
        "expected_precondition_checksum": cp.body["precondition_checksum"]});
    let resume = format!("/v1/jobs/{job_id}/resume");
    let mut resumed = server.post(&resume, &body).await;
    for _ in 0..50 {
        if resumed.status != StatusCode::CONFLICT || resumed.reason() != "execution_in_progress" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        resumed = server.post(&resume, &body).await;
    }
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    assert_eq!(resumed.body["state"], "completed");

    for (n, id) in ids.iter().enumerate() {
        assert_eq!(sn.content("incident", id), Some(restored(n)), "record {n}");
    }
    let mut written: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for w in sn.service_writes() {
        let took_effect = w.injected.is_none() && w.status.is_some_and(|s| s < 300);
        if let (true, Some(id)) = (took_effect, w.sys_id) {
            written.entry(id).or_default().push(w.record_sha256);
        }
    }
    assert_eq!(written.len(), rows, "no record lost");
    for (id, contents) in &written {
        assert_eq!(contents.len(), 1, "{id} written {} times", contents.len());
    }
    let journal = journal(&ctx, &job_id).await;
    assert_eq!(journal.len(), rows, "one journal row per record");
}
