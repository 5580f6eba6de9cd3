//! ACL denials and rate limiting.

use reqwest::Method;
use rrs_fake_servicenow::{AclRule, RateLimit, RULE_SYS_ID};
use serde_json::json;

use crate::common::{assert_error, Fake};

#[tokio::test]
async fn table_acl_denies_reads_or_writes_with_403() {
    let fake = Fake::start().await;
    let existing = fake.insert("incident", json!({"number": "INC1"})).await;
    let path = format!(
        "/api/now/table/incident/{}",
        existing["sys_id"].as_str().unwrap()
    );

    let set = fake
        .client
        .put(fake.url("/fake/acl"))
        .json(&json!({"rules": [{"table": "incident", "deny_read": true}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let list = fake.get("/api/now/table/incident").await;
    assert_error(&list, 403, "User Not Authorized");
    assert_error(&fake.get(&path).await, 403, "User Not Authorized");
    assert_eq!(
        fake.insert("incident", json!({})).await["sys_class_name"],
        "incident"
    );
    assert_eq!(
        fake.get("/api/now/table/task").await.status,
        200,
        "other tables unaffected"
    );

    fake.handle()
        .set_acl(vec![AclRule::table("incident", false, true)]);
    assert_eq!(fake.get(&path).await.status, 200);
    let insert = fake
        .write(Method::POST, "/api/now/table/incident", json!({}))
        .await;
    assert_error(&insert, 403, "User Not Authorized");
    let patch = fake
        .write(Method::PATCH, &path, json!({"number": "INC2"}))
        .await;
    assert_error(&patch, 403, "User Not Authorized");
    assert_error(&fake.delete(&path).await, 403, "User Not Authorized");
    assert_eq!(
        fake.handle().records("incident").unwrap()[0]["number"],
        "INC1"
    );
}

#[tokio::test]
async fn record_acl_hides_rows_after_the_limit_is_applied() {
    let fake = Fake::start().await;
    let ids: Vec<String> = fake
        .seed(
            "incident",
            (0..4)
                .map(|i| json!({"number": format!("INC{i}")}))
                .collect(),
        )
        .into_iter()
        .map(|r| r["sys_id"].clone())
        .collect();
    fake.handle().set_acl(vec![AclRule::records(
        "incident",
        &[ids[1].as_str()],
        true,
        true,
    )]);
    let page = fake.get("/api/now/table/incident?sysparm_limit=2").await;
    assert_eq!(page.header("x-total-count"), Some("4"));
    let rows = page.body["result"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        1,
        "a short page: the denied row is dropped after the limit"
    );
    assert_eq!(rows[0]["number"], "INC0");
    let denied = fake
        .get(&format!("/api/now/table/incident/{}", ids[1]))
        .await;
    assert_error(&denied, 403, "User Not Authorized");
    let allowed = fake
        .get(&format!("/api/now/table/incident/{}", ids[2]))
        .await;
    assert_eq!(allowed.status, 200);
    let write = fake
        .write(
            Method::PATCH,
            &format!("/api/now/table/incident/{}", ids[1]),
            json!({"number": "x"}),
        )
        .await;
    assert_error(&write, 403, "User Not Authorized");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let fake = Fake::start().await;
    fake.handle().set_rate_limit(Some(RateLimit {
        requests: 3,
        window_secs: 60,
    }));
    for _ in 0..3 {
        let ok = fake.get("/api/now/table/incident").await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(ok.header("x-ratelimit-rule"), Some(RULE_SYS_ID));
    }
    let limited = fake.get("/api/now/table/incident").await;
    assert_error(&limited, 429, "Rate limit exceeded");
    assert_eq!(
        limited.body["error"]["detail"],
        "Rate limit of 3 requests per 60 seconds for Table API exceeded"
    );
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let reset: i64 = limited
        .header("x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(reset > now - 5 && reset <= now + 61, "{reset} vs {now}");
    assert_eq!(limited.header("x-ratelimit-limit"), Some("3"));

    // Budgets are per user: the OAuth application user still has its own.
    let (id, secret) = (crate::common::CLIENT_ID, crate::common::CLIENT_SECRET);
    let token: serde_json::Value = fake
        .client
        .post(fake.url("/oauth_token.do"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = fake
        .client
        .get(fake.url("/api/now/table/incident"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn a_scripted_burst_refuses_exactly_the_next_k_requests() {
    let fake = Fake::start().await;
    let burst = fake
        .client
        .post(fake.url("/fake/rate-limit/burst"))
        .json(&json!({"count": 2, "retry_after_secs": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(burst.status(), 204);
    for _ in 0..2 {
        let limited = fake
            .write(Method::POST, "/api/now/table/incident", json!({}))
            .await;
        assert_error(&limited, 429, "Rate limit exceeded");
        assert_eq!(limited.header("retry-after"), Some("3"));
        assert!(limited.header("x-ratelimit-reset").is_some());
    }
    assert_eq!(
        fake.write(Method::POST, "/api/now/table/incident", json!({}))
            .await
            .status,
        201
    );
    assert_eq!(fake.handle().records("incident").unwrap().len(), 1);
}
