//! `rrs policy replay` against the decision log of a running service: a
//! candidate with one changed rule is reported on exactly the recorded
//! inputs it decides differently, the live plugin itself on none.

use std::collections::BTreeSet;
use std::process::Command;

use reqwest::StatusCode;
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use serde_json::json;

const SERVER: &str = env!("CARGO_BIN_EXE_rrs-e2e-server");

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs `rrs policy replay` on the context's database; returns the exit
/// status, stdout and stderr.
fn replay(ctx: &TestContext, plugin: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(SERVER)
        .args(["policy", "replay", "--kind", "gate", "--plugin"])
        .arg(plugin)
        .args(["--since", &ago(24 * 60)])
        .env("RRS_DATABASE_URL", &ctx.database.url)
        .env("RRS_DATA_DIR", ctx.data_dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn replay_reports_exactly_the_inputs_a_changed_rule_decides_differently() {
    let ctx = TestContext::start().await;
    let tables = [
        "incident",
        "problem",
        "restricted_cases",
        "restricted_users",
    ];
    for (i, table) in tables.iter().enumerate() {
        ctx.ingest(
            i as i64 * 10,
            &[Version::upsert(table, "r1", &ago(30), json!({"v": 1}))],
        )
        .await;
        ctx.watermark(table, &ago(1)).await;
    }
    let scopes: [&[&str]; 6] = [
        &["incident"],
        &["restricted_cases"],
        &["problem"],
        &["incident", "restricted_users"],
        &["never_ingested"],
        &["problem", "incident"],
    ];
    let mut restricted = BTreeSet::new();
    for scope in scopes {
        let plan = ctx.dry_run(scope, &ago(5), json!({})).await;
        assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
        if scope.iter().any(|t| t.starts_with("restricted")) {
            restricted.insert(
                plan.body["gate"]["decision_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    assert_eq!(restricted.len(), 2);

    let (code, stdout, stderr) = replay(&ctx, &rrs_policy_fixtures::path("strict-gate"));
    assert_eq!(code, 1, "differences exit 1\n{stdout}\n{stderr}");
    let reported: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("DIFF "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(reported, restricted, "{stdout}");
    assert!(
        stdout.contains("6 gate decisions replayed with fixture-strict-gate"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "recorded executable [] -> candidate preview_only [\"blocked_freshness_stale\"]"
        ),
        "{stdout}"
    );

    // The live plugin itself decides every recorded input alike.
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("gate.wasm");
    std::fs::write(&live, rrs::policy::builtin_plugin("gate").unwrap()).unwrap();
    let (code, stdout, stderr) = replay(&ctx, &live);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("6 gate decisions replayed"), "{stdout}");
    assert!(stdout.contains(": 0 differ"), "{stdout}");

    // A candidate that is no gate is refused before anything is replayed.
    let (code, stdout, stderr) = replay(&ctx, &rrs_policy_fixtures::path("wrong-world"));
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("does not export"), "{stderr}");
}
