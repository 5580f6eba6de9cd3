//! The tenant entitlement switch refuses new restore work for the tenant
//! while disabled (`403 blocked_entitlement_disabled`) and lets it through
//! again once re-enabled.

use reqwest::{Method, StatusCode};
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

async fn entitlement(ctx: &TestContext, tenant: &str, enabled: bool) -> Reply {
    let body = json!({"restore_enabled": enabled, "actor": "ops-lead"});
    let path = format!("/v1/admin/tenants/{tenant}/entitlement");
    let reply = ctx
        .send(Method::PUT, &path, Some(&ctx.admin_token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply
}

#[tokio::test]
async fn a_disabled_tenant_cannot_dry_run_until_re_enabled() {
    let ctx = TestContext::start().await;
    let plan = ctx.executable_plan(&["incident"], 3, json!({})).await;
    let pit = plan["pit"].as_str().unwrap().to_owned();

    entitlement(&ctx, "acme", false).await;
    let refused = ctx
        .dry_run(&["incident"], &pit, json!({"plan_id": "after-disable"}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.reason(), "blocked_entitlement_disabled");
    assert_eq!(refused.body["details"]["tenant_id"], "acme");
    let missing = ctx.get("/v1/plans/after-disable").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "nothing was planned");

    entitlement(&ctx, "acme", true).await;
    let again = ctx
        .dry_run(&["incident"], &pit, json!({"plan_id": "after-disable"}))
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    assert_eq!(again.body["gate"]["executability"], "executable");
}

#[tokio::test]
async fn disabling_another_tenant_changes_nothing_for_this_one() {
    let ctx = TestContext::start().await;
    entitlement(&ctx, "globex", false).await;
    let plan: Value = ctx.executable_plan(&["incident"], 2, json!({})).await;
    assert_eq!(plan["tenant_id"], "acme");
}

/// Every item of a paged list embedded under `key`, following `next_cursor`.
async fn all_pages(ctx: &TestContext, path: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page_path = match &cursor {
            Some(c) => format!("{path}?limit=1000&cursor={c}"),
            None => format!("{path}?limit=1000"),
        };
        let page = ctx.get(&page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        items.extend(page.body[key].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("{path}: still a next_cursor after {MAX_PAGES} pages");
}

/// More pages than any test lists: a cursor that never ends is a bug.
const MAX_PAGES: usize = 1000;

async fn checkpoint(ctx: &TestContext, job_id: &str) -> Option<Value> {
    let reply = ctx.get(&format!("/v1/jobs/{job_id}/checkpoint")).await;
    (reply.status == StatusCode::OK).then_some(reply.body)
}

#[tokio::test]
async fn disabling_mid_execution_pauses_at_a_chunk_boundary_and_resume_completes() {
    const ROWS: usize = 600;
    let ctx = TestContext::start().await;
    let plan = ctx
        .executable_plan(&["incident"], ROWS, json!({"chunk_size": 1}))
        .await;
    assert_eq!(plan["chunking"]["total_chunks"], ROWS);
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let job = ctx.post("/v1/jobs", &body).await;
    assert_eq!(job.status, StatusCode::CREATED, "{:?}", job.body);
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();

    // The execution runs in the background; once a chunk is committed the
    // entitlement is switched off under it.
    let request = ctx
        .client
        .post(ctx.url(&format!("/v1/jobs/{job_id}/execution")))
        .bearer_auth(&ctx.admin_token)
        .json(&json!({}));
    let running =
        tokio::spawn(async move { TestContext::reply(request.send().await.unwrap()).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while checkpoint(&ctx, &job_id)
        .await
        .is_none_or(|cp| cp["next_chunk_index"] == 0)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "job {job_id}: no chunk committed within 30 s"
        );
        tokio::task::yield_now().await;
    }
    entitlement(&ctx, "acme", false).await;
    let paused = running.await.unwrap();
    assert_eq!(paused.status, StatusCode::ACCEPTED, "{:?}", paused.body);
    assert_eq!(paused.body["state"], "paused");
    let job = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(job.body["status"], "running");
    assert_eq!(
        job.body["status_reason_code"],
        "paused_entitlement_disabled"
    );
    let at_pause = checkpoint(&ctx, &job_id).await.unwrap();
    let next = at_pause["next_chunk_index"].as_u64().unwrap();
    assert!(next > 0 && next < ROWS as u64, "paused at chunk {next}");
    let events = all_pages(&ctx, &format!("/v1/jobs/{job_id}/events"), "events").await;
    let applied = events
        .iter()
        .filter(|e| e["event_type"] == "chunk_applied")
        .count();
    assert_eq!(
        applied as u64, next,
        "the checkpoint is at a chunk boundary"
    );
    let pause = events.last().unwrap();
    assert_eq!(pause["event_type"], "execution_paused");
    assert_eq!(pause["reason_code"], "paused_entitlement_disabled");

    // While disabled: no new dry-run, job or resume for the tenant.
    let pit = plan["pit"].as_str().unwrap();
    let dry_run = ctx.dry_run(&["incident"], pit, json!({})).await;
    assert_eq!(dry_run.status, StatusCode::FORBIDDEN);
    assert_eq!(dry_run.reason(), "blocked_entitlement_disabled");
    let new_job = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let refused = ctx.post("/v1/jobs", &new_job).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.reason(), "blocked_entitlement_disabled");
    let jobs = ctx.get("/v1/jobs?tenant_id=acme").await;
    assert_eq!(
        jobs.body["items"].as_array().unwrap().len(),
        1,
        "no job was made"
    );
    let resume_body = json!({"expected_plan_checksum": at_pause["plan_checksum"],
        "expected_precondition_checksum": at_pause["precondition_checksum"]});
    let resume_path = format!("/v1/jobs/{job_id}/resume");
    let refused = ctx.post(&resume_path, &resume_body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.reason(), "blocked_entitlement_disabled");
    assert_eq!(checkpoint(&ctx, &job_id).await.unwrap(), at_pause);

    entitlement(&ctx, "acme", true).await;
    let done = ctx.post(&resume_path, &resume_body).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed");
    assert_eq!(
        done.body["checkpoint"],
        json!({"next_chunk_index": ROWS, "total_chunks": ROWS})
    );

    // Nothing lost: every row restored. Nothing doubled: one journal row
    // per plan row.
    for i in [0, next as usize - 1, next as usize, ROWS - 1] {
        let sys_id = format!("incident-{i:05}");
        assert_eq!(
            ctx.target_payload("incident", &sys_id).await,
            Some(json!({"short_description": format!("row {sys_id}")}))
        );
    }
    let journal = all_pages(
        &ctx,
        &format!("/v1/jobs/{job_id}/rollback-journal"),
        "rollback_journal",
    )
    .await;
    assert_eq!(journal.len(), ROWS);
    let mut rows: Vec<i64> = journal
        .iter()
        .map(|j| j["plan_row_id"].as_i64().unwrap())
        .collect();
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), ROWS, "a plan row was journaled twice");
    let events = all_pages(&ctx, &format!("/v1/jobs/{job_id}/events"), "events").await;
    let applied = events
        .iter()
        .filter(|e| e["event_type"] == "chunk_applied")
        .count();
    assert_eq!(applied, ROWS, "every chunk applied exactly once");
}
