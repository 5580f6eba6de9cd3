//! Tokens and capabilities: 401 for no, unknown, revoked or expired
//! tokens; 403 with `missing_capabilities`; no escalation; persistence.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use serde_json::json;

#[tokio::test]
async fn no_or_unknown_token_is_401() {
    let ctx = TestContext::start().await;
    let none = ctx.send(Method::GET, "/v1/auth/whoami", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.reason(), "auth_unauthenticated");
    let unknown = ctx
        .send(Method::GET, "/v1/auth/whoami", Some("rrs_nope"), None)
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.reason(), "auth_unauthenticated");
    let garbage = ctx
        .client
        .get(ctx.url("/v1/auth/whoami"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    let garbage = TestContext::reply(garbage).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.reason(), "auth_unauthenticated");
}

#[tokio::test]
async fn issued_token_authenticates_with_its_grants() {
    let ctx = TestContext::start().await;
    let token = ctx
        .token("ops-7", &["restore_read", "restore_plan"], &["acme"])
        .await;
    let me = ctx
        .send(Method::GET, "/v1/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["operator_id"], "ops-7");
    assert_eq!(
        me.body["capabilities"],
        json!(["restore_read", "restore_plan"])
    );
    assert_eq!(me.body["tenants"], json!(["acme"]));
    assert_eq!(me.body["expires_at"], serde_json::Value::Null);
}

#[tokio::test]
async fn missing_capability_is_403_naming_it() {
    let ctx = TestContext::start().await;
    let token = ctx.token("ops-7", &["restore_read"], &["*"]).await;
    let body = json!({"operator_id": "x", "capabilities": ["restore_read"], "tenants": ["acme"]});
    let reply = ctx
        .send(Method::POST, "/v1/auth/tokens", Some(&token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "blocked_missing_capability");
    assert_eq!(
        reply.body["details"]["missing_capabilities"],
        json!(["ops_admin"])
    );
}

#[tokio::test]
async fn a_token_cannot_grant_more_than_it_holds() {
    let ctx = TestContext::start().await;
    let admin = ctx
        .token("lead", &["ops_admin", "restore_read"], &["acme"])
        .await;
    let wider_caps =
        json!({"operator_id": "x", "capabilities": ["restore_execute"], "tenants": ["acme"]});
    let reply = ctx
        .send(
            Method::POST,
            "/v1/auth/tokens",
            Some(&admin),
            Some(&wider_caps),
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
        json!(["restore_execute"])
    );
    let wider_tenants =
        json!({"operator_id": "x", "capabilities": ["restore_read"], "tenants": ["globex"]});
    let reply = ctx
        .send(
            Method::POST,
            "/v1/auth/tokens",
            Some(&admin),
            Some(&wider_tenants),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    let all_tenants =
        json!({"operator_id": "x", "capabilities": ["restore_read"], "tenants": ["*"]});
    let reply = ctx
        .send(
            Method::POST,
            "/v1/auth/tokens",
            Some(&admin),
            Some(&all_tenants),
        )
        .await;
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    let inside = json!({"operator_id": "x", "capabilities": ["restore_read"], "tenants": ["acme"]});
    let reply = ctx
        .send(Method::POST, "/v1/auth/tokens", Some(&admin), Some(&inside))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn revoked_token_is_401_and_revoking_twice_is_404() {
    let ctx = TestContext::start().await;
    let body =
        json!({"operator_id": "ops-1", "capabilities": ["restore_read"], "tenants": ["acme"]});
    let issued = ctx.post("/v1/auth/tokens", &body).await;
    let token = issued.body["token"].as_str().unwrap().to_owned();
    let token_id = issued.body["token_id"].as_str().unwrap().to_owned();
    assert_eq!(
        ctx.send(Method::GET, "/v1/auth/whoami", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    let path = format!("/v1/auth/tokens/{token_id}");
    let revoked = ctx
        .send(Method::DELETE, &path, Some(&ctx.admin_token), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = ctx
        .send(Method::GET, "/v1/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.reason(), "auth_unauthenticated");
    let again = ctx
        .send(Method::DELETE, &path, Some(&ctx.admin_token), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.reason(), "token_not_found");
}

#[tokio::test]
async fn expired_token_is_401_token_expired() {
    let ctx = TestContext::start().await;
    let body = json!({"operator_id": "ops-1", "capabilities": ["restore_read"], "tenants": ["acme"], "ttl_seconds": 1});
    let issued = ctx.post("/v1/auth/tokens", &body).await;
    assert_eq!(issued.status, StatusCode::CREATED);
    assert!(issued.body["expires_at"].is_string());
    let token = issued.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        ctx.send(Method::GET, "/v1/auth/whoami", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = ctx
        .send(Method::GET, "/v1/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.reason(), "auth_token_expired");
}

#[tokio::test]
async fn tokens_survive_a_restart_and_are_stored_hashed() {
    let mut ctx = TestContext::start().await;
    let token = ctx.token("ops-9", &["restore_read"], &["acme"]).await;
    ctx.restart().await;
    let me = ctx
        .send(Method::GET, "/v1/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["operator_id"], "ops-9");
    let db = ctx.database.connect().await;
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT token_sha256 FROM auth_tokens",
        ))
        .await
        .unwrap();
    assert!(rows.len() >= 2);
    for row in rows {
        let stored: String = row.try_get("", "token_sha256").unwrap();
        assert_ne!(stored, token);
        assert_eq!(stored.len(), 64);
    }
}

#[tokio::test]
async fn generated_bootstrap_token_is_created_once() {
    let database = rrs_tests::TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    // One process at a time on this database: its local media directory
    // is as shared as it needs to be (PostgreSQL refuses it otherwise).
    let text = format!(
        "data_dir = {:?}\n[database]\nurl = {:?}\n[media]\nshared_directory = true\n",
        dir.path().display().to_string(),
        database.url
    );
    let first = rrs::prepare(rrs::config::Config::from_toml_str(&text).unwrap())
        .await
        .unwrap();
    let token = first
        .new_bootstrap_token
        .clone()
        .expect("a token on first start");
    assert!(token.starts_with("rrs_"));
    let second = rrs::prepare(rrs::config::Config::from_toml_str(&text).unwrap())
        .await
        .unwrap();
    assert!(second.new_bootstrap_token.is_none(), "printed only once");
    let principal = second.service.authenticate(&token).await.unwrap();
    assert_eq!(
        principal.capabilities.len(),
        <rrs::domain::principal::Capability as strum::IntoEnumIterator>::iter().count()
    );
}
