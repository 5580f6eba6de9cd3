//! The instance's credentials never leave the connector: not in the
//! service's logs (at `trace`), not in any API answer, not in the OpenAPI
//! document, not in evidence packages, not in metrics.

use reqwest::StatusCode;
use rrs_tests::process::ServerProcess;
use rrs_tests::servicenow::SnInstance;
use rrs_tests::TestContext;
use serde_json::json;

use super::support::{damaged_incidents, plan};

/// Fails naming the secret and where it showed up.
fn assert_clean(secrets: &[String], place: &str, text: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a credential appears in {place}"
        );
    }
}

#[tokio::test]
async fn credentials_appear_in_no_log_answer_document_or_package() {
    let sn = SnInstance::start(vec![rrs_tests::servicenow::incident(&[
        "short_description",
        "state",
    ])])
    .await;
    let secrets = sn.secrets();
    let ctx = TestContext::start_with(&sn.oauth_target_toml("")).await;
    damaged_incidents(&sn, &ctx, 5).await;
    let data = ctx.data_path("replica");
    std::fs::create_dir_all(&data).unwrap();
    let config = data.join("rrs.toml");
    std::fs::write(&config, sn.oauth_target_toml("")).unwrap();
    let server = ServerProcess::start_configured(
        env!("CARGO_BIN_EXE_rrs-e2e-server"),
        &ctx.database.url,
        &data,
        &ctx.admin_token,
        &[("RRS_LOG__FILTER", "trace")],
        Some(&config),
    )
    .await;
    let mut answers = Vec::new();
    let targets = server.get("/v1/targets").await;
    assert_eq!(
        targets.body["items"][0]["reachable"], true,
        "{:?}",
        targets.body
    );
    answers.push(targets.body.to_string());
    let plan = plan(&ctx, json!({})).await;
    answers.push(plan.to_string());
    let job = server
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{:?}", job.body);
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();
    let done = server
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    answers.push(done.body.to_string());
    for path in [
        format!("/v1/jobs/{job_id}"),
        format!("/v1/jobs/{job_id}/events"),
        format!("/v1/jobs/{job_id}/rollback-journal"),
        format!("/v1/jobs/{job_id}/execution"),
    ] {
        let reply = server.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
        answers.push(reply.body.to_string());
    }
    let exported = server
        .post(&format!("/v1/jobs/{job_id}/evidence/export"), &json!({}))
        .await;
    assert_eq!(exported.status, StatusCode::CREATED, "{:?}", exported.body);
    answers.push(exported.body.to_string());
    let client = reqwest::Client::new();
    for path in [
        format!("/v1/jobs/{job_id}/evidence/package"),
        "/openapi.json".to_owned(),
        "/metrics".to_owned(),
    ] {
        let response = client
            .get(server.url(&path))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
        assert_clean(&secrets, &path, &text);
    }

    // A refused credential is reported without it.
    sn.fake
        .handle
        .revoke_client(rrs_tests::servicenow::OAUTH_CLIENT);
    sn.fake.handle.expire_tokens();
    let refused = server.get("/v1/targets").await;
    assert_eq!(
        refused.body["items"][0]["reachable"], false,
        "{:?}",
        refused.body
    );
    answers.push(refused.body.to_string());

    for (i, answer) in answers.iter().enumerate() {
        assert_clean(&secrets, &format!("answer {i}"), answer);
    }
    let log = server.log();
    assert!(log.len() > 10_000, "the log was captured at trace level");
    assert_clean(&secrets, "the service's log", &log);
}
