//! Dry-run plans, the edges: paging the rows, references to records the
//! same plan deletes or creates, media candidates, versions tied on their
//! event time, `sys_ids` lists longer than one scan batch, and a rejected
//! repeat that must leave the stored plan exactly as it was.

use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn all_rows(ctx: &TestContext, plan_id: &str, limit: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/v1/plans/{plan_id}/rows?limit={limit}&cursor={c}"),
            None => format!("/v1/plans/{plan_id}/rows?limit={limit}"),
        };
        let page = ctx.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        out.extend(items.iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("plan {plan_id}: still a next_cursor after 1000 pages");
}

async fn count(ctx: &TestContext, sql: &str) -> usize {
    use sea_orm::{ConnectionTrait, Statement};
    let db = ctx.database.connect().await;
    db.query_all(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
    .len()
}

#[tokio::test]
async fn rows_page_in_order_and_refuse_bad_cursors_and_limits() {
    let ctx = TestContext::start().await;
    ctx.executable_plan(&["incident"], 5, json!({"plan_id": "p-rows"}))
        .await;
    let rows = all_rows(&ctx, "p-rows", 2).await;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r["plan_row_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(all_rows(&ctx, "p-rows", 1000).await, rows);
    let page = ctx.get("/v1/plans/p-rows/rows").await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(page.body["next_cursor"], Value::Null);
    let past_the_end = ctx.get("/v1/plans/p-rows/rows?cursor=999999").await;
    assert_eq!(past_the_end.status, StatusCode::OK);
    assert_eq!(past_the_end.body, json!({"items": [], "next_cursor": null}));
    for bad in [
        "cursor=abc",
        "cursor=-1",
        "cursor=1234567890123456789",
        "limit=0",
        "limit=1001",
        "limit=x",
    ] {
        let reply = ctx.get(&format!("/v1/plans/p-rows/rows?{bad}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {:?}",
            reply.body
        );
        assert_eq!(reply.reason(), "invalid_request", "{bad}");
    }
    let no_read = ctx.token("planner", &["restore_plan"], &["acme"]).await;
    let reply = ctx
        .send(Method::GET, "/v1/plans/p-rows/rows", Some(&no_read), None)
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
        json!(["restore_read"])
    );
    let reply = ctx
        .send(Method::GET, "/v1/plans/p-rows/rows", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        ctx.get("/v1/plans/nope/rows").await.reason(),
        "plan_not_found"
    );
}

/// `sys_user` u1 is in the target but deleted in the index before the PIT;
/// incident a1 references it. a2 references u2, which only the plan creates.
async fn referenced_record_deleted_by_the_plan(ctx: &TestContext) {
    ctx.target_table("incident", &[("caller_id", "sys_user")], true)
        .await;
    ctx.target_table("sys_user", &[], true).await;
    ctx.ingest(
        0,
        &[
            Version::upsert("sys_user", "u1", &ago(60), json!({"name": "one"})),
            Version::delete("sys_user", "u1", &ago(40)),
            Version::upsert("sys_user", "u2", &ago(30), json!({"name": "two"})),
        ],
    )
    .await;
    ctx.ingest(
        100,
        &[
            Version::upsert("incident", "a1", &ago(30), json!({"caller_id": "u1"})),
            Version::upsert("incident", "a2", &ago(30), json!({"caller_id": "u2"})),
        ],
    )
    .await;
    ctx.watermark("sys_user", &ago(1)).await;
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_row("sys_user", "u1", json!({"name": "one"}))
        .await;
}

#[tokio::test]
async fn a_reference_to_a_record_the_same_plan_deletes_conflicts() {
    let ctx = TestContext::start().await;
    referenced_record_deleted_by_the_plan(&ctx).await;
    let tables = ["incident", "sys_user"];
    let undecided = ctx.dry_run(&tables, &ago(5), json!({})).await;
    assert_eq!(
        undecided.status,
        StatusCode::CREATED,
        "{:?}",
        undecided.body
    );
    // Undecided, u1 may stay: only the missing decision blocks.
    assert_eq!(
        undecided.body["gate"]["reasons"],
        json!(["blocked_unresolved_delete_candidates"])
    );
    assert_eq!(undecided.body["reference_conflicts"], json!([]));
    let candidate = &undecided.body["delete_candidates"][0];
    assert_eq!(candidate["sys_id"], "u1");
    let id = candidate["candidate_id"].as_str().unwrap();

    let allow = json!({"delete_decisions": [{"candidate_id": id, "decision": "allow_deletion"}]});
    let deleting = ctx.dry_run(&tables, &ago(5), allow).await;
    assert_eq!(deleting.body["gate"]["executability"], "blocked");
    assert_eq!(
        deleting.body["gate"]["reasons"],
        json!(["blocked_reference_conflict"])
    );
    // a2's reference to u2 is fine: the plan creates u2.
    assert_eq!(
        deleting.body["reference_conflicts"],
        json!([{"table": "incident", "sys_id": "a1", "field": "caller_id",
            "referenced_table": "sys_user", "referenced_sys_id": "u1"}])
    );
    assert_eq!(deleting.body["summary"]["deletes"], 1);

    let skip = json!({"delete_decisions": [{"candidate_id": id, "decision": "skip_deletion"}]});
    let keeping = ctx.dry_run(&tables, &ago(5), skip).await;
    assert_eq!(
        keeping.body["gate"]["executability"], "executable",
        "{:?}",
        keeping.body["gate"]
    );
    assert_eq!(keeping.body["reference_conflicts"], json!([]));
}

#[tokio::test]
async fn a_reference_outside_the_scope_is_checked_against_the_target() {
    let ctx = TestContext::start().await;
    referenced_record_deleted_by_the_plan(&ctx).await;
    // Only incident in scope: u1 is in the target and untouched (fine);
    // u2 is not in the target and nothing creates it (dangling).
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(
        plan.body["reference_conflicts"],
        json!([{"table": "incident", "sys_id": "a2", "field": "caller_id",
            "referenced_table": "sys_user", "referenced_sys_id": "u2"}])
    );
    assert_eq!(
        plan.body["gate"]["reason_code"],
        "blocked_reference_conflict"
    );
}

fn media(id: &str, parent: &str, at: &str, content: &[u8]) -> Value {
    json!({"tenant_id": "acme", "instance_id": "prod", "media_id": id, "parent_table": "incident",
        "parent_sys_id": parent, "file_name": format!("{id}.txt"), "content_type": "text/plain",
        "event_time": at,
        "content_base64": base64(content)})
}

/// Standard padded base64 (the suite has no base64 dependency).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_standard_alphabet() {
    assert_eq!(base64(b"hello"), "aGVsbG8=");
    assert_eq!(base64(b"newer"), "bmV3ZXI=");
    assert_eq!(base64(b"old"), "b2xk");
    assert_eq!(base64(b"ab"), "YWI=");
}

/// a1 restored with attachment m1 (two versions before the PIT, one
/// after), m3 only after the PIT; a2 deleted at the PIT with m2.
async fn records_with_media(ctx: &TestContext) {
    ctx.target_table("incident", &[], true).await;
    ctx.ingest(
        0,
        &[
            Version::upsert("incident", "a1", &ago(50), json!({"v": 1})),
            Version::upsert("incident", "a2", &ago(50), json!({"v": 2})),
            Version::delete("incident", "a2", &ago(20)),
        ],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    let body = json!({"media": [
        media("m1", "a1", &ago(40), b"old"),
        media("m1", "a1", &ago(20), b"newer"),
        media("m1", "a1", &ago(2), b"after the pit"),
        media("m2", "a2", &ago(40), b"of a deleted record"),
        media("m3", "a1", &ago(2), b"too late"),
    ]});
    let reply = ctx.post("/v1/index/media", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[tokio::test]
async fn media_candidates_are_the_attachments_of_restored_records_at_the_pit() {
    let ctx = TestContext::start().await;
    records_with_media(&ctx).await;
    let pit = ago(5);
    let with = ctx
        .dry_run(&["incident"], &pit, json!({"include_media": true}))
        .await;
    assert_eq!(with.status, StatusCode::CREATED, "{:?}", with.body);
    let candidates = with.body["media_candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    let m1 = &candidates[0];
    assert_eq!(m1["media_id"], "m1");
    assert_eq!(m1["parent_table"], "incident");
    assert_eq!(m1["parent_sys_id"], "a1");
    assert_eq!(m1["file_name"], "m1.txt");
    assert_eq!(m1["size_bytes"], 5);
    assert_eq!(m1["sha256_plain"], sha(b"newer"));
    let candidate_id = m1["candidate_id"].as_str().unwrap();
    assert!(candidate_id.starts_with("mc_"), "{candidate_id}");
    assert_eq!(
        with.body["media_summary"],
        json!({"count": 1, "total_bytes": 5})
    );
    assert_eq!(with.body["gate"]["executability"], "executable");
    assert_eq!(
        with.body["required_capabilities"],
        json!(["restore_execute"])
    );
    // The same attachment version gets the same id in another plan.
    let again = ctx
        .dry_run(&["incident"], &ago(4), json!({"include_media": true}))
        .await;
    assert_eq!(
        again.body["media_candidates"][0]["candidate_id"],
        candidate_id
    );

    let without = ctx.dry_run(&["incident"], &pit, json!({})).await;
    assert_eq!(without.status, StatusCode::CREATED);
    assert_eq!(without.body["media_candidates"], json!([]));
    assert_eq!(
        without.body["media_summary"],
        json!({"count": 0, "total_bytes": 0})
    );
    assert_ne!(without.body["plan_hash"], with.body["plan_hash"]);
}

#[tokio::test]
async fn media_over_the_caps_needs_the_override_capability() {
    let dir = tempfile::tempdir().unwrap();
    let policies = rrs::policy::DEFAULT_POLICIES_TOML
        .replace("mediaMaxBytes = 104857600", "mediaMaxBytes = 4");
    assert_ne!(policies, rrs::policy::DEFAULT_POLICIES_TOML);
    let path = dir.path().join("policies.toml");
    std::fs::write(&path, policies).unwrap();
    let ctx = TestContext::start_with(&format!(
        "[policies]\npath = {:?}\n",
        path.display().to_string()
    ))
    .await;
    records_with_media(&ctx).await;
    let plan = ctx
        .dry_run(&["incident"], &ago(5), json!({"include_media": true}))
        .await;
    assert_eq!(plan.body["media_summary"]["total_bytes"], 5);
    assert_eq!(
        plan.body["required_capabilities"],
        json!(["restore_execute", "restore_override_caps"])
    );
}

#[tokio::test]
async fn versions_tied_on_event_time_resolve_by_offset() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[], true).await;
    let at = ago(30);
    // Offsets follow the order given: the later offset wins a tie.
    ctx.ingest(
        0,
        &[
            Version::upsert("incident", "a1", &at, json!({"v": 1})),
            Version::upsert("incident", "a1", &at, json!({"v": 2})),
            Version::upsert("incident", "a2", &at, json!({"v": 1})),
            Version::delete("incident", "a2", &at),
            Version::delete("incident", "a3", &at),
            Version::upsert("incident", "a3", &at, json!({"v": 3})),
            Version::upsert("incident", "a4", &ago(40), json!({"v": 0})),
            Version::upsert("incident", "a4", &at, json!({"v": 4})),
        ],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_row("incident", "a2", json!({"v": 1})).await;
    let plan = ctx
        .dry_run(&["incident"], &ago(5), json!({"plan_id": "p-tie"}))
        .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    let rows = all_rows(&ctx, "p-tie", 100).await;
    let got: Vec<(&str, &str, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (
                r["sys_id"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["after_sha256"].as_str(),
            )
        })
        .collect();
    let (v2, v3, v4) = (sha(br#"{"v":2}"#), sha(br#"{"v":3}"#), sha(br#"{"v":4}"#));
    assert_eq!(
        got,
        vec![
            ("a1", "create", Some(v2.as_str())),
            ("a2", "undecided_delete", None),
            ("a3", "create", Some(v3.as_str())),
            ("a4", "create", Some(v4.as_str())),
        ]
    );
    assert_eq!(rows[1]["before_sha256"], sha(br#"{"v":1}"#));
}

#[tokio::test]
async fn a_long_sys_id_list_spans_several_scans() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[], true).await;
    let at = ago(30);
    let ids: Vec<String> = (0..1200).map(|i| format!("r{i:04}")).collect();
    let versions: Vec<Version<'_>> = ids
        .iter()
        .map(|id| Version::upsert("incident", id, &at, json!({"id": id})))
        .collect();
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(1)).await;
    for id in ["r0001", "r0700", "r1150"] {
        ctx.target_row("incident", id, json!({"id": id})).await;
    }
    // Every other record, listed backwards, with one unknown id.
    let mut scoped: Vec<String> = ids.iter().step_by(2).cloned().collect();
    scoped.reverse();
    scoped.push("unknown".into());
    scoped.push("r0001".into());
    let body = json!({"plan_id": "p-long", "tenant_id": "acme", "instance_id": "prod", "pit": ago(5),
        "scope": {"tables": [{"table": "incident", "sys_ids": scoped}]}});
    let plan = ctx.post("/v1/plans/dry-run", &body).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(plan.body["summary"]["creates"], 598);
    assert_eq!(plan.body["summary"]["unchanged"], 3);
    assert_eq!(plan.body["summary"]["rows_total"], 601);
    let rows = all_rows(&ctx, "p-long", 1000).await;
    let mut expected: Vec<String> = ids.iter().step_by(2).cloned().collect();
    expected.push("r0001".into());
    expected.sort();
    let got: Vec<&str> = rows.iter().map(|r| r["sys_id"].as_str().unwrap()).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_conflicting_repeat_leaves_the_stored_plan_untouched() {
    let ctx = TestContext::start().await;
    let plan = ctx
        .executable_plan(
            &["incident"],
            3,
            json!({"plan_id": "p-keep", "chunk_size": 2}),
        )
        .await;
    let pit = plan["pit"].as_str().unwrap().to_owned();
    let rows = all_rows(&ctx, "p-keep", 100).await;
    let stored = [
        "SELECT 1 FROM plans",
        "SELECT 1 FROM plan_rows",
        "SELECT 1 FROM plan_refs",
        "SELECT 1 FROM policy_decisions",
    ];
    let mut before = Vec::new();
    for sql in stored {
        before.push(count(&ctx, sql).await);
    }
    // The world moves on, then the same plan_id comes with other inputs.
    ctx.target_row("incident", "incident-00000", json!({"v": "edited"}))
        .await;
    ctx.ingest(
        900,
        &[Version::upsert(
            "incident",
            "late",
            &ago(7),
            json!({"v": 1}),
        )],
    )
    .await;
    let changes = [
        json!({"chunk_size": 3}),
        json!({"include_media": true}),
        json!({"pit": ago(6)}),
        json!({"delete_decisions": [{"candidate_id": "dc_x", "decision": "skip_deletion"}]}),
        json!({"scope": {"tables": [{"table": "incident", "sys_ids": ["incident-00000"]}]}}),
    ];
    for change in changes {
        let mut extra = json!({"plan_id": "p-keep", "chunk_size": 2});
        for (k, v) in change.as_object().unwrap() {
            extra[k] = v.clone();
        }
        let pit = extra
            .get("pit")
            .and_then(Value::as_str)
            .unwrap_or(&pit)
            .to_owned();
        let reply = ctx.dry_run(&["incident"], &pit, extra).await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{change}: {:?}",
            reply.body
        );
        assert_eq!(reply.reason(), "blocked_plan_hash_mismatch");
        assert_eq!(reply.body["details"]["plan_id"], "p-keep");
    }
    assert_eq!(ctx.get("/v1/plans/p-keep").await.body, plan);
    assert_eq!(all_rows(&ctx, "p-keep", 100).await, rows);
    for (sql, n) in stored.iter().zip(before) {
        assert_eq!(count(&ctx, sql).await, n, "{sql}");
    }
    // The same inputs spelled differently are the same plan.
    let same = json!({"plan_id": "p-keep", "chunk_size": 2, "include_media": false,
        "delete_decisions": [], "scope": {"tables": [{"table": "incident"}, {"table": "incident"}]}});
    let repeat = ctx.dry_run(&["incident"], &pit, same).await;
    assert_eq!(repeat.status, StatusCode::OK, "{:?}", repeat.body);
    assert_eq!(repeat.body, plan);
}

/// On PostgreSQL a dry-run over an index that grew in bulk since its last
/// `ANALYZE` refreshes the planner statistics first (without them the
/// version scan's self-join is planned as a rescan per record and runs
/// into the statement timeout at tens of thousands of records). On SQLite
/// there is nothing to refresh: the plan is only checked.
#[tokio::test]
async fn a_dry_run_after_a_bulk_ingest_refreshes_postgres_statistics() {
    use sea_orm::{ConnectionTrait, Statement};
    let ctx = TestContext::start().await;
    let at = ago(30);
    let ids: Vec<String> = (0..3_000).map(|i| format!("bulk-{i:05}")).collect();
    let filler = "x".repeat(300);
    for (batch, chunk) in ids.chunks(1_000).enumerate() {
        let versions: Vec<Version> = chunk
            .iter()
            .map(|id| Version::upsert("incident", id, &at, json!({"id": id, "filler": filler})))
            .collect();
        ctx.ingest(batch as i64 * 1_000, &versions).await;
    }
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_table("incident", &[], true).await;
    let db = ctx.database.connect().await;
    let tuples = || async {
        let sql =
            "SELECT reltuples::bigint AS n FROM pg_class WHERE oid = 'index_records'::regclass";
        let row = db
            .query_one(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let postgres = ctx.database.is_postgres();
    if postgres {
        assert!(tuples().await <= 0, "not analyzed since the ingest");
    }
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(plan.body["summary"]["creates"], 3_000);
    if postgres {
        assert_eq!(tuples().await, 3_000, "the dry-run analyzed index_records");
    }
}
