//! Credentials: Basic, OAuth client credentials with refresh, revocation,
//! and secrets kept out of every text.

use futures::TryStreamExt;
use rrs::target::{RowResult, Target, TargetError};
use serde_json::json;

use crate::support::{
    create, fake, oauth, schema, seed_incidents, target, CLIENT_SECRET, PASSWORD,
};

fn token_requests(fake: &rrs_fake_servicenow::Running) -> usize {
    let log = fake.handle.requests();
    log.iter().filter(|r| r.path == "/oauth_token.do").count()
}

fn assert_no_secret(text: &str) {
    for secret in [PASSWORD, CLIENT_SECRET] {
        assert!(!text.contains(secret), "a secret leaked into {text:?}");
    }
}

#[tokio::test]
async fn revoked_basic_credentials_are_unauthorized() {
    let fake = fake().await;
    seed_incidents(&fake, 3);
    let target = target(&fake, |_| {});
    let incident = schema(&target, "incident").await;
    target.reachable().await.unwrap();
    fake.handle.revoke_user("admin");
    let scan = target
        .scan("incident", &incident, None)
        .try_collect::<Vec<_>>()
        .await;
    assert!(
        matches!(scan, Err(TargetError::Unauthorized(_))),
        "{scan:?}"
    );
    let batch: Vec<_> = (0..6).map(|n| create(n, json!({}))).collect();
    let apply = target.apply("incident", &incident, &batch).await;
    assert!(
        matches!(apply, Err(TargetError::Unauthorized(_))),
        "{apply:?}"
    );
    assert!(
        fake.handle.requests().iter().filter(|r| r.write).count() <= 4,
        "rows not started are not sent"
    );
    let reachable = target.reachable().await;
    assert!(matches!(reachable, Err(TargetError::Unauthorized(_))));
    for error in [
        scan.unwrap_err(),
        apply.unwrap_err(),
        reachable.unwrap_err(),
    ] {
        assert_no_secret(&error.to_string());
        assert_no_secret(&format!("{error:?}"));
    }
}

#[tokio::test]
async fn an_oauth_token_is_cached_and_renewed_when_refused() {
    let fake = fake().await;
    let target = target(&fake, |s| s.auth = Some(oauth()));
    let incident = schema(&target, "incident").await;
    let batch: Vec<_> = (0..5).map(|n| create(n, json!({"number": n}))).collect();
    let results = target.apply("incident", &incident, &batch).await.unwrap();
    assert!(results
        .iter()
        .all(|r| matches!(r, RowResult::Applied { .. })));
    assert_eq!(token_requests(&fake), 1, "one token for every request");
    let written: Vec<_> = fake
        .handle
        .requests()
        .into_iter()
        .filter(|r| r.write)
        .collect();
    assert!(written.iter().all(|r| r.user.as_deref() == Some("svc_rrs")));

    fake.handle.expire_tokens();
    target.reachable().await.unwrap();
    assert_eq!(token_requests(&fake), 2, "a refused token is renewed once");
    let statuses: Vec<Option<u16>> = fake
        .handle
        .requests()
        .iter()
        .rev()
        .take(3)
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [Some(200), Some(200), Some(401)],
        "401, new token, retried"
    );

    fake.handle.revoke_client("rrs");
    fake.handle.expire_tokens();
    let refused = target.reachable().await;
    let Err(TargetError::Unauthorized(message)) = refused else {
        panic!("{refused:?}");
    };
    assert_no_secret(&message);
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_errors() {
    let fake = fake().await;
    let basic = target(&fake, |_| {});
    let client = target(&fake, |s| s.auth = Some(oauth()));
    client.reachable().await.unwrap();
    for text in [
        format!("{basic:?}"),
        format!("{client:?}"),
        format!("{basic:#?}"),
    ] {
        assert_no_secret(&text);
        assert!(text.contains("redacted"), "{text}");
    }
    let mut settings = crate::support::settings(&fake);
    settings.url = Some(format!("http://admin:{PASSWORD}@127.0.0.1:1"));
    let refused = rrs::target::servicenow::ServiceNowTarget::new(&settings, PASSWORD.into());
    assert_no_secret(&refused.unwrap_err());
    // An instance that cannot be reached: the transport's error, scrubbed.
    settings.url = Some("http://127.0.0.1:1".into());
    settings.retries = 1;
    let unreachable = rrs::target::servicenow::ServiceNowTarget::new(&settings, PASSWORD.into());
    let error = unreachable.unwrap().reachable().await.unwrap_err();
    assert!(matches!(error, TargetError::Unavailable(_)), "{error:?}");
    assert_no_secret(&error.to_string());
}
