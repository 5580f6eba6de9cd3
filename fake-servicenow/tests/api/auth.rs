//! HTTP Basic, OAuth client credentials, and revocation.

use serde_json::{json, Value};

use crate::common::{assert_error, Fake, APP_USER, CLIENT_ID, CLIENT_SECRET};

async fn token(fake: &Fake, id: &str, secret: &str) -> (u16, Value) {
    let response = fake
        .client
        .post(fake.url("/oauth_token.do"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn with_bearer(fake: &Fake, access: &str) -> crate::common::Reply {
    fake.send(
        fake.client
            .get(fake.url("/api/now/table/incident"))
            .bearer_auth(access)
            .header("Accept", "application/json"),
    )
    .await
}

#[tokio::test]
async fn basic_auth_is_required_and_checked() {
    let fake = Fake::start().await;
    let anonymous = fake
        .send(fake.client.get(fake.url("/api/now/table/incident")))
        .await;
    assert_error(&anonymous, 401, "User Not Authenticated");
    assert!(anonymous.header("www-authenticate").is_some());
    let wrong = fake
        .send(
            fake.client
                .get(fake.url("/api/now/table/incident"))
                .basic_auth("admin", Some("nope")),
        )
        .await;
    assert_error(&wrong, 401, "User Not Authenticated");
    assert_eq!(fake.get("/api/now/table/incident").await.status, 200);
}

#[tokio::test]
async fn client_credentials_token_acts_as_the_application_user() {
    let fake = Fake::start().await;
    let (status, body) = token(&fake, CLIENT_ID, CLIENT_SECRET).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1799);
    assert_eq!(body["scope"], "useraccount");
    let access = body["access_token"].as_str().unwrap();
    let (_, again) = token(&fake, CLIENT_ID, CLIENT_SECRET).await;
    assert_eq!(
        again["access_token"], access,
        "a valid token is handed out again"
    );

    let created = fake
        .send(
            fake.client
                .post(fake.url("/api/now/table/incident"))
                .bearer_auth(access)
                .json(&json!({"short_description": "via oauth"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["result"]["sys_created_by"], APP_USER);

    let (status, denied) = token(&fake, CLIENT_ID, "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(
        denied,
        json!({"error": "server_error", "error_description": "access_denied"})
    );
    let json_body = fake
        .client
        .post(fake.url("/oauth_token.do"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_body.status(),
        400,
        "the token endpoint takes forms only"
    );
    assert_error(
        &with_bearer(&fake, "not-a-token").await,
        401,
        "User Not Authenticated",
    );
}

#[tokio::test]
async fn revoking_a_credential_stops_it_and_its_tokens() {
    let fake = Fake::start().await;
    let (_, body) = token(&fake, CLIENT_ID, CLIENT_SECRET).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(with_bearer(&fake, &access).await.status, 200);

    let revoke = fake
        .client
        .post(fake.url("/fake/credentials/revoke"))
        .json(&json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    assert_error(
        &with_bearer(&fake, &access).await,
        401,
        "User Not Authenticated",
    );
    assert_eq!(token(&fake, CLIENT_ID, CLIENT_SECRET).await.0, 401);

    assert!(fake.handle().revoke_user("admin"));
    assert_error(
        &fake.get("/api/now/table/incident").await,
        401,
        "User Not Authenticated",
    );

    fake.handle().reset();
    assert_eq!(fake.get("/api/now/table/incident").await.status, 200);
    let (status, fresh) = token(&fake, CLIENT_ID, CLIENT_SECRET).await;
    assert_eq!(status, 200);
    assert_eq!(
        with_bearer(&fake, fresh["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn expired_tokens_are_refused_and_replaced() {
    let fake = Fake::start().await;
    let (_, first) = token(&fake, CLIENT_ID, CLIENT_SECRET).await;
    let first = first["access_token"].as_str().unwrap().to_owned();
    let expire = fake
        .client
        .post(fake.url("/fake/tokens/expire"))
        .send()
        .await
        .unwrap();
    assert_eq!(expire.status(), 204);
    assert_error(
        &with_bearer(&fake, &first).await,
        401,
        "User Not Authenticated",
    );
    let (_, second) = token(&fake, CLIENT_ID, CLIENT_SECRET).await;
    let second = second["access_token"].as_str().unwrap();
    assert_ne!(second, first);
    assert_eq!(with_bearer(&fake, second).await.status, 200);
}
