//! Scripted write failures: an error status, and a connection closed with
//! no response before or after the write took effect.

use reqwest::Method;
use rrs_fake_servicenow::{content_sha256, FaultSpec};
use serde_json::json;

use crate::common::{assert_error, Fake, PASSWORD, USER};

/// Sends a write and expects no HTTP response at all.
async fn expect_no_response(fake: &Fake, method: Method, path: &str, body: serde_json::Value) {
    let result = fake
        .client
        .request(method, fake.url(path))
        .basic_auth(USER, Some(PASSWORD))
        .json(&body)
        .send()
        .await;
    let error = result.expect_err("the connection must close without a response");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
}

#[tokio::test]
async fn status_fault_answers_500_on_the_nth_write_without_applying_it() {
    let fake = Fake::start().await;
    fake.get("/api/now/table/incident").await;
    let set = fake
        .client
        .post(fake.url("/fake/faults"))
        .json(&json!({"nth": 2, "kind": "status"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 201);
    fake.insert("incident", json!({"number": "first"})).await;
    let failed = fake
        .write(
            Method::POST,
            "/api/now/table/incident",
            json!({"number": "second"}),
        )
        .await;
    assert_error(&failed, 500, "Internal Server Error");
    fake.insert("incident", json!({"number": "third"})).await;
    let numbers: Vec<String> = fake
        .handle()
        .records("incident")
        .unwrap()
        .into_iter()
        .map(|r| r["number"].clone())
        .collect();
    assert_eq!(numbers, ["first", "third"]);
}

#[tokio::test]
async fn drop_before_apply_closes_the_connection_and_writes_nothing() {
    let fake = Fake::start().await;
    fake.handle().add_fault(FaultSpec::drop_before_apply(1));
    assert_eq!(
        fake.get("/api/now/table/incident").await.status,
        200,
        "reads are not writes"
    );
    expect_no_response(
        &fake,
        Method::POST,
        "/api/now/table/incident",
        json!({"number": "lost"}),
    )
    .await;
    assert!(fake.handle().records("incident").unwrap().is_empty());
    let entry = fake.handle().requests().pop().unwrap();
    assert!(entry.dropped);
    assert_eq!(entry.status, None);
    assert_eq!(entry.injected.as_deref(), Some("drop_before_apply"));
    // The next write goes through on a fresh connection.
    fake.insert("incident", json!({"number": "retried"})).await;
    assert_eq!(fake.handle().records("incident").unwrap().len(), 1);
}

#[tokio::test]
async fn drop_after_apply_closes_the_connection_after_writing() {
    let fake = Fake::start().await;
    let record = fake.insert("incident", json!({"number": "INC1"})).await;
    let sys_id = record["sys_id"].as_str().unwrap();
    let path = format!("/api/now/table/incident/{sys_id}");
    fake.handle().add_fault(FaultSpec::drop_after_apply(1));
    expect_no_response(
        &fake,
        Method::PATCH,
        &path,
        json!({"number": "INC1-updated"}),
    )
    .await;
    let stored = fake.handle().record("incident", sys_id).unwrap();
    assert_eq!(stored["number"], "INC1-updated");
    assert_eq!(stored["sys_mod_count"], "1");
    let entry = fake.handle().requests().pop().unwrap();
    assert!(entry.dropped);
    assert_eq!(entry.status, Some(200));
    assert_eq!(entry.injected.as_deref(), Some("drop_after_apply"));
    assert_eq!(entry.record_sha256, Some(content_sha256(&stored)));
    // A retry of the same update is a no-op on the server.
    let retry = fake
        .write(Method::PATCH, &path, json!({"number": "INC1-updated"}))
        .await;
    assert_eq!(retry.body["result"]["sys_mod_count"], "1");
}

#[tokio::test]
async fn drop_after_apply_on_insert_keeps_the_record() {
    let fake = Fake::start().await;
    fake.handle().add_fault(FaultSpec::drop_after_apply(1));
    let chosen = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let body = json!({"sys_id": chosen, "number": "INC7"});
    expect_no_response(&fake, Method::POST, "/api/now/table/incident", body.clone()).await;
    assert!(fake.handle().record("incident", chosen).is_some());
    let retry = fake
        .write(Method::POST, "/api/now/table/incident", body)
        .await;
    assert_error(&retry, 403, "Operation Failed");
}
