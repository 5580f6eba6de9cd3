//! Operations controls: staging mode, runbook sign-off, failure drills and
//! tenant entitlements, each stored, returned and kept in the audit trail;
//! strict drill ids and statuses; `ops_admin` and tenant scope.

use reqwest::{Method, StatusCode};
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

const DRILLS: [&str; 6] = [
    "auth_outage",
    "sidecar_lag",
    "pg_saturation",
    "entitlement_disable",
    "crash_resume",
    "evidence_audit_export",
];

async fn put(ctx: &TestContext, path: &str, body: &Value) -> Reply {
    ctx.send(Method::PUT, path, Some(&ctx.admin_token), Some(body))
        .await
}

#[tokio::test]
async fn switches_start_off_and_return_the_stored_state() {
    let ctx = TestContext::start().await;
    let staging = ctx.get("/v1/admin/ops/staging-mode").await;
    assert_eq!(staging.status, StatusCode::OK, "{:?}", staging.body);
    assert_eq!(staging.body["enabled"], false);
    assert_eq!(staging.body["actor"], Value::Null);
    assert_eq!(staging.body["updated_at"], Value::Null);

    let set = ctx
        .post(
            "/v1/admin/ops/staging-mode",
            &json!({"enabled": true, "actor": "alice"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(set.body["enabled"], true);
    assert_eq!(set.body["actor"], "alice");
    assert!(set.body["updated_at"].is_string());
    assert_eq!(ctx.get("/v1/admin/ops/staging-mode").await.body, set.body);

    let signoff = ctx
        .post(
            "/v1/admin/ops/runbooks-signoff",
            &json!({"signed_off": true, "actor": "bob"}),
        )
        .await;
    assert_eq!(signoff.status, StatusCode::OK, "{:?}", signoff.body);
    assert_eq!(signoff.body["signed_off"], true);
    assert_eq!(signoff.body["actor"], "bob");
    let withdrawn = ctx
        .post(
            "/v1/admin/ops/runbooks-signoff",
            &json!({"signed_off": false, "actor": "bob"}),
        )
        .await;
    assert_eq!(withdrawn.body["signed_off"], false);
    assert_eq!(
        ctx.get("/v1/admin/ops/runbooks-signoff").await.body["signed_off"],
        false
    );
}

#[tokio::test]
async fn drills_are_pending_until_recorded() {
    let ctx = TestContext::start().await;
    let list = ctx.get("/v1/admin/ops/failure-drills").await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let ids: Vec<&str> = list.body["drills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["drill_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, DRILLS);
    assert!(list.body["drills"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "pending"));

    let body =
        json!({"drill_id": "crash_resume", "status": "pass", "actor": "carol", "notes": "INC-1"});
    let recorded = ctx.post("/v1/admin/ops/failure-drills", &body).await;
    assert_eq!(recorded.status, StatusCode::OK, "{:?}", recorded.body);
    assert_eq!(recorded.body["drill_id"], "crash_resume");
    assert_eq!(recorded.body["status"], "pass");
    assert_eq!(recorded.body["notes"], "INC-1");
    assert_eq!(recorded.body["actor"], "carol");
    let failed = json!({"drill_id": "crash_resume", "status": "fail", "actor": "carol"});
    let again = ctx.post("/v1/admin/ops/failure-drills", &failed).await;
    assert_eq!(again.body["status"], "fail");
    assert_eq!(again.body["notes"], Value::Null);
    let list = ctx.get("/v1/admin/ops/failure-drills").await;
    assert_eq!(list.body["drills"][4]["status"], "fail");
    assert_eq!(list.body["drills"][0]["status"], "pending");
}

#[tokio::test]
async fn unknown_drill_ids_and_statuses_are_400_with_the_allowed_values() {
    let ctx = TestContext::start().await;
    let bad_id = json!({"drill_id": "meteor_strike", "status": "pass", "actor": "a"});
    let reply = ctx.post("/v1/admin/ops/failure-drills", &bad_id).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request");
    let message = reply.body["message"].as_str().unwrap();
    assert!(message.contains("drill_id"), "{message}");
    for drill in DRILLS {
        assert!(message.contains(drill), "{message}");
    }
    let bad_status = json!({"drill_id": "auth_outage", "status": "passed", "actor": "a"});
    let reply = ctx.post("/v1/admin/ops/failure-drills", &bad_status).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request", "{:?}", reply.body);
    let message = reply.body["message"].as_str().unwrap();
    assert!(message.contains("status"), "{message}");
    for status in ["pass", "fail", "pending"] {
        assert!(message.contains(status), "{message}");
    }
    // Nothing was stored by the refused requests.
    let list = ctx.get("/v1/admin/ops/failure-drills").await;
    assert_eq!(list.body["drills"][0]["status"], "pending");
    assert_eq!(
        ctx.get("/v1/admin/ops/audit").await.body["items"],
        json!([])
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field() {
    let ctx = TestContext::start().await;
    let cases = [
        ("/v1/admin/ops/staging-mode", json!({"enabled": true})),
        (
            "/v1/admin/ops/staging-mode",
            json!({"enabled": "yes", "actor": "a"}),
        ),
        (
            "/v1/admin/ops/staging-mode",
            json!({"enabled": true, "actor": "  "}),
        ),
        ("/v1/admin/ops/runbooks-signoff", json!({"actor": "a"})),
        (
            "/v1/admin/ops/failure-drills",
            json!({"drill_id": "auth_outage", "actor": "a"}),
        ),
    ];
    for (path, body) in cases {
        let reply = ctx.post(path, &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path} {body}");
        assert_eq!(reply.reason(), "invalid_request");
    }
    let missing = ctx
        .post("/v1/admin/ops/staging-mode", &json!({"enabled": true}))
        .await;
    assert!(missing.body["message"].as_str().unwrap().contains("actor"));
    let reply = put(
        &ctx,
        "/v1/admin/tenants/acme/entitlement",
        &json!({"restore_enabled": 1, "actor": "a"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.reason(), "invalid_request", "{:?}", reply.body);
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("restore_enabled"));
}

#[tokio::test]
async fn every_endpoint_needs_ops_admin() {
    let ctx = TestContext::start().await;
    let reader = ctx
        .token("viewer", &["restore_read", "restore_execute"], &["*"])
        .await;
    let gets = [
        "/v1/admin/ops/staging-mode",
        "/v1/admin/ops/runbooks-signoff",
        "/v1/admin/ops/failure-drills",
        "/v1/admin/ops/audit",
        "/v1/admin/ops/slo",
        "/v1/admin/ops/ga-readiness",
        "/v1/admin/ops/journal-growth",
        "/v1/admin/tenants/acme/entitlement",
    ];
    for path in gets {
        let reply = ctx.send(Method::GET, path, Some(&reader), None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(reply.reason(), "blocked_missing_capability");
        assert_eq!(
            reply.body["details"]["missing_capabilities"],
            json!(["ops_admin"])
        );
        let anonymous = ctx.send(Method::GET, path, None, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            anonymous.reason(),
            "auth_unauthenticated",
            "{:?}",
            anonymous.body
        );
    }
    let body = json!({"enabled": true, "actor": "mallory"});
    let reply = ctx
        .send(
            Method::POST,
            "/v1/admin/ops/staging-mode",
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
        ctx.get("/v1/admin/ops/staging-mode").await.body["enabled"],
        false
    );
}

#[tokio::test]
async fn every_change_is_in_the_audit_trail_with_who_when_and_what() {
    let ctx = TestContext::start().await;
    let lead = ctx.token("lead-7", &["ops_admin"], &["*"]).await;
    let send = |path: &'static str, body: Value| post_as(&ctx, &lead, path, body);
    send(
        "/v1/admin/ops/staging-mode",
        json!({"enabled": true, "actor": "alice"}),
    )
    .await;
    send(
        "/v1/admin/ops/staging-mode",
        json!({"enabled": true, "actor": "alice"}),
    )
    .await;
    send(
        "/v1/admin/ops/runbooks-signoff",
        json!({"signed_off": true, "actor": "bob"}),
    )
    .await;
    send(
        "/v1/admin/ops/failure-drills",
        json!({"drill_id": "sidecar_lag", "status": "fail", "actor": "carol", "notes": "lagged 20m"}),
    )
    .await;
    put(
        &ctx,
        "/v1/admin/tenants/acme/entitlement",
        &json!({"restore_enabled": false, "actor": "dave"}),
    )
    .await;

    let all = ctx.get("/v1/admin/ops/audit").await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(all.body["next_cursor"], Value::Null);
    let first = &items[0];
    assert_eq!(first["kind"], "staging_mode");
    assert_eq!(first["subject"], "staging_mode");
    assert_eq!(first["actor"], "alice");
    assert_eq!(first["operator_id"], "lead-7");
    assert_eq!(first["previous"], json!({"enabled": false}));
    assert_eq!(first["current"], json!({"enabled": true}));
    assert_eq!(first["changed"], true);
    assert!(first["at"].is_string());
    assert_eq!(items[1]["changed"], false, "the same value set again");
    assert_eq!(items[3]["kind"], "failure_drill");
    assert_eq!(items[3]["subject"], "sidecar_lag");
    assert_eq!(
        items[3]["previous"],
        json!({"status": "pending", "notes": null})
    );
    assert_eq!(
        items[3]["current"],
        json!({"status": "fail", "notes": "lagged 20m"})
    );
    assert_eq!(items[4]["kind"], "tenant_entitlement");
    assert_eq!(items[4]["subject"], "acme");
    assert_eq!(items[4]["operator_id"], ctx_admin_operator(&ctx).await);
    assert_eq!(items[4]["previous"], json!({"restore_enabled": true}));
    assert_eq!(items[4]["current"], json!({"restore_enabled": false}));
    let seqs: Vec<i64> = items.iter().map(|i| i["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

async fn post_as(ctx: &TestContext, token: &str, path: &str, body: Value) -> Reply {
    ctx.send(Method::POST, path, Some(token), Some(&body)).await
}

async fn ctx_admin_operator(ctx: &TestContext) -> Value {
    ctx.get("/v1/auth/whoami").await.body["operator_id"].clone()
}

#[tokio::test]
async fn the_audit_trail_pages_and_filters() {
    let ctx = TestContext::start().await;
    for (i, drill) in DRILLS.iter().enumerate() {
        let body = json!({"drill_id": drill, "status": "pass", "actor": format!("op-{i}")});
        ctx.post("/v1/admin/ops/failure-drills", &body).await;
    }
    ctx.post(
        "/v1/admin/ops/staging-mode",
        &json!({"enabled": true, "actor": "a"}),
    )
    .await;
    let mut seen = Vec::new();
    let mut path = "/v1/admin/ops/audit?kind=failure_drill&limit=4".to_owned();
    for page in 0.. {
        assert!(page < 100, "audit pages never end: {seen:?}");
        let page = ctx.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            assert_eq!(item["kind"], "failure_drill");
            seen.push(item["subject"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/admin/ops/audit?kind=failure_drill&limit=4&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(seen, DRILLS);
    let one = ctx.get("/v1/admin/ops/audit?subject=pg_saturation").await;
    assert_eq!(one.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(one.body["items"][0]["actor"], "op-2");
    let bad = ctx.get("/v1/admin/ops/audit?cursor=not-a-cursor").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.reason(), "invalid_request");
    let bad_kind = ctx.get("/v1/admin/ops/audit?kind=weather").await;
    assert_eq!(bad_kind.status, StatusCode::BAD_REQUEST);
    let bad_limit = ctx.get("/v1/admin/ops/audit?limit=0").await;
    assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_limit.reason(),
        "invalid_request",
        "{:?}",
        bad_limit.body
    );
}

#[tokio::test]
async fn entitlement_defaults_to_enabled_and_is_stored() {
    let ctx = TestContext::start().await;
    let read = ctx.get("/v1/admin/tenants/acme/entitlement").await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(read.body["tenant_id"], "acme");
    assert_eq!(read.body["restore_enabled"], true);
    assert_eq!(read.body["updated_at"], Value::Null);
    let off = put(
        &ctx,
        "/v1/admin/tenants/acme/entitlement",
        &json!({"restore_enabled": false, "actor": "dave"}),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.body);
    assert_eq!(off.body["restore_enabled"], false);
    assert_eq!(off.body["actor"], "dave");
    assert_eq!(
        ctx.get("/v1/admin/tenants/acme/entitlement").await.body,
        off.body
    );
    let other = ctx.get("/v1/admin/tenants/globex/entitlement").await;
    assert_eq!(
        other.body["restore_enabled"], true,
        "only acme was disabled"
    );
    let on = put(
        &ctx,
        "/v1/admin/tenants/acme/entitlement",
        &json!({"restore_enabled": true, "actor": "dave"}),
    )
    .await;
    assert_eq!(on.body["restore_enabled"], true);
}

#[tokio::test]
async fn entitlement_of_a_tenant_outside_the_token_is_403() {
    let ctx = TestContext::start().await;
    let scoped = ctx.token("acme-admin", &["ops_admin"], &["acme"]).await;
    let body = json!({"restore_enabled": false, "actor": "x"});
    let reply = ctx
        .send(
            Method::PUT,
            "/v1/admin/tenants/globex/entitlement",
            Some(&scoped),
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    let read = ctx
        .send(
            Method::GET,
            "/v1/admin/tenants/globex/entitlement",
            Some(&scoped),
            None,
        )
        .await;
    assert_eq!(read.reason(), "blocked_tenant_scope");
    assert_eq!(
        ctx.get("/v1/admin/tenants/globex/entitlement").await.body["restore_enabled"],
        true
    );
    let own = ctx
        .send(
            Method::PUT,
            "/v1/admin/tenants/acme/entitlement",
            Some(&scoped),
            Some(&body),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
}

#[tokio::test]
async fn changes_survive_a_restart() {
    let mut ctx = TestContext::start().await;
    ctx.post(
        "/v1/admin/ops/staging-mode",
        &json!({"enabled": true, "actor": "a"}),
    )
    .await;
    ctx.post(
        "/v1/admin/ops/failure-drills",
        &json!({"drill_id": "pg_saturation", "status": "pass", "actor": "a"}),
    )
    .await;
    ctx.restart().await;
    assert_eq!(
        ctx.get("/v1/admin/ops/staging-mode").await.body["enabled"],
        true
    );
    assert_eq!(
        ctx.get("/v1/admin/ops/failure-drills").await.body["drills"][2]["status"],
        "pass"
    );
    assert_eq!(
        ctx.get("/v1/admin/ops/audit").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn concurrent_changes_chain_exactly_in_the_audit_trail() {
    let ctx = TestContext::start().await;
    let calls = (0..16).map(|i| {
        let body = json!({"enabled": i % 3 != 0, "actor": format!("op-{i}")});
        let request = ctx
            .client
            .post(ctx.url("/v1/admin/ops/staging-mode"))
            .bearer_auth(&ctx.admin_token)
            .json(&body);
        async move { TestContext::reply(request.send().await.unwrap()).await }
    });
    for reply in futures::future::join_all(calls).await {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let trail = ctx.get("/v1/admin/ops/audit?kind=staging_mode").await;
    let items = trail.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 16);
    // Each change replaced exactly the state the previous one stored.
    assert_eq!(items[0]["previous"], json!({"enabled": false}));
    for pair in items.windows(2) {
        assert_eq!(pair[1]["previous"], pair[0]["current"], "{pair:?}");
        assert_eq!(
            pair[1]["changed"],
            pair[1]["previous"] != pair[1]["current"]
        );
    }
    let last = &items[15]["current"]["enabled"];
    assert_eq!(
        &ctx.get("/v1/admin/ops/staging-mode").await.body["enabled"],
        last
    );
}
