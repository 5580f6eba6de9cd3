//! One policy set across replicas: a reload accepted on one replica is
//! recorded as the next generation and every other replica converges to it
//! (its plugins' wasm travels through the database, so a replica without
//! the file loads the same bytes, and lists and records the signer the
//! accepting replica verified); a refused reload is recorded nowhere;
//! SIGHUP records like the endpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rrs_tests::process::ServerProcess;
use rrs_tests::TestContext;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SERVER: &str = env!("CARGO_BIN_EXE_rrs-e2e-server");

/// How long a replica may take to converge before the test fails.
const CONVERGE_WITHIN: Duration = Duration::from_secs(20);

/// The default policy file with the gate replaced by `wasm` and its
/// `max_lag_seconds` set.
fn policy_file(wasm: Option<&Path>, max_lag: u64) -> String {
    signed_policy_file(wasm, max_lag, None)
}

/// [`policy_file`], trusting `release_key` (base64) as `release`.
fn signed_policy_file(wasm: Option<&Path>, max_lag: u64, release_key: Option<&str>) -> String {
    let signatures = release_key.map_or(String::new(), |key| {
        format!(
            "\n[signatures]\ntrusted_keys = [{{ name = \"release\", public_key = \"{key}\" }}]\n"
        )
    });
    format!("{}{signatures}", unsigned_policy_file(wasm, max_lag))
}

fn unsigned_policy_file(wasm: Option<&Path>, max_lag: u64) -> String {
    let default = rrs::policy::DEFAULT_POLICIES_TOML.replace(
        "max_lag_seconds = 900",
        &format!("max_lag_seconds = {max_lag}"),
    );
    let Some(wasm) = wasm else {
        return default;
    };
    let digest = hex::encode(Sha256::digest(std::fs::read(wasm).unwrap()));
    let start = default.find("[gate]").unwrap();
    let end = default.find("[gate.settings]").unwrap();
    format!(
        "{}[gate]\nplugin = {:?}\nsha256 = {:?}\n\n{}",
        &default[..start],
        wasm.display().to_string(),
        digest,
        &default[end..]
    )
}

/// Polls `GET /v1/policies` on `replica` until `done` holds.
async fn until_listed(replica: &ServerProcess, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let listed = replica.get("/v1/policies").await;
        assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
        if done(&listed.body) {
            return listed.body;
        }
        assert!(
            started.elapsed() < CONVERGE_WITHIN,
            "replica did not converge to {what} within {CONVERGE_WITHIN:?}; it lists {}\nits log:\n{}",
            listed.body,
            replica.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only (RRS_TEST_DATABASE_URL, run with --include-ignored): replicas share a database"]
async fn a_reload_on_one_replica_reaches_every_replica() {
    rrs_tests::database::require_postgres("several replicas share a database");
    let ctx = TestContext::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file_a = dir.path().join("a.toml");
    let file_b = dir.path().join("b.toml");
    std::fs::write(&file_a, policy_file(None, 900)).unwrap();
    std::fs::write(&file_b, policy_file(None, 900)).unwrap();
    let start = |name: &'static str, file: &Path| {
        let data_dir = ctx.data_path(name);
        std::fs::create_dir_all(&data_dir).unwrap();
        let file = file.display().to_string();
        let url = ctx.database.url.clone();
        let token = ctx.admin_token.clone();
        async move {
            ServerProcess::start_with(
                SERVER,
                &url,
                &data_dir,
                &token,
                &[
                    ("RRS_POLICIES", file.as_str()),
                    ("RRS_POLICIES__SYNC_INTERVAL_MS", "500"),
                ],
            )
            .await
        }
    };
    let a = start("replica-a", &file_a).await;
    let b = start("replica-b", &file_b).await;
    // The same set as the first start recorded: everyone is on generation 1.
    let first = ctx.get("/v1/policies").await.body;
    assert_eq!(first["generation"], 1, "{first}");
    for replica in [&a, &b] {
        let listed = replica.get("/v1/policies").await.body;
        assert_eq!(listed["generation"], 1, "{listed}");
        assert_eq!(listed["set_digest"], first["set_digest"]);
    }

    // A gate from a file only A has, signed by a key only A's file
    // trusts, with other settings: reloaded on A.
    let strict = dir.path().join("strict-gate.wasm");
    std::fs::copy(rrs_policy_fixtures::path("strict-gate"), &strict).unwrap();
    let key = dir.path().join("release.pem");
    let (public_key, fingerprint) = rrs::policy::signature::keygen(&key).unwrap();
    rrs::policy::signature::sign(&key, &strict).unwrap();
    std::fs::write(
        &file_a,
        signed_policy_file(Some(&strict), 600, Some(&public_key)),
    )
    .unwrap();
    let reloaded = a.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(reloaded.status, StatusCode::OK, "{:?}", reloaded.body);
    assert_eq!(reloaded.body["generation"], 2, "{:?}", reloaded.body);
    assert_eq!(reloaded.body["items"][0]["name"], "fixture-strict-gate");
    let signer = json!({"key_name": "release", "fingerprint": fingerprint});
    assert_eq!(reloaded.body["items"][0]["signer"], signer);
    let digest = reloaded.body["items"][0]["digest"].clone();

    // B has neither the file, nor its signature, nor the key: it lists the
    // signer A verified.
    let on_b = until_listed(&b, "generation 2", |body| body["generation"] == 2).await;
    assert_eq!(on_b["set_digest"], reloaded.body["set_digest"]);
    assert_eq!(on_b["items"][0]["digest"], digest);
    assert_eq!(on_b["items"][0]["name"], "fixture-strict-gate");
    assert_eq!(on_b["items"][0]["settings"]["max_lag_seconds"], 600);
    assert_eq!(on_b["items"][0]["signer"], signer, "{on_b}");
    assert_eq!(
        on_b["items"][1]["signer"],
        Value::Null,
        "a builtin has none"
    );
    // The in-process replica of the test context converges too.
    let started = Instant::now();
    while ctx.get("/v1/policies").await.body["generation"] != 2 {
        assert!(
            started.elapsed() < CONVERGE_WITHIN,
            "the context's replica did not converge"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        ctx.get("/v1/policies").await.body["items"][0]["signer"],
        signer
    );
    // B decides with it: a restricted table is stale under the strict gate.
    let fresh = chrono::Utc::now() - chrono::Duration::minutes(1);
    let fresh = fresh.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let pit = (chrono::Utc::now() - chrono::Duration::minutes(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    ctx.ingest(
        0,
        &[rrs_tests::fixtures::Version::upsert(
            "restricted_cases",
            "r1",
            &pit,
            json!({"v": 1}),
        )],
    )
    .await;
    ctx.watermark("restricted_cases", &fresh).await;
    let plan = b
        .post(
            "/v1/plans/dry-run",
            &json!({"tenant_id": "acme", "instance_id": "prod", "pit": pit,
                    "scope": {"tables": [{"table": "restricted_cases"}]}}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(plan.body["gate"]["policy"]["digest"], digest);
    assert_eq!(plan.body["gate"]["executability"], "preview_only");
    // ... and its logged decision names the signer.
    assert_eq!(
        logged_signer(&ctx, plan.body["gate"]["decision_id"].as_str().unwrap()).await,
        (Some("release".to_owned()), Some(fingerprint.clone()))
    );

    // A broken set is refused where it was posted and recorded nowhere.
    std::fs::write(&file_a, "[gate]\nplugin = \"nope\"\n").unwrap();
    let refused = a.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.reason(), "policy_reload_failed");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for replica in [&a, &b] {
        let listed = replica.get("/v1/policies").await.body;
        assert_eq!(listed["generation"], 2, "{listed}");
        assert_eq!(listed["items"][0]["digest"], digest);
    }

    // SIGHUP on B reloads B's own file and records it; A converges back to
    // the builtin gate with B's settings.
    std::fs::write(&file_b, policy_file(None, 300)).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &b.pid().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let on_a = until_listed(&a, "generation 3", |body| body["generation"] == 3).await;
    assert_eq!(on_a["items"][0]["name"], "rrs-default-gate");
    assert_eq!(on_a["items"][0]["settings"]["max_lag_seconds"], 300);
    assert_eq!(
        on_a["items"][0]["signer"],
        Value::Null,
        "a builtin has none"
    );
    assert_eq!(
        on_a["set_digest"],
        b.get("/v1/policies").await.body["set_digest"]
    );
}

/// The signer and fingerprint the decision log keeps for `decision_id`.
async fn logged_signer(ctx: &TestContext, decision_id: &str) -> (Option<String>, Option<String>) {
    use sea_orm::{ConnectionTrait, Statement};
    let db = ctx.database.connect().await;
    let row = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT policy_signer, policy_signer_fingerprint FROM policy_decisions \
             WHERE decision_id = $1",
            [decision_id.into()],
        ))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("decision {decision_id} is not logged"));
    (
        row.try_get("", "policy_signer").unwrap(),
        row.try_get("", "policy_signer_fingerprint").unwrap(),
    )
}
