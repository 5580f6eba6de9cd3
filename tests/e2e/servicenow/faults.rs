//! An instance that misbehaves while a restore writes: `429` bursts, a
//! connection dropped before and after a write took effect, a `500` on a
//! write, a credential revoked mid-chunk, a record the ACL refuses.

use std::time::Duration;

use reqwest::StatusCode;
use rrs_fake_servicenow::{AclRule, Burst, FaultSpec};
use rrs_tests::servicenow::{SnInstance, SERVICE_USER};
use serde_json::{json, Value};

use super::support::{
    damaged, damaged_incidents, execute, job, journal, outcome_of, outcomes, plan, restored,
    resume, world,
};

/// Every record holds the backup's version, written by exactly one write
/// that took effect.
fn all_restored_once(sn: &SnInstance, ids: &[String]) {
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(sn.content("incident", id), Some(restored(n)), "record {n}");
        assert_eq!(
            sn.applied_writes_to(id).len(),
            1,
            "record {n}: {:?}",
            sn.applied_writes_to(id)
        );
    }
}

#[tokio::test]
async fn rate_limits_dropped_connections_and_a_500_still_account_for_every_row() {
    let (sn, ctx) = world("retries = 8\nconcurrency = 4").await;
    let ids = damaged_incidents(&sn, &ctx, 40).await;
    let plan = plan(&ctx, json!({"chunk_size": 10})).await;
    let job_id = job(&ctx, &plan).await;
    let handle = &sn.fake.handle;
    handle.burst_429(Burst {
        count: 6,
        retry_after_secs: 1,
    });
    handle.add_fault(FaultSpec::drop_before_apply(3));
    handle.add_fault(FaultSpec::drop_after_apply(9));
    handle.add_fault(FaultSpec::status(17, 500));
    let done = execute(&ctx, &job_id, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed");
    assert!(handle.pending_faults().is_empty(), "every fault was hit");
    let log = handle.requests();
    let injected = |kind: &str| {
        log.iter()
            .filter(|r| r.injected.as_deref() == Some(kind))
            .count()
    };
    assert_eq!(injected("rate_limited"), 6);
    assert_eq!(injected("drop_before_apply"), 1);
    assert_eq!(injected("drop_after_apply"), 1);
    assert_eq!(injected("fault_status"), 1);
    let rows = outcomes(&ctx, &job_id).await;
    assert_eq!(rows.len(), 40);
    assert!(
        rows.iter().all(|o| o["outcome"] == "applied"),
        "{:?}",
        rows.iter()
            .filter(|o| o["outcome"] != "applied")
            .collect::<Vec<_>>()
    );
    all_restored_once(&sn, &ids);
    assert_eq!(journal(&ctx, &job_id).await.len(), 40);
}

#[tokio::test]
async fn a_revoked_credential_pauses_with_nothing_half_written() {
    let (sn, mut ctx) = world("concurrency = 2").await;
    let ids = damaged_incidents(&sn, &ctx, 30).await;
    let plan = plan(&ctx, json!({"chunk_size": 10})).await;
    let job_id = job(&ctx, &plan).await;
    sn.fake.handle.set_latency(Duration::from_millis(25));
    let running = {
        let (url, token) = (
            ctx.url(&format!("/v1/jobs/{job_id}/execution")),
            ctx.admin_token.clone(),
        );
        tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            rrs_tests::TestContext::reply(response).await
        })
    };
    for _ in 0..1000 {
        if sn.fake.handle.writes_seen() >= 14 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        sn.fake.handle.writes_seen() >= 14,
        "the instance saw {} writes in 5 s, not 14",
        sn.fake.handle.writes_seen()
    );
    assert!(sn.fake.handle.revoke_user(SERVICE_USER));
    let paused = running.await.unwrap();
    assert_eq!(paused.status, StatusCode::ACCEPTED, "{:?}", paused.body);
    assert_eq!(paused.body["state"], "paused");
    assert_eq!(
        paused.body["status_reason_code"],
        "paused_target_unauthorized"
    );
    let rows = outcomes(&ctx, &job_id).await;
    assert!(rows.iter().all(|o| o["outcome"] == "applied"), "{rows:?}");
    assert!(
        (10..30).contains(&rows.len()),
        "paused mid-run: {}",
        rows.len()
    );
    // Each record holds its before- or its after-image, and every applied
    // outcome is in the instance.
    for (n, id) in ids.iter().enumerate() {
        let now = sn.content("incident", id);
        assert!(
            now == Some(restored(n)) || now == Some(damaged(n)),
            "record {n}: {now:?}"
        );
    }
    for o in &rows {
        let n = ids.iter().position(|id| *id == o["sys_id"]).unwrap();
        assert_eq!(sn.content("incident", &ids[n]), Some(restored(n)));
    }
    let job = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(job.body["status"], "running");
    assert_eq!(job.body["execution_state"], "paused");

    // The operator rotates the credential and resumes.
    ctx.set_extra_config(&sn.rotated_target_toml("concurrency = 2"));
    ctx.restart().await;
    sn.fake.handle.set_latency(Duration::ZERO);
    let done = resume(&ctx, &job_id, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed");
    all_restored_once(&sn, &ids);
    let journal = journal(&ctx, &job_id).await;
    assert_eq!(journal.len(), 30);
    for entry in &journal {
        let n = ids.iter().position(|id| *id == entry["sys_id"]).unwrap();
        assert_eq!(entry["before_image"], damaged(n), "record {n}");
    }
}

#[tokio::test]
async fn a_record_the_acl_refuses_gets_its_own_outcome_and_the_chunk_goes_on() {
    let (sn, ctx) = world("").await;
    let ids = damaged_incidents(&sn, &ctx, 6).await;
    let plan = plan(&ctx, json!({"chunk_size": 3})).await;
    let job_id = job(&ctx, &plan).await;
    sn.fake.handle.set_acl(vec![AclRule {
        table: "incident".to_owned(),
        sys_ids: vec![ids[1].clone()],
        deny_read: false,
        deny_write: true,
    }]);
    let done = execute(&ctx, &job_id, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let rows = outcomes(&ctx, &job_id).await;
    let refused = outcome_of(&rows, &ids[1]);
    assert_eq!(refused["outcome"], "failed");
    assert_eq!(refused["reason_code"], "failed_target_refused");
    assert_eq!(refused["journal_id"], Value::Null);
    assert_eq!(sn.content("incident", &ids[1]), Some(damaged(1)));
    for n in [0, 2, 3, 4, 5] {
        assert_eq!(
            outcome_of(&rows, &ids[n])["outcome"],
            "applied",
            "record {n}"
        );
        assert_eq!(sn.content("incident", &ids[n]), Some(restored(n)));
    }
    assert_eq!(journal(&ctx, &job_id).await.len(), 5);
}

/// A dry-run of one backed-up incident against a service whose instance
/// URL is `url` (the fake's credentials and tables otherwise).
async fn dry_run_with_instance_at(url: &str) -> rrs_tests::Reply {
    let sn = SnInstance::start(vec![rrs_tests::servicenow::incident(&[
        "short_description",
        "state",
    ])])
    .await;
    let toml = sn.target_toml("").replace(&sn.fake.base_url, url);
    let ctx = rrs_tests::TestContext::start_with(&toml).await;
    let at = super::support::ago(30);
    let version = rrs_tests::fixtures::Version::upsert("incident", "a1", &at, restored(0));
    ctx.ingest(0, &[version]).await;
    ctx.watermark("incident", &super::support::ago(1)).await;
    ctx.dry_run(&["incident"], &super::support::ago(5), json!({}))
        .await
}

/// A target instance that cannot be reached when the service reads it
/// synchronously (the dry-run reads the instance's rows): `503
/// target_unavailable`, not a 500, and no plan.
#[tokio::test]
async fn an_unreachable_instance_is_503_target_unavailable() {
    // A port nothing listens on: the instance is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let reply = dry_run_with_instance_at(&down).await;
    assert_eq!(
        (reply.status, reply.reason()),
        (StatusCode::SERVICE_UNAVAILABLE, "target_unavailable"),
        "{:?}",
        reply.body
    );
}

/// A server on `127.0.0.1` that answers every request `200` with a body
/// that is not JSON (a proxy's login page where the instance should be).
async fn not_an_instance() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = socket.read(&mut buf).await;
                let body = "<html>please log in</html>";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    url
}

/// An instance URL that answers with something other than the Table
/// API's JSON: `503 target_protocol_error` on the synchronous read.
#[tokio::test]
async fn an_instance_answering_html_is_target_protocol_error() {
    let reply = dry_run_with_instance_at(&not_an_instance().await).await;
    assert_eq!(
        (reply.status, reply.reason()),
        (StatusCode::SERVICE_UNAVAILABLE, "target_protocol_error"),
        "{:?}",
        reply.body
    );
}
