//! The loaded policies and their reload over HTTP.

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use serde_json::json;

#[tokio::test]
async fn policies_are_listed_and_a_broken_reload_keeps_the_old_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policies.toml");
    std::fs::write(&path, rrs::policy::DEFAULT_POLICIES_TOML).unwrap();
    let ctx = TestContext::start_with(&format!(
        "[policies]\npath = {:?}\n",
        path.display().to_string()
    ))
    .await;
    let listed = ctx.get("/v1/policies").await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["gate", "capability", "media_caps"]);
    assert!(items
        .iter()
        .all(|p| p["digest"].as_str().unwrap().len() == 64));
    let gate = items[0].clone();
    assert_eq!(gate["settings"]["max_lag_seconds"], 900);

    let broken = rrs::policy::DEFAULT_POLICIES_TOML.replacen("sha256 = \"", "sha256 = \"0", 1);
    std::fs::write(&path, broken).unwrap();
    let refused = ctx.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.reason(), "policy_reload_failed");
    assert_eq!(
        ctx.get("/v1/policies").await.body["items"][0],
        gate,
        "the old set keeps serving"
    );

    let changed =
        rrs::policy::DEFAULT_POLICIES_TOML.replace("max_lag_seconds = 900", "max_lag_seconds = 60");
    std::fs::write(&path, changed).unwrap();
    let reloaded = ctx.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(reloaded.status, StatusCode::OK, "{:?}", reloaded.body);
    assert_eq!(reloaded.body["items"][0]["settings"]["max_lag_seconds"], 60);

    let reader = ctx.token("reader", &["restore_read"], &["*"]).await;
    let denied = ctx
        .send(
            Method::POST,
            "/v1/admin/policies/reload",
            Some(&reader),
            Some(&json!({})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.reason(),
        "blocked_missing_capability",
        "{:?}",
        denied.body
    );
    assert_eq!(
        denied.body["details"]["missing_capabilities"],
        json!(["ops_admin"])
    );
}
