//! An S3 media store that cannot be reached: the service still starts
//! (the store may come back), logs it, and refuses attachments with
//! `503 media_store_unavailable`, recording nothing.

use reqwest::StatusCode;
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use serde_json::json;

#[tokio::test]
async fn attachments_are_refused_with_503_while_the_store_does_not_answer() {
    // Port 9 on loopback: nothing listens, connections are refused at once.
    let ctx = TestContext::start_with(
        "[media]\nbackend = \"s3\"\nbucket = \"rrs-media\"\nendpoint = \"http://127.0.0.1:9\"\n\
         region = \"us-east-1\"\nallow_http = true\naccess_key_id = \"test\"\n\
         secret_access_key = \"test-secret\"\n",
    )
    .await;
    let media = json!({"media": [{"tenant_id": "acme", "instance_id": "prod", "media_id": "m1",
        "parent_table": "incident", "parent_sys_id": "a1", "file_name": "m1.txt",
        "content_type": "text/plain", "event_time": "2026-11-20T09:00:00Z",
        "content_base64": "aGVsbG8="}]});
    let refused = ctx.post("/v1/index/media", &media).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.reason(), "media_store_unavailable");
    assert!(
        !refused.body.to_string().contains("test-secret"),
        "no credential in the answer"
    );
    let ready = ctx.get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "the rest of the service serves"
    );
    ctx.target_table("incident", &[], true).await;
    let at = "2026-11-20T09:00:00Z";
    ctx.ingest(0, &[Version::upsert("incident", "a1", at, json!({"v": 1}))])
        .await;
    let plan = ctx
        .dry_run(
            &["incident"],
            "2026-11-20T10:00:00Z",
            json!({"include_media": true}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(
        plan.body["media_summary"]["count"], 0,
        "nothing of the refused request was recorded: {:?}",
        plan.body
    );
}
