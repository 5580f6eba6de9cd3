//! Dry-run plans over HTTP: every gate outcome, point-in-time correctness,
//! immutability and idempotency.

use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn sha(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

async fn rows(ctx: &TestContext, plan_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/v1/plans/{plan_id}/rows?limit=2&cursor={c}"),
            None => format!("/v1/plans/{plan_id}/rows?limit=2"),
        };
        let page = ctx.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        out.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("plan {plan_id}: still a next_cursor after 1000 pages");
}

#[tokio::test]
async fn fresh_scope_is_executable() {
    let ctx = TestContext::start().await;
    let plan = ctx
        .executable_plan(
            &["incident"],
            3,
            json!({"plan_id": "p-fresh", "chunk_size": 2}),
        )
        .await;
    assert_eq!(plan["gate"]["reason_code"], Value::Null);
    assert_eq!(plan["gate"]["reasons"], json!([]));
    assert_eq!(plan["summary"]["creates"], 3);
    assert_eq!(plan["summary"]["rows_total"], 3);
    assert_eq!(
        plan["chunking"],
        json!({"chunk_size": 2, "total_chunks": 2})
    );
    assert_eq!(plan["watermarks"][0]["freshness"], "fresh");
    assert_eq!(plan["watermarks"][0]["topic"], "sn.acme.prod.incident");
    assert!(plan["watermarks"][0]["lag_seconds"].as_i64().unwrap() >= 60);
    assert_eq!(
        plan["gate"]["policy"]["name"]
            .as_str()
            .map(|s| !s.is_empty()),
        Some(true)
    );
    assert_eq!(plan["gate"]["policy"]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(plan["required_capabilities"], json!(["restore_execute"]));
    assert_eq!(plan["plan_hash"].as_str().unwrap().len(), 64);
    let fetched = ctx.get("/v1/plans/p-fresh").await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, plan);
    let all = rows(&ctx, "p-fresh").await;
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter()
            .map(|r| r["chunk_index"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 0, 1]
    );
    assert!(all
        .iter()
        .all(|r| r["action"] == "create" && r["before_sha256"].is_null()));
}

#[tokio::test]
async fn watermark_behind_the_pit_is_preview_only() {
    let ctx = TestContext::start().await;
    ctx.ingest(
        0,
        &[Version::upsert("incident", "a1", &ago(30), json!({"v": 1}))],
    )
    .await;
    ctx.watermark("incident", &ago(10)).await;
    let plan = ctx.dry_run(&["incident"], &ago(2), json!({})).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(plan.body["gate"]["executability"], "preview_only");
    assert_eq!(plan.body["gate"]["reason_code"], "blocked_freshness_stale");
    assert_eq!(plan.body["watermarks"][0]["freshness"], "stale");
}

#[tokio::test]
async fn watermark_lagging_past_the_limit_is_preview_only() {
    let ctx = TestContext::start().await;
    ctx.ingest(
        0,
        &[Version::upsert(
            "incident",
            "a1",
            &ago(180),
            json!({"v": 1}),
        )],
    )
    .await;
    ctx.watermark("incident", &ago(60)).await;
    let plan = ctx.dry_run(&["incident"], &ago(120), json!({})).await;
    assert_eq!(plan.body["gate"]["executability"], "preview_only");
    assert_eq!(
        plan.body["gate"]["reasons"],
        json!(["blocked_freshness_stale"])
    );
    assert!(plan.body["watermarks"][0]["lag_seconds"].as_i64().unwrap() >= 3600);
}

#[tokio::test]
async fn missing_watermark_or_history_is_blocked_unknown() {
    let ctx = TestContext::start().await;
    ctx.ingest(
        0,
        &[Version::upsert("incident", "a1", &ago(30), json!({"v": 1}))],
    )
    .await;
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(plan.body["gate"]["executability"], "blocked");
    assert_eq!(
        plan.body["gate"]["reason_code"],
        "blocked_freshness_unknown"
    );
    assert_eq!(plan.body["watermarks"][0]["freshness"], "unknown");
    assert_eq!(plan.body["watermarks"][0]["watermark_time"], Value::Null);
    // A table the index has never seen: nothing is known, fail closed.
    ctx.watermark("incident", &ago(1)).await;
    let plan = ctx
        .dry_run(&["incident", "problem"], &ago(5), json!({}))
        .await;
    assert_eq!(
        plan.body["gate"]["reason_code"],
        "blocked_freshness_unknown"
    );
    assert_eq!(
        plan.body["gate"]["tables_without_history"],
        json!(["problem"])
    );
    let only_fresh = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(only_fresh.body["gate"]["executability"], "executable");
}

#[tokio::test]
async fn undecided_delete_blocks_until_decided() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[], true).await;
    ctx.ingest(
        0,
        &[Version::upsert("incident", "a1", &ago(30), json!({"v": 1}))],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_row("incident", "a1", json!({"v": 1})).await;
    ctx.target_row("incident", "zz", json!({"v": "created later"}))
        .await;
    let first = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(first.body["gate"]["executability"], "blocked");
    assert_eq!(
        first.body["gate"]["reason_code"],
        "blocked_unresolved_delete_candidates"
    );
    assert_eq!(first.body["summary"]["undecided_deletes"], 1);
    assert_eq!(first.body["summary"]["unchanged"], 1);
    let candidate = first.body["delete_candidates"][0].clone();
    assert_eq!(candidate["sys_id"], "zz");
    assert_eq!(candidate["decision"], Value::Null);
    let id = candidate["candidate_id"].as_str().unwrap();
    // The same candidate gets the same id in a new plan.
    let again = ctx.dry_run(&["incident"], &ago(4), json!({})).await;
    assert_eq!(again.body["delete_candidates"][0]["candidate_id"], id);
    let decided = ctx
        .dry_run(
            &["incident"],
            &ago(5),
            json!({"delete_decisions": [{"candidate_id": id, "decision": "allow_deletion"}]}),
        )
        .await;
    assert_eq!(
        decided.body["gate"]["executability"], "executable",
        "{:?}",
        decided.body["gate"]
    );
    assert_eq!(decided.body["summary"]["deletes"], 1);
    assert_eq!(
        decided.body["required_capabilities"],
        json!(["restore_execute", "restore_delete"])
    );
    assert_eq!(decided.body["chunking"]["total_chunks"], 1);
    let skipped = ctx
        .dry_run(
            &["incident"],
            &ago(5),
            json!({"delete_decisions": [{"candidate_id": id, "decision": "skip_deletion"}]}),
        )
        .await;
    assert_eq!(skipped.body["gate"]["executability"], "executable");
    assert_eq!(skipped.body["summary"]["skipped_deletes"], 1);
    assert_eq!(skipped.body["chunking"]["total_chunks"], 0);
}

#[tokio::test]
async fn dangling_reference_blocks() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[("caller_id", "sys_user")], true)
        .await;
    ctx.target_table("sys_user", &[], true).await;
    ctx.ingest(
        0,
        &[Version::upsert(
            "incident",
            "a1",
            &ago(30),
            json!({"caller_id": "u1"}),
        )],
    )
    .await;
    ctx.ingest(
        100,
        &[Version::upsert(
            "incident",
            "a2",
            &ago(30),
            json!({"caller_id": "u2"}),
        )],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_row("sys_user", "u2", json!({"name": "present"}))
        .await;
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(plan.body["gate"]["executability"], "blocked");
    assert_eq!(
        plan.body["gate"]["reason_code"],
        "blocked_reference_conflict"
    );
    assert_eq!(
        plan.body["reference_conflicts"],
        json!([{"table": "incident", "sys_id": "a1", "field": "caller_id", "referenced_table": "sys_user", "referenced_sys_id": "u1"}])
    );
    ctx.target_row("sys_user", "u1", json!({"name": "back"}))
        .await;
    let fixed = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(fixed.body["gate"]["executability"], "executable");
}

#[tokio::test]
async fn failing_gate_plugin_blocks_with_policy_error() {
    let wasm = rrs_policy_fixtures::path("trap");
    let digest = hex::encode(Sha256::digest(std::fs::read(&wasm).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let default = rrs::policy::DEFAULT_POLICIES_TOML;
    let start = default.find("[gate]").unwrap();
    let end = default.find("[gate.settings]").unwrap();
    let toml = format!(
        "{}[gate]\nplugin = {:?}\nsha256 = {:?}\n\n{}",
        &default[..start],
        wasm.display().to_string(),
        digest,
        &default[end..]
    );
    let path = dir.path().join("policies.toml");
    std::fs::write(&path, toml).unwrap();
    let ctx = TestContext::start_with(&format!(
        "[policies]\npath = {:?}\n",
        path.display().to_string()
    ))
    .await;
    ctx.ingest(
        0,
        &[Version::upsert("incident", "a1", &ago(30), json!({"v": 1}))],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(plan.body["gate"]["executability"], "blocked");
    assert_eq!(plan.body["gate"]["reason_code"], "blocked_policy_error");
    assert_eq!(plan.body["gate"]["policy_error"]["kind"], "policy_trap");
    assert_eq!(plan.body["gate"]["policy"]["digest"], digest);
}

#[tokio::test]
async fn point_in_time_follows_versions_deletes_and_recreates() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[], true).await;
    ctx.ingest(
        0,
        &[
            Version::upsert("incident", "a1", "2026-11-20T09:00:00Z", json!({"v": 1})),
            Version::upsert("incident", "a1", "2026-11-20T09:10:00Z", json!({"v": 2})),
            Version::delete("incident", "a1", "2026-11-20T09:20:00Z"),
            Version::upsert("incident", "a1", "2026-11-20T09:30:00Z", json!({"v": 3})),
            Version::upsert("incident", "a2", "2026-11-20T09:40:00Z", json!({"v": 9})),
        ],
    )
    .await;
    ctx.watermark("incident", &ago(0)).await;
    ctx.target_row("incident", "a1", json!({"v": 2})).await;
    let expect =
        |pit: &str, a1: (&str, Option<&str>)| (pit.to_owned(), a1.0.to_owned(), a1.1.map(sha));
    let cases = [
        expect("2026-11-20T08:59:59Z", ("undecided_delete", None)),
        expect("2026-11-20T09:05:00Z", ("update", Some(r#"{"v":1}"#))),
        expect("2026-11-20T09:10:00Z", ("unchanged", Some(r#"{"v":2}"#))),
        expect("2026-11-20T09:25:00Z", ("undecided_delete", None)),
        expect("2026-11-20T09:30:00Z", ("update", Some(r#"{"v":3}"#))),
    ];
    for (i, (pit, action, after)) in cases.iter().enumerate() {
        let plan = ctx
            .dry_run(&["incident"], pit, json!({"plan_id": format!("pit-{i}")}))
            .await;
        assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
        let all = rows(&ctx, &format!("pit-{i}")).await;
        let a1 = all
            .iter()
            .find(|r| r["sys_id"] == "a1")
            .unwrap_or_else(|| panic!("no a1 at {pit}: {all:?}"));
        assert_eq!(a1["action"], *action, "a1 at {pit}");
        assert_eq!(
            a1["after_sha256"].as_str().map(str::to_owned),
            *after,
            "a1 at {pit}"
        );
        assert_eq!(
            a1["before_sha256"],
            sha(r#"{"v":2}"#),
            "target's a1 at {pit}"
        );
        // a2 was created after every one of these PITs and is not in the target.
        assert!(
            all.iter().all(|r| r["sys_id"] != "a2"),
            "a2 at {pit}: {all:?}"
        );
    }
    let later = ctx
        .dry_run(
            &["incident"],
            "2026-11-20T09:40:00Z",
            json!({"plan_id": "pit-late"}),
        )
        .await;
    assert_eq!(later.body["summary"]["creates"], 1);
    assert_eq!(later.body["summary"]["updates"], 1);
}

#[tokio::test]
async fn sys_ids_narrow_the_scope() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[], true).await;
    let at = ago(30);
    let ids = ["a1", "a2", "a3"];
    let versions: Vec<Version<'_>> = ids
        .iter()
        .map(|id| Version::upsert("incident", id, &at, json!({"id": id})))
        .collect();
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(1)).await;
    let body = json!({"tenant_id": "acme", "instance_id": "prod", "pit": ago(5),
        "scope": {"tables": [{"table": "incident", "sys_ids": ["a3", "a1", "nope"]}]}});
    let plan = ctx.post("/v1/plans/dry-run", &body).await;
    assert_eq!(plan.body["summary"]["creates"], 2);
    let all = rows(&ctx, plan.body["plan_id"].as_str().unwrap()).await;
    assert_eq!(
        all.iter()
            .map(|r| r["sys_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["a1", "a3"]
    );
}

#[tokio::test]
async fn same_plan_id_is_idempotent_and_changed_inputs_conflict() {
    let ctx = TestContext::start().await;
    let plan = ctx
        .executable_plan(&["incident"], 2, json!({"plan_id": "p-1"}))
        .await;
    let pit = plan["pit"].as_str().unwrap().to_owned();
    let repeat = ctx
        .dry_run(&["incident"], &pit, json!({"plan_id": "p-1"}))
        .await;
    assert_eq!(repeat.status, StatusCode::OK);
    assert_eq!(repeat.body, plan);
    // The index changes; the stored plan does not.
    ctx.ingest(
        500,
        &[Version::upsert("incident", "new", &ago(8), json!({"v": 1}))],
    )
    .await;
    let repeat = ctx
        .dry_run(&["incident"], &pit, json!({"plan_id": "p-1"}))
        .await;
    assert_eq!(repeat.body["summary"], plan["summary"]);
    let changed = ctx
        .dry_run(
            &["incident"],
            &pit,
            json!({"plan_id": "p-1", "chunk_size": 7}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::CONFLICT);
    assert_eq!(changed.reason(), "blocked_plan_hash_mismatch");
    assert_eq!(ctx.get("/v1/plans/p-1").await.body, plan);
}

#[tokio::test]
async fn rejected_dry_runs_write_nothing() {
    let ctx = TestContext::start().await;
    let planner = ctx
        .token("planner", &["restore_plan", "restore_read"], &["acme"])
        .await;
    let body = json!({"plan_id": "p-x", "tenant_id": "globex", "instance_id": "prod", "pit": ago(5),
        "scope": {"tables": [{"table": "incident"}]}});
    let reply = ctx
        .send(
            Method::POST,
            "/v1/plans/dry-run",
            Some(&planner),
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    let reader = ctx.token("reader", &["restore_read"], &["acme"]).await;
    let mut acme = body.clone();
    acme["tenant_id"] = json!("acme");
    let reply = ctx
        .send(
            Method::POST,
            "/v1/plans/dry-run",
            Some(&reader),
            Some(&acme),
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
        json!(["restore_plan"])
    );
    let mut bad = acme.clone();
    bad["scope"] = json!({"tables": []});
    let refused = ctx.post("/v1/plans/dry-run", &bad).await;
    assert_eq!(
        (refused.status, refused.reason()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{:?}",
        refused.body
    );
    let mut bad = acme.clone();
    bad["chunk_size"] = json!(0);
    let refused = ctx.post("/v1/plans/dry-run", &bad).await;
    assert_eq!(
        (refused.status, refused.reason()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{:?}",
        refused.body
    );
    let missing = ctx.get("/v1/plans/p-x").await;
    assert_eq!(
        (missing.status, missing.reason()),
        (StatusCode::NOT_FOUND, "plan_not_found")
    );
    let db = ctx.database.connect().await;
    use sea_orm::{ConnectionTrait, Statement};
    for table in ["plans", "plan_rows", "policy_decisions"] {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT 1 FROM {table}"),
            ))
            .await
            .unwrap();
        assert!(rows.is_empty(), "{table} has rows");
    }
}

#[tokio::test]
async fn another_tenants_plan_is_not_found() {
    let ctx = TestContext::start().await;
    let plan = ctx
        .executable_plan(&["incident"], 1, json!({"plan_id": "p-acme"}))
        .await;
    assert_eq!(plan["tenant_id"], "acme");
    let other = ctx.token("other", &["restore_read"], &["globex"]).await;
    let reply = ctx
        .send(Method::GET, "/v1/plans/p-acme", Some(&other), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.reason(), "plan_not_found");
    let rows = ctx
        .send(Method::GET, "/v1/plans/p-acme/rows", Some(&other), None)
        .await;
    assert_eq!(rows.status, StatusCode::NOT_FOUND);
    assert_eq!(ctx.get("/v1/plans/nope").await.reason(), "plan_not_found");
}

/// A plan's delete candidates and the decisions on them are stored in its
/// rows, not in its document: read back (GET, the same request again)
/// the plan is what the dry-run answered, decisions that name no
/// candidate included, in their order.
#[tokio::test]
async fn a_plan_reads_back_with_its_delete_candidates_and_decisions() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[], true).await;
    ctx.ingest(
        0,
        &[Version::upsert("incident", "a1", &ago(30), json!({"v": 1}))],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_row("incident", "a1", json!({"v": 1})).await;
    for sys_id in ["zz3", "zz1", "zz2"] {
        ctx.target_row("incident", sys_id, json!({"v": sys_id}))
            .await;
    }
    let listed = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    let ids: Vec<String> = listed.body["delete_candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["candidate_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{}", listed.body["delete_candidates"]);
    let decisions = json!([
        {"candidate_id": ids[0], "decision": "allow_deletion"},
        {"candidate_id": "dc_not_a_candidate", "decision": "allow_deletion"},
        {"candidate_id": ids[1], "decision": "skip_deletion"},
    ]);
    let made = ctx
        .dry_run(
            &["incident"],
            &ago(5),
            json!({"plan_id": "p-deletes", "delete_decisions": decisions}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let candidates = made.body["delete_candidates"].as_array().unwrap();
    let decided: Vec<&Value> = candidates.iter().map(|c| &c["decision"]).collect();
    assert_eq!(
        decided,
        vec![
            &json!("allow_deletion"),
            &json!("skip_deletion"),
            &Value::Null
        ]
    );
    assert_eq!(
        made.body["inputs"]["delete_decisions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let read = ctx.get("/v1/plans/p-deletes").await;
    assert_eq!(read.body, made.body);
    let pit = made.body["pit"].as_str().unwrap().to_owned();
    let again = ctx
        .dry_run(
            &["incident"],
            &pit,
            json!({"plan_id": "p-deletes", "delete_decisions": decisions}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, made.body);
}
