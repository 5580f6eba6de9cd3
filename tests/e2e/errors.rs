//! Bad input of every kind answers the JSON error body with the right
//! status, never a 5xx, and writes nothing.

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use serde_json::json;

async fn raw(
    ctx: &TestContext,
    method: Method,
    path: &str,
    content_type: &str,
    body: &'static str,
) -> rrs_tests::Reply {
    let response = ctx
        .client
        .request(method, ctx.url(path))
        .bearer_auth(&ctx.admin_token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    TestContext::reply(response).await
}

fn assert_error(reply: &rrs_tests::Reply, status: StatusCode, reason: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.reason(), reason, "{:?}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn malformed_json_is_400() {
    let ctx = TestContext::start().await;
    let reply = raw(
        &ctx,
        Method::POST,
        "/v1/auth/tokens",
        "application/json",
        "{not json",
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn missing_field_is_400_naming_it() {
    let ctx = TestContext::start().await;
    let reply = ctx
        .post(
            "/v1/auth/tokens",
            &json!({"capabilities": [], "tenants": ["a"]}),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("operator_id"),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn wrong_type_is_400() {
    let ctx = TestContext::start().await;
    let reply = ctx
        .post(
            "/v1/auth/tokens",
            &json!({"operator_id": 7, "capabilities": [], "tenants": ["a"]}),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let reply = ctx
        .post("/v1/auth/tokens", &json!({"operator_id": "x", "capabilities": [], "tenants": ["a"], "ttl_seconds": "soon"}))
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn unknown_enum_value_is_400_naming_it() {
    let ctx = TestContext::start().await;
    let reply = ctx
        .post(
            "/v1/auth/tokens",
            &json!({"operator_id": "x", "capabilities": ["root_access"], "tenants": ["a"]}),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("root_access"),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn out_of_range_value_is_400() {
    let ctx = TestContext::start().await;
    let reply = ctx
        .post(
            "/v1/auth/tokens",
            &json!({"operator_id": "x", "capabilities": [], "tenants": ["a"], "ttl_seconds": 0}),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let reply = ctx
        .post(
            "/v1/auth/tokens",
            &json!({"operator_id": "x", "capabilities": [], "tenants": []}),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn wrong_content_type_is_a_json_error() {
    let ctx = TestContext::start().await;
    let reply = raw(&ctx, Method::POST, "/v1/auth/tokens", "text/plain", "hello").await;
    assert!(reply.status.is_client_error(), "{:?}", reply.status);
    assert!(reply.body["reason_code"].is_string(), "{:?}", reply.body);
}

#[tokio::test]
async fn oversize_body_is_413() {
    let ctx = TestContext::start_with("[server]\nbody_limit_bytes = 1024\n").await;
    let big = json!({"operator_id": "x".repeat(4096), "capabilities": [], "tenants": ["a"]});
    let reply = ctx.post("/v1/auth/tokens", &big).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // The same without Content-Length: a chunked body is counted as it arrives.
    let chunks = futures_stream(serde_json::to_vec(&big).unwrap());
    let response = ctx
        .client
        .post(ctx.url("/v1/auth/tokens"))
        .bearer_auth(&ctx.admin_token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    let reply = TestContext::reply(response).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

fn futures_stream(bytes: Vec<u8>) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::iter(
        bytes
            .chunks(100)
            .map(|c| Ok(c.to_vec()))
            .collect::<Vec<_>>(),
    )
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_json() {
    let ctx = TestContext::start().await;
    let reply = ctx.get("/v1/nothing-here").await;
    assert_error(&reply, StatusCode::NOT_FOUND, "route_not_found");
    let reply = ctx
        .send(
            Method::PATCH,
            "/v1/auth/tokens",
            Some(&ctx.admin_token),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn rejected_requests_write_nothing() {
    let ctx = TestContext::start().await;
    let unknown_capability = ctx
        .post(
            "/v1/auth/tokens",
            &json!({"operator_id": "x", "capabilities": ["nope"], "tenants": ["a"]}),
        )
        .await;
    assert_error(
        &unknown_capability,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let empty_operator = ctx
        .post(
            "/v1/auth/tokens",
            &json!({"operator_id": "", "capabilities": [], "tenants": ["a"]}),
        )
        .await;
    assert_error(&empty_operator, StatusCode::BAD_REQUEST, "invalid_request");
    let db = ctx.database.connect().await;
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT token_id FROM auth_tokens",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only the bootstrap token exists");
}

/// A body field the service does not know is refused, naming it, and the
/// request changes nothing: a caller must never believe it planned or
/// wrote something the service ignored.
#[tokio::test]
async fn unknown_request_fields_are_400_naming_them() {
    let ctx = TestContext::start().await;
    let dry_run = json!({"tenant_id": "acme", "instance_id": "prod", "pit": "2026-11-20T10:00:00Z",
        "scope": {"tables": [{"table": "incident"}]}});
    let cases = [
        (
            "restore_into",
            json!({"tenant_id": "acme", "instance_id": "sandbox"}),
        ),
        ("delete_decision", json!([])),
    ];
    for (field, value) in cases {
        let mut body = dry_run.clone();
        body[field] = value;
        let reply = ctx.post("/v1/plans/dry-run", &body).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{message}");
    }
    // Nested: a misspelled `sys_ids` inside a scoped table.
    let mut body = dry_run.clone();
    body["scope"]["tables"][0]["sys_id"] = json!(["a1"]);
    let reply = ctx.post("/v1/plans/dry-run", &body).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("sys_id") && message.contains("scope.tables[0]"),
        "{message}"
    );
    // In a tagged union (an index record) too, and nothing is stored.
    let record = json!({"records": [{"op": "upsert", "tenant_id": "acme", "instance_id": "prod",
        "table": "incident", "sys_id": "a1", "event_time": "2026-11-20T09:00:00Z",
        "topic": "t", "partition": 0, "offset": 1, "payload": {}, "offest": 2}]});
    let reply = ctx.post("/v1/index/records", &record).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(reply.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("offest"));
    // A record's payload is free-form by design: any field is data.
    let mut free = record.clone();
    free["records"][0].as_object_mut().unwrap().remove("offest");
    free["records"][0]["payload"] = json!({"anything": 1, "u_custom_field": "x"});
    let reply = ctx.post("/v1/index/records", &free).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["accepted"], 1);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let ctx = TestContext::start().await;
    let reply = raw(
        &ctx,
        Method::POST,
        "/v1/auth/tokens",
        "text/plain",
        "{\"capabilities\": [], \"tenants\": [\"a\"]}",
    )
    .await;
    assert_error(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[tokio::test]
async fn restored_media_that_does_not_exist_is_404() {
    let ctx = TestContext::start().await;
    let reply = ctx
        .get("/v1/targets/acme/prod/tables/incident/media/no_such_media")
        .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "media_not_found");
}

/// A database failure that is not an outage (here a write refused by an
/// injected trigger) answers `500 internal_error` with a generic message,
/// and the next request, the fault removed, succeeds.
#[tokio::test]
async fn a_failed_write_is_500_internal_error() {
    let ctx = TestContext::start().await;
    let fault = rrs_tests::faults::InjectedFault::refuse_inserts(
        &ctx.database,
        "refuse_tokens",
        "auth_tokens",
        "1 = 1",
    )
    .await;
    let body =
        json!({"operator_id": "op-1", "capabilities": ["restore_read"], "tenants": ["acme"]});
    let reply = ctx.post("/v1/auth/tokens", &body).await;
    assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert!(
        !reply.body.to_string().contains("injected fault"),
        "the cause stays in the log: {:?}",
        reply.body
    );
    fault.remove(&ctx.database).await;
    let reply = ctx.post("/v1/auth/tokens", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}
