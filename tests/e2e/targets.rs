//! The embedded target's set-up API.

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use serde_json::json;

const TABLE: &str = "/v1/targets/acme/prod/tables/incident";

#[tokio::test]
async fn schema_hash_changes_with_the_schema_not_the_order() {
    let ctx = TestContext::start().await;
    let a = json!({"columns": [{"name": "short_description", "type": "string"}, {"name": "caller_id", "type": "reference", "reference_table": "sys_user"}], "write_allowed": true});
    let first = ctx
        .send(Method::PUT, TABLE, Some(&ctx.admin_token), Some(&a))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let reordered = json!({"columns": [{"name": "caller_id", "type": "reference", "reference_table": "sys_user"}, {"name": "short_description", "type": "string"}], "write_allowed": true});
    let second = ctx
        .send(Method::PUT, TABLE, Some(&ctx.admin_token), Some(&reordered))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    assert_eq!(first.body["schema_sha256"], second.body["schema_sha256"]);
    let changed =
        json!({"columns": [{"name": "short_description", "type": "json"}], "write_allowed": true});
    let third = ctx
        .send(Method::PUT, TABLE, Some(&ctx.admin_token), Some(&changed))
        .await;
    assert_eq!(third.status, StatusCode::OK, "{:?}", third.body);
    assert_ne!(first.body["schema_sha256"], third.body["schema_sha256"]);
    let read = ctx.get(TABLE).await;
    assert_eq!(
        read.body["columns"],
        json!([{"name": "short_description", "type": "json", "reference_table": null}])
    );
}

#[tokio::test]
async fn records_are_written_read_and_deleted() {
    let ctx = TestContext::start().await;
    let record = format!("{TABLE}/records/a1");
    let early = ctx
        .send(
            Method::PUT,
            &record,
            Some(&ctx.admin_token),
            Some(&json!({"payload": {"x": 1}})),
        )
        .await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);
    assert_eq!(early.reason(), "target_table_not_found");
    let table = ctx
        .send(
            Method::PUT,
            TABLE,
            Some(&ctx.admin_token),
            Some(&json!({"columns": [], "write_allowed": true})),
        )
        .await;
    assert_eq!(table.status, StatusCode::OK, "{:?}", table.body);
    let put = ctx
        .send(
            Method::PUT,
            &record,
            Some(&ctx.admin_token),
            Some(&json!({"payload": {"b": 2, "a": 1}})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let got = ctx.get(&record).await;
    assert_eq!(got.body["payload"], json!({"a": 1, "b": 2}));
    assert_eq!(got.body["payload_sha256"], put.body["payload_sha256"]);
    // sha256 of the RFC 8785 form {"a":1,"b":2}
    assert_eq!(
        got.body["payload_sha256"],
        "43258cff783fe7036d8a43033f830adfc60ec037382473548ac742b888292777"
    );
    assert_eq!(
        ctx.send(Method::DELETE, &record, Some(&ctx.admin_token), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let gone = ctx.get(&record).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.reason(), "record_not_found");
    let again = ctx
        .send(Method::DELETE, &record, Some(&ctx.admin_token), None)
        .await;
    assert_eq!(
        (again.status, again.reason()),
        (StatusCode::NOT_FOUND, "record_not_found")
    );
}

#[tokio::test]
async fn another_tenants_target_is_invisible() {
    let ctx = TestContext::start().await;
    let table = ctx
        .send(
            Method::PUT,
            TABLE,
            Some(&ctx.admin_token),
            Some(&json!({"columns": [], "write_allowed": true})),
        )
        .await;
    assert_eq!(table.status, StatusCode::OK, "{:?}", table.body);
    let other = ctx
        .token("ops", &["restore_read", "index_write"], &["globex"])
        .await;
    let read = ctx.send(Method::GET, TABLE, Some(&other), None).await;
    assert_eq!(
        (read.status, read.reason()),
        (StatusCode::NOT_FOUND, "target_table_not_found"),
        "{:?}",
        read.body
    );
    let write = ctx
        .send(
            Method::PUT,
            TABLE,
            Some(&other),
            Some(&json!({"columns": [], "write_allowed": false})),
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(write.reason(), "blocked_tenant_scope");
}
