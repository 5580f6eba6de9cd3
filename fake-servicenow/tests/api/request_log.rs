//! The request log and the inspection/control endpoints.

use reqwest::Method;
use rrs_fake_servicenow::{content_sha256, RequestLogEntry};
use serde_json::{json, Value};

use crate::common::{Fake, USER};

#[tokio::test]
async fn every_api_request_is_logged_with_the_written_content_hash() {
    let fake = Fake::start().await;
    let created = fake.insert("incident", json!({"number": "INC1"})).await;
    let sys_id = created["sys_id"].as_str().unwrap().to_owned();
    let path = format!("/api/now/table/incident/{sys_id}");
    fake.get(&path).await;
    fake.write(Method::PATCH, &path, json!({"number": "INC2"}))
        .await;
    let stored = fake.handle().record("incident", &sys_id).unwrap();
    fake.delete(&path).await;
    fake.send(fake.client.get(fake.url("/api/now/table/task")))
        .await; // 401
    fake.client
        .get(fake.url("/fake/requests"))
        .send()
        .await
        .unwrap(); // not logged

    let log = fake.handle().requests();
    let summary: Vec<(&str, Option<u16>, bool)> = log
        .iter()
        .map(|e| (e.method.as_str(), e.status, e.write))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", Some(201), true),
            ("GET", Some(200), false),
            ("PATCH", Some(200), true),
            ("DELETE", Some(204), true),
            ("GET", Some(401), false),
        ]
    );
    assert!(log
        .iter()
        .take(4)
        .all(|e| e.table.as_deref() == Some("incident")));
    assert!(log
        .iter()
        .take(4)
        .all(|e| e.sys_id.as_deref() == Some(sys_id.as_str())));
    assert!(log.iter().take(4).all(|e| e.user.as_deref() == Some(USER)));
    assert_eq!(log[0].path, "/api/now/table/incident");
    assert_ne!(log[0].record_sha256, log[2].record_sha256);
    assert_eq!(log[2].record_sha256, Some(content_sha256(&stored)));
    assert_eq!(log[1].record_sha256, None);
    assert_eq!(log[3].record_sha256, None);
    assert_eq!(log[4].user, None);
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);

    let over_http: Value = fake
        .client
        .get(fake.url("/fake/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parsed: Vec<RequestLogEntry> =
        serde_json::from_value(over_http["requests"].clone()).unwrap();
    assert_eq!(parsed, log);
}

#[tokio::test]
async fn records_can_be_seeded_dumped_and_reset_over_http() {
    let fake = Fake::start().await;
    let seeded: Value = fake
        .client
        .post(fake.url("/fake/tables/incident/records"))
        .json(&json!([{"number": "INC1", "sys_updated_on": "2024-01-02 03:04:05"}, {"number": "INC2"}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        seeded["records"][0]["sys_updated_on"],
        "2024-01-02 03:04:05"
    );
    assert_eq!(seeded["records"][0]["sys_created_by"], "system");
    let bad = fake
        .client
        .post(fake.url("/fake/tables/incident/records"))
        .json(&json!({"not_a_column": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let since = fake
        .get("/api/now/table/incident?sysparm_query=sys_updated_on<2025-01-01 00:00:00")
        .await;
    assert_eq!(since.body["result"].as_array().unwrap().len(), 1);

    let dump: Value = fake
        .client
        .get(fake.url("/fake/tables/incident/records"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let numbers: Vec<&str> = dump["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["INC1", "INC2"]);
    let missing = fake
        .client
        .get(fake.url("/fake/tables/nope/records"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let reset = fake
        .client
        .post(fake.url("/fake/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert!(fake.handle().records("incident").unwrap().is_empty());
    assert!(fake.handle().requests().is_empty());
    let behaviour: Value = fake
        .client
        .get(fake.url("/fake/behaviour"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(behaviour["writes_seen"], 0);
    assert_eq!(behaviour["behaviour"]["latency_ms"], 0);
}
