//! Index ingestion: idempotent record versions, monotonic watermarks,
//! media bytes into the media store, tenant scope.

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use serde_json::json;

fn record(sys_id: &str, offset: i64, time: &str) -> serde_json::Value {
    json!({"tenant_id": "acme", "instance_id": "prod", "table": "incident", "sys_id": sys_id, "op": "upsert",
           "event_time": time, "topic": "sn.acme.prod.incident", "partition": 0, "offset": offset,
           "payload": {"short_description": "printer on fire"}})
}

#[tokio::test]
async fn records_are_idempotent_on_offset() {
    let ctx = TestContext::start().await;
    let body = json!({"records": [record("a1", 1, "2026-11-20T09:00:00Z"), record("a2", 2, "2026-11-20T09:01:00Z")]});
    let first = ctx.post("/v1/index/records", &body).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body, json!({"accepted": 2, "duplicates": 0}));
    let again = json!({"records": [record("a1", 1, "2026-11-20T09:00:00Z"), record("a3", 3, "2026-11-20T09:02:00Z")]});
    let second = ctx.post("/v1/index/records", &again).await;
    assert_eq!(second.body, json!({"accepted": 1, "duplicates": 1}));
}

#[tokio::test]
async fn upsert_needs_a_payload_and_bad_batches_write_nothing() {
    let ctx = TestContext::start().await;
    let mut bad = record("a1", 1, "2026-11-20T09:00:00Z");
    bad.as_object_mut().unwrap().remove("payload");
    let reply = ctx
        .post(
            "/v1/index/records",
            &json!({"records": [record("a0", 0, "2026-11-20T09:00:00Z"), bad]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
    assert_eq!(reply.reason(), "invalid_request");
    let unknown_op = json!({"records": [{"op": "truncate"}]});
    let refused = ctx.post("/v1/index/records", &unknown_op).await;
    assert_eq!(
        (refused.status, refused.reason()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{:?}",
        refused.body
    );
    // Nothing of the rejected batch was stored: a0 is new when sent alone.
    let retry = ctx
        .post(
            "/v1/index/records",
            &json!({"records": [record("a0", 0, "2026-11-20T09:00:00Z")]}),
        )
        .await;
    assert_eq!(retry.body["accepted"], 1);
}

#[tokio::test]
async fn deletes_need_no_payload() {
    let ctx = TestContext::start().await;
    let delete = json!({"tenant_id": "acme", "instance_id": "prod", "table": "incident", "sys_id": "a1", "op": "delete",
                        "event_time": "2026-11-20T09:00:00Z", "topic": "t", "partition": 0, "offset": 9});
    let reply = ctx
        .post("/v1/index/records", &json!({"records": [delete]}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["accepted"], 1);
}

#[tokio::test]
async fn watermarks_never_move_backwards() {
    let ctx = TestContext::start().await;
    let wm = |time: &str| json!({"watermarks": [{"tenant_id": "acme", "instance_id": "prod", "topic": "t", "partition": 0, "watermark_time": time}]});
    let first = ctx
        .post("/v1/index/watermarks", &wm("2026-11-20T10:00:00Z"))
        .await;
    assert_eq!(first.body, json!({"accepted": 1, "ignored_regressions": 0}));
    let back = ctx
        .post("/v1/index/watermarks", &wm("2026-11-20T09:00:00Z"))
        .await;
    assert_eq!(back.body, json!({"accepted": 0, "ignored_regressions": 1}));
    let same = ctx
        .post("/v1/index/watermarks", &wm("2026-11-20T10:00:00Z"))
        .await;
    assert_eq!(same.body, json!({"accepted": 1, "ignored_regressions": 0}));
    let list = ctx
        .get("/v1/index/watermarks?tenant_id=acme&instance_id=prod")
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.body["items"][0]["watermark_time"],
        "2026-11-20T10:00:00Z"
    );
    assert!(list.body["items"][0]["published_at"].is_string());
    let forward = ctx
        .post("/v1/index/watermarks", &wm("2026-11-20T11:00:00Z"))
        .await;
    assert_eq!(forward.body["accepted"], 1);
    let list = ctx
        .get("/v1/index/watermarks?tenant_id=acme&instance_id=prod")
        .await;
    assert_eq!(
        list.body["items"][0]["watermark_time"],
        "2026-11-20T11:00:00Z"
    );
}

#[tokio::test]
async fn another_tenant_cannot_be_fed_or_read() {
    let ctx = TestContext::start().await;
    let sidecar = ctx
        .token("sidecar", &["index_write", "restore_read"], &["globex"])
        .await;
    let body = json!({"records": [record("a1", 1, "2026-11-20T09:00:00Z")]});
    let reply = ctx
        .send(
            Method::POST,
            "/v1/index/records",
            Some(&sidecar),
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    ctx.post("/v1/index/watermarks", &json!({"watermarks": [{"tenant_id": "acme", "instance_id": "prod", "topic": "t", "partition": 0, "watermark_time": "2026-11-20T10:00:00Z"}]})).await;
    let list = ctx
        .send(
            Method::GET,
            "/v1/index/watermarks?tenant_id=acme&instance_id=prod",
            Some(&sidecar),
            None,
        )
        .await;
    assert_eq!(list.body["items"], json!([]));
    let reader = ctx.token("reader", &["restore_read"], &["acme"]).await;
    let reply = ctx
        .send(
            Method::POST,
            "/v1/index/records",
            Some(&reader),
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.reason(),
        "blocked_missing_capability",
        "{:?}",
        reply.body
    );
    assert_eq!(
        reply.body["details"]["missing_capabilities"],
        json!(["index_write"])
    );
}

#[tokio::test]
async fn media_bytes_are_stored_with_size_and_hash() {
    let ctx = TestContext::start().await;
    let body = json!({"media": [{"tenant_id": "acme", "instance_id": "prod", "media_id": "m1", "parent_table": "incident",
        "parent_sys_id": "a1", "file_name": "log.txt", "content_type": "text/plain", "event_time": "2026-11-20T09:00:00Z",
        "content_base64": "aGVsbG8="}]});
    let reply = ctx.post("/v1/index/media", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["accepted"], 1);
    // sha256("hello") names the blob in the content-addressed store.
    let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let blob = ctx.data_path(&format!("media/sha256/{}/{}", &sha[..2], sha));
    assert_eq!(std::fs::read(blob).unwrap(), b"hello");
    let bad = json!({"media": [{"tenant_id": "acme", "instance_id": "prod", "media_id": "m1", "parent_table": "incident",
        "parent_sys_id": "a1", "file_name": "x", "content_type": "text/plain", "event_time": "2026-11-20T09:00:00Z",
        "content_base64": "not base64!"}]});
    let refused = ctx.post("/v1/index/media", &bad).await;
    assert_eq!(
        (refused.status, refused.reason()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{:?}",
        refused.body
    );
}
