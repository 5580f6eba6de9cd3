//! Media during execution: caps and their override, hash checks, an
//! unavailable store, a missing parent.

use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use serde_json::{json, Value};

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Two restored records with one attachment each; returns the plan.
pub(crate) async fn media_plan(ctx: &TestContext) -> Value {
    let body = media_records(ctx).await;
    assert_eq!(
        ctx.post("/v1/index/media", &body).await.status,
        StatusCode::OK
    );
    planned(ctx).await
}

/// The records of [`media_plan`] in the index and the target; returns the
/// `POST /v1/index/media` body of their two attachments (`m1` "hello" on
/// `a1`, `m2` "world" on `a2`).
pub(crate) async fn media_records(ctx: &TestContext) -> Value {
    ctx.target_table("incident", &[], true).await;
    let at = ago(30);
    ctx.ingest(
        0,
        &[
            Version::upsert("incident", "a1", &at, json!({"v": 1})),
            Version::upsert("incident", "a2", &at, json!({"v": 2})),
        ],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_row("incident", "a2", json!({"v": "old"})).await;
    let media: Vec<Value> = [("m1", "a1", "aGVsbG8="), ("m2", "a2", "d29ybGQ=")]
        .iter()
        .map(|(id, parent, content)| {
            json!({"tenant_id": "acme", "instance_id": "prod", "media_id": id,
            "parent_table": "incident", "parent_sys_id": parent, "file_name": format!("{id}.txt"),
            "content_type": "text/plain", "event_time": at, "content_base64": content})
        })
        .collect();
    json!({ "media": media })
}

/// The dry-run of [`media_records`] once their attachments are ingested.
pub(crate) async fn planned(ctx: &TestContext) -> Value {
    let plan = ctx
        .dry_run(&["incident"], &ago(5), json!({"include_media": true}))
        .await
        .body;
    assert_eq!(
        plan["media_summary"],
        json!({"count": 2, "total_bytes": 10}),
        "{:?}",
        plan
    );
    plan
}

/// The job's status and `status_reason_code`.
pub(crate) async fn job_end(ctx: &TestContext, job_id: &str) -> (String, String) {
    let job = ctx.get(&format!("/v1/jobs/{job_id}")).await.body;
    (
        job["status"].as_str().unwrap_or_default().to_owned(),
        job["status_reason_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

pub(crate) async fn job(ctx: &TestContext, plan: &Value) -> String {
    let reply = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    reply.body["job_id"].as_str().unwrap().to_owned()
}

pub(crate) fn sha(hex_of: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(hex_of))
}

#[tokio::test]
async fn media_are_restored_after_their_parents_with_hashes_checked() {
    let ctx = TestContext::start().await;
    let plan = media_plan(&ctx).await;
    let job_id = job(&ctx, &plan).await;
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let outcomes = done.body["media_outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes
            .iter()
            .all(|m| m["outcome"] == "applied" && m["attempt_count"] == 1),
        "{outcomes:?}"
    );
    let restored = ctx
        .get("/v1/targets/acme/prod/tables/incident/media/m1")
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(restored.body["sha256_plain"], sha(b"hello"));
    assert_eq!(restored.body["size_bytes"], 5);
    assert_eq!(done.body["state"], "completed");
    assert_eq!(
        job_end(&ctx, &job_id).await,
        ("completed".into(), "completed".into())
    );
}

#[tokio::test]
async fn over_cap_media_need_override_and_a_valid_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let toml =
        rrs::policy::DEFAULT_POLICIES_TOML.replace("mediaMaxItems = 100", "mediaMaxItems = 1");
    let path = dir.path().join("policies.toml");
    std::fs::write(&path, toml).unwrap();
    let ctx = TestContext::start_with(&format!(
        "[policies]\npath = {:?}\n",
        path.display().to_string()
    ))
    .await;
    let plan = media_plan(&ctx).await;
    assert!(plan["required_capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("restore_override_caps")));
    let job_id = job(&ctx, &plan).await;
    let url = format!("/v1/jobs/{job_id}/execution");
    let plain = ctx
        .token("ops-1", &["restore_execute", "restore_read"], &["acme"])
        .await;
    let denied = ctx
        .send(Method::POST, &url, Some(&plain), Some(&json!({})))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{:?}", denied.body);
    assert_eq!(denied.reason(), "blocked_missing_capability");
    assert_eq!(
        denied.body["details"]["media"],
        json!({"count": 2, "total_bytes": 10, "max_items": 1, "max_bytes": 104857600})
    );
    let lead = ctx
        .token(
            "lead",
            &["restore_execute", "restore_read", "restore_override_caps"],
            &["acme"],
        )
        .await;
    let bad = json!({"elevated_confirmation": {"confirmed": true, "confirmation": "acme/staging", "reason": "INC-42"}});
    let denied = ctx.send(Method::POST, &url, Some(&lead), Some(&bad)).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{:?}", denied.body);
    assert_eq!(
        denied.body["details"]["requires_elevated_confirmation"],
        true
    );
    assert!(
        ctx.target_payload("incident", "a1").await.is_none(),
        "nothing written"
    );
    let good = json!({"elevated_confirmation": {"confirmed": true, "confirmation": "acme/prod", "reason": "INC-42"}});
    let done = ctx.send(Method::POST, &url, Some(&lead), Some(&good)).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["media_outcomes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_corrupted_blob_is_a_hash_mismatch() {
    let ctx = TestContext::start().await;
    let plan = media_plan(&ctx).await;
    let hello = sha(b"hello");
    std::fs::write(
        ctx.data_path(&format!("media/sha256/{}/{}", &hello[..2], hello)),
        b"HELLO",
    )
    .unwrap();
    let job_id = job(&ctx, &plan).await;
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    let m1 = done.body["media_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["media_id"] == "m1")
        .unwrap()
        .clone();
    assert_eq!(m1["outcome"], "failed");
    assert_eq!(m1["reason_code"], "failed_media_hash_mismatch");
    assert_eq!(m1["expected_sha256_plain"], hello);
    assert_eq!(m1["observed_sha256_plain"], sha(b"HELLO"));
    assert_eq!(
        ctx.get("/v1/targets/acme/prod/tables/incident/media/m1")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_media_incomplete(&ctx, &job_id, &done.body, &["m1"]).await;
}

/// A job with failed media outcomes ended `failed` with
/// `failed_media_incomplete` (and its execution with it), its `job_failed`
/// event naming the failed candidates; the rows it applied stay applied
/// and journaled.
pub(crate) async fn assert_media_incomplete(
    ctx: &TestContext,
    job_id: &str,
    execution: &Value,
    failed_media_ids: &[&str],
) {
    assert_eq!(execution["state"], "failed", "{execution:?}");
    assert_eq!(execution["status_reason_code"], "failed_media_incomplete");
    assert_eq!(
        job_end(ctx, job_id).await,
        ("failed".into(), "failed_media_incomplete".into())
    );
    let outcomes = execution["media_outcomes"].as_array().unwrap();
    let failed: Vec<&Value> = outcomes
        .iter()
        .filter(|m| m["outcome"] == "failed")
        .collect();
    let ids: Vec<&str> = failed
        .iter()
        .map(|m| m["media_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, failed_media_ids);
    let events = ctx.get(&format!("/v1/jobs/{job_id}/events")).await.body;
    let ended: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "job_failed")
        .collect();
    assert_eq!(ended.len(), 1, "{events:?}");
    assert_eq!(ended[0]["reason_code"], "failed_media_incomplete");
    let candidates: Vec<&Value> = failed.iter().map(|m| &m["candidate_id"]).collect();
    assert_eq!(ended[0]["details"]["failed_media_count"], failed.len());
    assert_eq!(
        ended[0]["details"]["failed_media_candidate_ids"],
        json!(candidates)
    );
    let rows = execution["row_outcomes"].as_array().unwrap();
    let applied = rows.iter().filter(|r| r["outcome"] == "applied").count();
    assert!(applied > 0, "{rows:?}");
    let journal = ctx
        .get(&format!("/v1/jobs/{job_id}/rollback-journal"))
        .await
        .body;
    assert_eq!(
        journal["rollback_journal"].as_array().map(Vec::len),
        Some(applied),
        "{journal:?}"
    );
}

#[tokio::test]
async fn an_unavailable_store_exhausts_the_configured_attempts() {
    let ctx =
        TestContext::start_with("[execution]\nmedia_attempts = 4\nmedia_backoff_ms = 1\n").await;
    let plan = media_plan(&ctx).await;
    // The store's directory turns into a file: every read fails.
    let store = ctx.data_path("media/sha256");
    std::fs::remove_dir_all(&store).unwrap();
    std::fs::write(&store, b"not a directory").unwrap();
    let job_id = job(&ctx, &plan).await;
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let media = done.body["media_outcomes"].as_array().unwrap();
    assert_eq!(media.len(), 2, "{media:?}");
    for m in media {
        assert_eq!(m["reason_code"], "failed_media_retry_exhausted", "{m:?}");
        assert_eq!(m["attempt_count"], 4);
        assert_eq!(m["observed_sha256_plain"], Value::Null);
    }
    assert_media_incomplete(&ctx, &job_id, &done.body, &["m1", "m2"]).await;
}

#[tokio::test]
async fn a_parent_skipped_by_a_conflict_leaves_its_media_failed() {
    let ctx = TestContext::start().await;
    let plan = media_plan(&ctx).await;
    let job_id = job(&ctx, &plan).await;
    // A user deletes a2 after planning: its update conflicts and is skipped.
    ctx.send(
        Method::DELETE,
        "/v1/targets/acme/prod/tables/incident/records/a2",
        Some(&ctx.admin_token),
        None,
    )
    .await;
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let m2 = done.body["media_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["media_id"] == "m2")
        .unwrap()
        .clone();
    assert_eq!(m2["reason_code"], "failed_media_parent_missing");
    let m1 = done.body["media_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["media_id"] == "m1")
        .unwrap()
        .clone();
    assert_eq!(m1["outcome"], "applied");
    assert_media_incomplete(&ctx, &job_id, &done.body, &["m2"]).await;
}
