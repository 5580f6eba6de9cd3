//! Open endpoints: liveness, readiness, metrics, the document and Swagger UI.

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let ctx = TestContext::start().await;
    let live = ctx.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.body["status"], "ok");
    let ready = ctx.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{:?}", ready.body);
    assert_eq!(ready.body["database"], true);
    assert_eq!(ready.body["migrations"], true);
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_status() {
    let ctx = TestContext::start().await;
    ctx.send(Method::GET, "/healthz", None, None).await;
    ctx.send(Method::GET, "/v1/auth/whoami", None, None).await;
    let response = ctx.client.get(ctx.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(text.contains("rrs_http_requests_total"), "{text}");
    assert!(text.contains(r#"operation="healthz""#), "{text}");
    assert!(
        text.contains(r#"operation="who_am_i",status="401""#),
        "{text}"
    );
    assert!(
        text.contains("rrs_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn swagger_ui_and_document_are_served() {
    let ctx = TestContext::start().await;
    let docs = ctx.client.get(ctx.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    let spec = ctx.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.body["paths"]["/v1/auth/tokens"]["post"]["operationId"] == "create_token");
    assert_eq!(spec.body["servers"][0]["url"], ctx.url(""));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let ctx = TestContext::start().await;
    let reply = ctx.send(Method::GET, "/healthz", None, None).await;
    assert!(reply.headers.get("x-request-id").is_some());
    let echoed = ctx
        .client
        .get(ctx.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
}

/// A database that lacks one of this build's migrations is not ready:
/// `503 not_ready`, with the failed check in `details`.
#[tokio::test]
async fn a_missing_migration_makes_the_service_not_ready() {
    let ctx = TestContext::start().await;
    rrs_tests::faults::execute(
        &ctx.database,
        "DELETE FROM seaql_migrations WHERE version = \
         (SELECT MAX(version) FROM seaql_migrations)",
    )
    .await;
    let ready = ctx.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (ready.status, ready.reason()),
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
        "{:?}",
        ready.body
    );
    assert_eq!(
        ready.body["details"]["migrations"], false,
        "{:?}",
        ready.body
    );
    assert_eq!(ready.body["details"]["database"], true, "{:?}", ready.body);
}
