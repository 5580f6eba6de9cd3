//! Media in an S3-compatible store (moto's server, a real S3 API started by
//! the test set-up): two replicas on PostgreSQL share it, so an attachment
//! ingested through one restores through the other; a blob missing from
//! the bucket ends the job `failed_media_incomplete`; and a PostgreSQL
//! service refuses a local media store nobody declared shared.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rrs_tests::process::ServerProcess;
use rrs_tests::s3::S3Server;
use rrs_tests::{TestContext, TestDatabase};
use serde_json::{json, Value};

use crate::execution_media::{
    assert_media_incomplete, job, job_end, media_plan, media_records, planned, sha,
};

const SERVER: &str = env!("CARGO_BIN_EXE_rrs-e2e-server");

fn blob_key(prefix: &str, sha256: &str) -> String {
    format!("{prefix}/sha256/{}/{sha256}", &sha256[..2])
}

/// Replica A reads its S3 credentials and region from the standard `AWS_*`
/// variables, replica B from `[media]` (`RRS_MEDIA__*`): both paths of
/// configuration reach the same bucket and prefix.
fn replica_a_env(s3: &S3Server) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = s3
        .env("shared")
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "RRS_MEDIA__ACCESS_KEY_ID" | "RRS_MEDIA__SECRET_ACCESS_KEY" | "RRS_MEDIA__REGION"
            )
        })
        .collect();
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing-a"),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret-a"),
        ("AWS_REGION", "us-east-1"),
    ] {
        env.push((k.to_owned(), v.to_owned()));
    }
    env
}

async fn replica(ctx: &TestContext, name: &str, env: &[(String, String)]) -> ServerProcess {
    let data_dir = ctx.data_path(name);
    std::fs::create_dir_all(&data_dir).unwrap();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ServerProcess::start_with(SERVER, &ctx.database.url, &data_dir, &ctx.admin_token, &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only (RRS_TEST_DATABASE_URL, run with --include-ignored): replicas share a database"]
async fn an_attachment_ingested_through_one_replica_restores_through_another() {
    rrs_tests::database::require_postgres("several replicas share a database");
    let s3 = S3Server::start().await;
    let ctx = TestContext::start_with(&s3.toml("shared")).await;
    let a = replica(&ctx, "replica-a", &replica_a_env(&s3)).await;
    let b = replica(&ctx, "replica-b", &s3.env("shared")).await;

    let media = media_records(&ctx).await;
    let ingested = a.post("/v1/index/media", &media).await;
    assert_eq!(ingested.status, StatusCode::OK, "{:?}", ingested.body);
    let hello = sha(b"hello");
    assert_eq!(
        s3.object(&blob_key("shared", &hello)).await.as_deref(),
        Some(&b"hello"[..]),
        "the blob is in the bucket, under the prefix"
    );
    assert!(
        std::fs::read_dir(ctx.data_path("replica-a"))
            .unwrap()
            .all(|e| e.unwrap().file_name() != "media"),
        "nothing in replica A's data directory"
    );

    let plan = planned(&ctx).await;
    let job_id = job(&ctx, &plan).await;
    let done = b
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed", "{:?}", done.body);
    let outcomes = done.body["media_outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    for (id, bytes) in [("m1", &b"hello"[..]), ("m2", &b"world"[..])] {
        let m = outcomes.iter().find(|m| m["media_id"] == id).unwrap();
        assert_eq!(m["outcome"], "applied", "{m:?}");
        assert_eq!(m["attempt_count"], 1, "{m:?}");
        assert_eq!(m["observed_sha256_plain"], sha(bytes));
        assert_eq!(m["expected_sha256_plain"], sha(bytes));
        let restored = b
            .get(&format!("/v1/targets/acme/prod/tables/incident/media/{id}"))
            .await;
        assert_eq!(restored.status, StatusCode::OK, "{:?}", restored.body);
        assert_eq!(restored.body["sha256_plain"], sha(bytes));
        assert_eq!(restored.body["size_bytes"], bytes.len());
    }
    assert_eq!(
        job_end(&ctx, &job_id).await,
        ("completed".into(), "completed".into())
    );
    for (name, replica) in [("A", &a), ("B", &b)] {
        let log = replica.log();
        assert!(
            log.contains(&s3.bucket),
            "replica {name} logs its store:\n{log}"
        );
        for secret in ["testing-secret", "testing-a"] {
            assert!(!log.contains(secret), "replica {name} logged a credential");
        }
    }
}

/// A blob deleted from the bucket after ingestion: that attachment fails
/// (`failed_media_retry_exhausted`), the other is restored, and the job
/// ends `failed` with `failed_media_incomplete`. SQLite and PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_missing_from_the_bucket_ends_the_job_media_incomplete() {
    let s3 = S3Server::start().await;
    let ctx = TestContext::start_with(&format!(
        "{}[execution]\nmedia_attempts = 2\nmedia_backoff_ms = 1\n",
        s3.toml("p")
    ))
    .await;
    let plan = media_plan(&ctx).await;
    let hello = sha(b"hello");
    assert!(s3.object(&blob_key("p", &hello)).await.is_some());
    s3.delete(&blob_key("p", &hello)).await;
    let job_id = job(&ctx, &plan).await;
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let outcomes = done.body["media_outcomes"].as_array().unwrap();
    let by_id = |id: &str| -> Value {
        outcomes
            .iter()
            .find(|m| m["media_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("m1")["reason_code"], "failed_media_retry_exhausted");
    assert_eq!(by_id("m1")["attempt_count"], 2);
    assert_eq!(by_id("m2")["outcome"], "applied");
    assert_media_incomplete(&ctx, &job_id, &done.body, &["m1"]).await;
    assert_eq!(
        ctx.target_payload("incident", "a1").await,
        Some(json!({"v": 1})),
        "the rows stay restored"
    );
}

/// `rrs serve` on PostgreSQL with the default local media store exits
/// non-zero before serving, saying why and how to fix it.
#[tokio::test]
#[ignore = "PostgreSQL only (RRS_TEST_DATABASE_URL, run with --include-ignored): the refusal is about PostgreSQL"]
async fn postgres_with_an_unshared_local_media_store_refuses_to_start() {
    rrs_tests::database::require_postgres("the refusal is about PostgreSQL");
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(SERVER)
        .arg("serve")
        .env("RRS_DATABASE_URL", &database.url)
        .env("RRS_DATA_DIR", dir.path())
        .env("RRS_LISTEN_ADDR", "127.0.0.1:0")
        .env("RRS_MEDIA__BACKEND", "local")
        .env("RRS_MEDIA__SHARED_DIRECTORY", "false")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("rrs serve kept running with PostgreSQL and a local media store");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    for named in [
        "cannot read each other's local media directories",
        "backend = \"s3\"",
        "media.shared_directory = true",
    ] {
        assert!(stderr.contains(named), "{named:?} not in:\n{stderr}");
    }
    assert!(!stderr.contains("listening on"), "{stderr}");
}
