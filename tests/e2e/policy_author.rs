//! A policy author's whole path, from an empty directory outside the
//! repository, with the `rrs` binary alone, as `docs/policy-authors.md`
//! tells it: `rrs policy new`, edit the rule, `rrs policy build`,
//! `rrs policy test` with the case table and a coverage floor,
//! `rrs policy bench`, `rrs policy keygen` and `sign`; then two running
//! replicas are pointed at a policy file naming the plugin, its digest and
//! the trusted key, reloaded, and list the plugin with its signer. An
//! unsigned plugin is then refused by both with the set unchanged.
//!
//! The guest crate builds for wasm32 with cargo from crates.io
//! dependencies; its target directory is shared between runs under the
//! test target directory, so only the first run compiles them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::StatusCode;
use rrs_tests::process::ServerProcess;
use rrs_tests::TestContext;
use serde_json::{json, Value};

const RRS: &str = env!("CARGO_BIN_EXE_rrs-e2e-server");

/// Runs `rrs ARGS` in `dir`; panics with its output unless it succeeds.
fn rrs(dir: &Path, args: &[&str]) -> String {
    let output = run(dir, args);
    assert!(
        output.status.success(),
        "rrs {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(RRS)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The guest build's cargo target directory, kept between test runs.
fn guest_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("policy-author-guest")
}

/// The default file with the gate replaced by `plugin` and signatures
/// required from the `release` key.
fn policy_file(plugin: &str, digest: &str, public_key: &str) -> String {
    let default = rrs::policy::DEFAULT_POLICIES_TOML;
    let rest = &default[default.find("[capability]").unwrap()..];
    format!(
        "[gate]\nplugin = \"{plugin}\"\nsha256 = \"{digest}\"\n\n[gate.settings]\n\
         max_lag_seconds = 900\n\n{rest}\n[signatures]\nrequire_signatures = true\n\
         trusted_keys = [{{ name = \"release\", public_key = \"{public_key}\" }}]\n"
    )
}

fn line_after<'a>(output: &'a str, prefix: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{output}"))
}

/// `rrs policy new`, edit, `build`: the built plugin and its digest.
fn new_and_build(home: &Path) -> (PathBuf, String) {
    let out = rrs(home, &["policy", "new", "my-gate", "--kind", "gate"]);
    assert!(out.contains("my-gate"), "{out}");
    let crate_dir = home.join("my-gate");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "cases.json",
        "README.md",
        "wit/policy.wit",
    ] {
        assert!(crate_dir.join(file).is_file(), "{file} missing");
    }

    // The edit: a 600 s freshness default instead of 900 s, and the case
    // table in step (a 700 s lag is now stale).
    let rule = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    let edited = rule.replace(
        "fn default_max_lag() -> u64 {\n    900\n}",
        "fn default_max_lag() -> u64 {\n    600\n}",
    );
    assert_ne!(
        rule, edited,
        "the starting rule has no default_max_lag to edit"
    );
    std::fs::write(crate_dir.join("src/lib.rs"), edited).unwrap();
    let mut cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(crate_dir.join("cases.json")).unwrap())
            .unwrap();
    cases.retain(|c| c["name"] != "lag of exactly 900 s is still fresh");
    let mut lag_700 = cases
        .iter()
        .find(|c| c["name"] == "lag of 901 s over max_lag_seconds 900: stale")
        .unwrap()
        .clone();
    lag_700["name"] = json!("lag of 700 s over the new default 600: stale");
    lag_700["input"]["partitions"][0]["watermark_time"] = json!("2026-11-20T10:18:20Z");
    cases.push(lag_700);
    std::fs::write(
        crate_dir.join("cases.json"),
        serde_json::to_string_pretty(&cases).unwrap(),
    )
    .unwrap();

    // Every kind has a starting crate (`media_caps` spelt as in the file).
    let out = rrs(
        home,
        &[
            "policy",
            "new",
            "my-caps",
            "--kind",
            "media_caps",
            "--dir",
            "caps",
        ],
    );
    assert!(out.contains("media_caps"), "{out}");
    let rule = std::fs::read_to_string(home.join("caps/src/lib.rs")).unwrap();
    assert!(
        rule.contains("world: \"media-caps\", path: \"wit\""),
        "{rule}"
    );
    let again = run(
        home,
        &[
            "policy", "new", "my-caps", "--kind", "gate", "--dir", "caps",
        ],
    );
    assert!(
        !again.status.success(),
        "a crate is never written over another"
    );

    let target = guest_target_dir();
    let out = rrs(
        &crate_dir,
        &[
            "policy",
            "build",
            ".",
            "--target-dir",
            target.to_str().unwrap(),
        ],
    );
    let digest = line_after(&out, "sha256 ").to_owned();
    assert_eq!(digest.len(), 64, "{out}");
    // The scaffold's stack and arena keep the plugin in the one page the
    // service resets in place.
    assert_eq!(line_after(&out, "memory "), "64 KiB", "{out}");
    let wasm = crate_dir.join("my-gate.wasm");
    assert!(wasm.is_file(), "{out}");
    (wasm, digest)
}

/// `rrs policy test` with full coverage, and a failing floor.
fn test_and_bench(crate_dir: &Path) {
    let out = rrs(
        crate_dir,
        &[
            "policy",
            "test",
            "--kind",
            "gate",
            "--plugin",
            "my-gate.wasm",
            "--cases",
            "cases.json",
            "--min-coverage",
            "100",
        ],
    );
    assert!(out.contains("13 passed, 0 failed"), "{out}");
    assert!(out.contains("coverage 100.0% (7/7"), "{out}");

    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(crate_dir.join("cases.json")).unwrap())
            .unwrap();
    std::fs::write(
        crate_dir.join("one-case.json"),
        serde_json::to_string(&cases[..1]).unwrap(),
    )
    .unwrap();
    let below = run(
        crate_dir,
        &[
            "policy",
            "test",
            "--kind",
            "gate",
            "--plugin",
            "my-gate.wasm",
            "--cases",
            "one-case.json",
            "--min-coverage",
            "80",
        ],
    );
    let stderr = String::from_utf8_lossy(&below.stderr);
    assert!(!below.status.success(), "{stderr}");
    assert!(stderr.contains("below --min-coverage 80"), "{stderr}");
    assert!(
        stderr.contains("reason:blocked_freshness_stale"),
        "{stderr}"
    );

    std::fs::write(
        crate_dir.join("input.json"),
        serde_json::to_string(&cases[0]["input"]).unwrap(),
    )
    .unwrap();
    let out = rrs(
        crate_dir,
        &[
            "policy",
            "bench",
            "--kind",
            "gate",
            "--plugin",
            "my-gate.wasm",
            "--input",
            "input.json",
            "--iterations",
            "200",
        ],
    );
    assert!(
        out.contains("200 decisions") && out.contains("p99"),
        "{out}"
    );
}

#[tokio::test]
async fn an_author_builds_tests_signs_and_ships_a_plugin_from_an_empty_directory() {
    let home = tempfile::tempdir().unwrap();
    let (wasm, digest) = new_and_build(home.path());
    let crate_dir = wasm.parent().unwrap().to_path_buf();
    test_and_bench(&crate_dir);

    let out = rrs(home.path(), &["policy", "keygen", "--out", "release.pem"]);
    let public_key = line_after(&out, "public_key = \"")
        .trim_end_matches('"')
        .to_owned();
    let out = rrs(
        home.path(),
        &[
            "policy",
            "sign",
            "--key",
            "release.pem",
            "my-gate/my-gate.wasm",
        ],
    );
    assert!(out.contains("my-gate.wasm.sig"), "{out}");
    assert_eq!(line_after(&out, "sha256 "), digest);

    // Two replicas on one database, started on the default set.
    let ctx = TestContext::start().await;
    let deploy = home.path().join("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    let policies = deploy.join("policies.toml");
    std::fs::write(&policies, rrs::policy::DEFAULT_POLICIES_TOML).unwrap();
    let env = [("RRS_POLICIES__PATH", policies.to_str().unwrap())];
    let mut replicas = Vec::new();
    for name in ["replica-a", "replica-b"] {
        let data = ctx.data_path(name);
        std::fs::create_dir_all(&data).unwrap();
        replicas.push(
            ServerProcess::start_with(RRS, &ctx.database.url, &data, &ctx.admin_token, &env).await,
        );
    }

    // Ship: the plugin, its signature and a policy file pinning both.
    for file in ["my-gate.wasm", "my-gate.wasm.sig"] {
        std::fs::copy(crate_dir.join(file), deploy.join(file)).unwrap();
    }
    std::fs::write(&policies, policy_file("my-gate.wasm", &digest, &public_key)).unwrap();
    let out = rrs(
        home.path(),
        &["policy", "check", "--policies", policies.to_str().unwrap()],
    );
    assert!(out.contains("signed-by=release (sha256:"), "{out}");
    for replica in &replicas {
        let reloaded = replica.post("/v1/admin/policies/reload", &json!({})).await;
        assert_eq!(reloaded.status, StatusCode::OK, "{:?}", reloaded.body);
        let listed = replica.get("/v1/policies").await;
        let gate = &listed.body["items"][0];
        assert_eq!(gate["name"], "my-gate", "{gate}");
        assert_eq!(gate["digest"], digest.as_str());
        assert_eq!(gate["signer"]["key_name"], "release", "{gate}");
        assert!(gate["signer"]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        assert_eq!(listed.body["items"][1]["signer"], Value::Null);
    }

    // A plan decided on a replica records the signer with its decision;
    // one decided by the builtin default records none.
    let seeded = ctx
        .executable_plan(&["incident"], 1, json!({"plan_id": "p-builtin"}))
        .await;
    let body = json!({"tenant_id": seeded["tenant_id"], "instance_id": seeded["instance_id"],
        "pit": seeded["pit"], "plan_id": "p-signed", "scope": {"tables": [{"table": "incident"}]}});
    let planned = replicas[0].post("/v1/plans/dry-run", &body).await;
    assert_eq!(planned.status, StatusCode::CREATED, "{:?}", planned.body);
    assert_eq!(planned.body["gate"]["policy"]["name"], "my-gate");
    assert_eq!(
        decision_signers(&ctx).await,
        vec![
            (
                "p-builtin".to_owned(),
                "rrs-default-gate".to_owned(),
                None,
                None
            ),
            (
                "p-signed".to_owned(),
                "my-gate".to_owned(),
                Some("release".to_owned()),
                Some(listed_fingerprint(&replicas[0]).await),
            ),
        ]
    );

    // An unsigned copy is refused by both; the signed set keeps serving.
    std::fs::copy(crate_dir.join("my-gate.wasm"), deploy.join("unsigned.wasm")).unwrap();
    std::fs::write(
        &policies,
        policy_file("unsigned.wasm", &digest, &public_key),
    )
    .unwrap();
    for replica in &replicas {
        let before = replica.get("/v1/policies").await.body;
        let refused = replica.post("/v1/admin/policies/reload", &json!({})).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
        assert_eq!(refused.reason(), "policy_signature_rejected");
        assert_eq!(refused.body["details"]["signature"], "signature_missing");
        assert_eq!(refused.body["details"]["kind"], "gate");
        assert_eq!(replica.get("/v1/policies").await.body, before);
    }

    // Signed by a key the file does not trust, or changed after signing
    // (the file pinning the changed bytes): refused the same way.
    rrs(home.path(), &["policy", "keygen", "--out", "stranger.pem"]);
    std::fs::copy(crate_dir.join("my-gate.wasm"), deploy.join("stranger.wasm")).unwrap();
    rrs(
        home.path(),
        &[
            "policy",
            "sign",
            "--key",
            "stranger.pem",
            "deploy/stranger.wasm",
        ],
    );
    let mut tampered = std::fs::read(crate_dir.join("my-gate.wasm")).unwrap();
    tampered.extend_from_slice(&[0, 4, 3, b'e', b'v', b'l']);
    std::fs::write(deploy.join("tampered.wasm"), &tampered).unwrap();
    std::fs::copy(
        crate_dir.join("my-gate.wasm.sig"),
        deploy.join("tampered.wasm.sig"),
    )
    .unwrap();
    let tampered_digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tampered));
    for (plugin, pin, refusal) in [
        ("stranger.wasm", digest.as_str(), "signature_untrusted"),
        (
            "tampered.wasm",
            tampered_digest.as_str(),
            "signature_invalid",
        ),
    ] {
        std::fs::write(&policies, policy_file(plugin, pin, &public_key)).unwrap();
        let before = replicas[0].get("/v1/policies").await.body;
        let refused = replicas[0]
            .post("/v1/admin/policies/reload", &json!({}))
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
        assert_eq!(refused.reason(), "policy_signature_rejected");
        assert_eq!(refused.body["details"]["signature"], refusal, "{plugin}");
        assert_eq!(replicas[0].get("/v1/policies").await.body, before);
    }
}

type SignerRow = (String, String, Option<String>, Option<String>);

/// `(plan, policy, signer, fingerprint)` of every logged plan decision.
async fn decision_signers(ctx: &TestContext) -> Vec<SignerRow> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = ctx.database.connect().await;
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT subject_id, policy_name, policy_signer, policy_signer_fingerprint \
             FROM policy_decisions WHERE subject_kind = 'plan' ORDER BY subject_id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "subject_id").unwrap(),
                row.try_get("", "policy_name").unwrap(),
                row.try_get("", "policy_signer").unwrap(),
                row.try_get("", "policy_signer_fingerprint").unwrap(),
            )
        })
        .collect()
}

async fn listed_fingerprint(replica: &ServerProcess) -> String {
    let listed = replica.get("/v1/policies").await;
    listed.body["items"][0]["signer"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `serve` refuses to start on a set whose plugin file is unsigned while
/// signatures are required, naming the refusal.
#[tokio::test]
async fn serve_refuses_to_start_with_an_unsigned_plugin_under_require_signatures() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("gate.wasm"),
        rrs::policy::builtin_plugin("gate").unwrap(),
    )
    .unwrap();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        rrs::policy::builtin_plugin("gate").unwrap(),
    ));
    let out = rrs(home.path(), &["policy", "keygen", "--out", "release.pem"]);
    let public_key = line_after(&out, "public_key = \"").trim_end_matches('"');
    let policies = home.path().join("policies.toml");
    std::fs::write(&policies, policy_file("gate.wasm", &digest, public_key)).unwrap();

    let database = rrs_tests::TestDatabase::create().await;
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new(RRS)
            .arg("serve")
            .env("RRS_DATABASE_URL", &database.url)
            .env("RRS_DATA_DIR", home.path())
            .env("RRS_LISTEN_ADDR", "127.0.0.1:0")
            .env("RRS_POLICIES__PATH", &policies)
            // On PostgreSQL the service insists on media every replica
            // shares; this one never gets that far, but must pass that check.
            .env("RRS_MEDIA__SHARED_DIRECTORY", "true")
            .env("NO_COLOR", "1")
            .output(),
    )
    .await
    .expect("serve exits")
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("policy_signature_rejected (signature_missing)")
            && stderr.contains("gate.wasm.sig"),
        "{stderr}"
    );
}
