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
