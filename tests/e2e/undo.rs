//! Undo: a job's writes turned back into a plan from its rollback journal,
//! executed like any restore. The target ends as it was before the
//! restore, byte for byte, attachments included; undoing the undo puts the
//! restore back. Conflicts block until decided; pruned and tampered
//! before-images, running jobs and jobs that wrote nothing are refused
//! with nothing written.

use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::Version;
use rrs_tests::{faults, Reply, TestContext};
use serde_json::{json, Value};

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every record of the mixed scenario and attachment `m1`, as the target
/// holds them now.
async fn snapshot(ctx: &TestContext) -> Value {
    let mut rows = serde_json::Map::new();
    for id in ["upd", "new", "del", "same"] {
        let payload = ctx.target_payload("incident", id).await;
        rows.insert(id.to_owned(), payload.unwrap_or(Value::Null));
    }
    let media = ctx
        .get("/v1/targets/acme/prod/tables/incident/media/m1")
        .await;
    let m1 = (media.status == StatusCode::OK).then(|| media.body["sha256_plain"].clone());
    json!({"rows": rows, "m1": m1})
}

/// The backup and the target of the mixed scenario: the restore updates
/// `upd`, creates `new` (with attachment `m1`), deletes `del` and leaves
/// `same` alone.
async fn mixed(ctx: &TestContext) {
    ctx.target_table("incident", &[], true).await;
    let at = ago(30);
    ctx.ingest(
        0,
        &[
            Version::upsert(
                "incident",
                "upd",
                &at,
                json!({"short_description": "restored"}),
            ),
            Version::upsert(
                "incident",
                "new",
                &at,
                json!({"short_description": "created"}),
            ),
            Version::upsert(
                "incident",
                "same",
                &at,
                json!({"short_description": "same"}),
            ),
        ],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    let media = json!({"media": [{"tenant_id": "acme", "instance_id": "prod", "media_id": "m1",
        "parent_table": "incident", "parent_sys_id": "new", "file_name": "m1.txt",
        "content_type": "text/plain", "event_time": at, "content_base64": "aGVsbG8="}]});
    assert_eq!(
        ctx.post("/v1/index/media", &media).await.status,
        StatusCode::OK
    );
    ctx.target_row(
        "incident",
        "upd",
        json!({"short_description": "before", "n": 1}),
    )
    .await;
    ctx.target_row(
        "incident",
        "del",
        json!({"short_description": "deleted by the restore"}),
    )
    .await;
    ctx.target_row("incident", "same", json!({"short_description": "same"}))
        .await;
}

/// Every delete candidate of `plan` allowed.
fn allow_all(plan: &Value) -> Value {
    plan["delete_candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"candidate_id": c["candidate_id"], "decision": "allow_deletion"}))
        .collect()
}

/// Creates a job from an executable plan and runs it to the end.
async fn run(ctx: &TestContext, plan: &Value) -> String {
    run_to_end(ctx, plan).await.0
}

/// [`run`], with the execution's answer.
async fn run_to_end(ctx: &TestContext, plan: &Value) -> (String, Value) {
    assert_eq!(
        plan["gate"]["executability"], "executable",
        "{:?}",
        plan["gate"]
    );
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let job = ctx.post("/v1/jobs", &body).await;
    assert_eq!(job.status, StatusCode::CREATED, "{:?}", job.body);
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed", "{:?}", done.body);
    (job_id, done.body)
}

/// The restore of the mixed scenario, run; returns its job id.
async fn restore(ctx: &TestContext) -> String {
    let first = ctx
        .dry_run(&["incident"], &ago(5), json!({"include_media": true}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let plan = ctx
        .dry_run(
            &["incident"],
            &ago(5),
            json!({"include_media": true, "delete_decisions": allow_all(&first.body)}),
        )
        .await;
    run(ctx, &plan.body).await
}

async fn undo_plan(ctx: &TestContext, job_id: &str, body: Value) -> Reply {
    ctx.post(&format!("/v1/jobs/{job_id}/undo-plan"), &body)
        .await
}

/// An undo plan of `job_id` with every delete candidate allowed.
async fn executable_undo(ctx: &TestContext, job_id: &str) -> Value {
    let first = undo_plan(ctx, job_id, json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    if first.body["delete_candidates"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        return first.body;
    }
    let decided = undo_plan(
        ctx,
        job_id,
        json!({"delete_decisions": allow_all(&first.body)}),
    )
    .await;
    assert_eq!(decided.status, StatusCode::CREATED, "{:?}", decided.body);
    decided.body
}

/// The job's latest evidence package, once made (automatic packages are
/// made in the background).
async fn evidence(ctx: &TestContext, job_id: &str) -> Value {
    for _ in 0..200 {
        let reply = ctx.get(&format!("/v1/jobs/{job_id}/evidence")).await;
        if reply.status == StatusCode::OK {
            return reply.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("job {job_id} got no evidence package");
}

#[tokio::test]
async fn undo_puts_the_target_back_and_undoing_the_undo_puts_the_restore_back() {
    let ctx = TestContext::start().await;
    mixed(&ctx).await;
    let before = snapshot(&ctx).await;
    let job_id = restore(&ctx).await;
    let restored = snapshot(&ctx).await;
    assert_eq!(
        restored,
        json!({"rows": {"upd": {"short_description": "restored"},
            "new": {"short_description": "created"}, "del": null,
            "same": {"short_description": "same"}},
            "m1": sha(b"hello")}),
    );
    let original_package = evidence(&ctx, &job_id).await;

    // The undo deletes what the restore created: a delete candidate to decide.
    let first = undo_plan(&ctx, &job_id, json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let plan = &first.body;
    assert_eq!(plan["undo"]["job_id"], job_id.as_str());
    assert_eq!(
        plan["undo"]["evidence_manifest_sha256"],
        original_package["manifest_sha256"]
    );
    assert_eq!(plan["undo"]["conflicts"], json!([]));
    assert_eq!(
        (
            plan["summary"]["creates"].as_i64(),
            plan["summary"]["updates"].as_i64(),
            plan["summary"]["undecided_deletes"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{:?}",
        plan["summary"]
    );
    assert_eq!(plan["delete_candidates"][0]["sys_id"], "new");
    assert_eq!(
        plan["gate"]["reason_code"],
        "blocked_unresolved_delete_candidates"
    );
    assert_eq!(plan["media_removals"][0]["media_id"], "m1");
    // The gate saw the journal as the undo's one source.
    assert_eq!(
        plan["watermarks"][0]["topic"],
        format!("rollback_journal/{job_id}")
    );

    let undo = executable_undo(&ctx, &job_id).await;
    assert!(undo["required_capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("restore_delete")));
    let rows = ctx
        .all_pages(
            &format!("/v1/plans/{}/rows", undo["plan_id"].as_str().unwrap()),
            "items",
        )
        .await;
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["sys_id"].as_str().unwrap(), r["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sorted(actions),
        vec![("del", "create"), ("new", "delete"), ("upd", "update")]
    );
    let undo_job = run(&ctx, &undo).await;
    assert_eq!(snapshot(&ctx).await, before, "the undo restores every byte");

    // Its package names the undone job's package.
    let package = evidence(&ctx, &undo_job).await;
    assert_eq!(
        package["evidence"]["undo_of"],
        json!({"job_id": job_id, "plan_id": undo["undo"]["plan_id"],
            "evidence_manifest_sha256": original_package["manifest_sha256"]})
    );
    assert_eq!(
        package["verification"]["reason_code"],
        Value::Null,
        "{package:?}"
    );

    // Undo the undo: the restore's result comes back.
    let again = executable_undo(&ctx, &undo_job).await;
    assert_eq!(again["media_candidates"][0]["media_id"], "m1");
    run(&ctx, &again).await;
    assert_eq!(snapshot(&ctx).await, restored);
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn sha(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// A completed restore that updated `x` and `y` (before-images "x before"
/// and "y before").
async fn two_updates(ctx: &TestContext) -> String {
    ctx.target_table("incident", &[], true).await;
    let at = ago(30);
    ctx.ingest(
        0,
        &[
            Version::upsert(
                "incident",
                "x",
                &at,
                json!({"short_description": "x restored"}),
            ),
            Version::upsert(
                "incident",
                "y",
                &at,
                json!({"short_description": "y restored"}),
            ),
        ],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    ctx.target_row("incident", "x", json!({"short_description": "x before"}))
        .await;
    ctx.target_row("incident", "y", json!({"short_description": "y before"}))
        .await;
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    run(ctx, &plan.body).await
}

#[tokio::test]
async fn rows_changed_after_the_restore_block_the_undo_until_decided() {
    let ctx = TestContext::start().await;
    let job_id = two_updates(&ctx).await;
    ctx.target_row(
        "incident",
        "x",
        json!({"short_description": "x edited later"}),
    )
    .await;
    ctx.target_row(
        "incident",
        "y",
        json!({"short_description": "y edited later"}),
    )
    .await;

    let blocked = undo_plan(&ctx, &job_id, json!({})).await;
    assert_eq!(blocked.status, StatusCode::CREATED, "{:?}", blocked.body);
    let plan = &blocked.body;
    assert_eq!(plan["gate"]["executability"], "blocked");
    assert_eq!(
        plan["gate"]["reason_code"],
        "blocked_undo_conflicts_undecided"
    );
    assert_eq!(plan["summary"]["undecided_conflicts"], 2);
    let conflicts = plan["undo"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert!(conflicts
        .iter()
        .all(|c| c["job_action"] == "update" && c["decision"].is_null()));
    // A blocked undo makes no job.
    let job = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    assert_eq!(job.status, StatusCode::CONFLICT);
    assert_eq!(job.reason(), "blocked_undo_conflicts_undecided");

    let id_of = |sys_id: &str| {
        conflicts
            .iter()
            .find(|c| c["sys_id"] == sys_id)
            .map(|c| c["conflict_id"].clone())
            .unwrap()
    };
    let decided = undo_plan(
        &ctx,
        &job_id,
        json!({"conflict_decisions": [
            {"conflict_id": id_of("x"), "decision": "keep_current"},
            {"conflict_id": id_of("y"), "decision": "revert"}]}),
    )
    .await;
    assert_eq!(decided.status, StatusCode::CREATED, "{:?}", decided.body);
    assert_eq!(decided.body["summary"]["kept_current"], 1);
    assert_eq!(decided.body["summary"]["updates"], 1);
    run(&ctx, &decided.body).await;
    assert_eq!(
        ctx.target_payload("incident", "x").await,
        Some(json!({"short_description": "x edited later"})),
        "keep_current leaves the later edit"
    );
    assert_eq!(
        ctx.target_payload("incident", "y").await,
        Some(json!({"short_description": "y before"})),
        "revert writes the before-image over it"
    );
}

/// A record the undo deletes, edited after the undo was planned. The
/// chunk's first try writes without reading its conflicts first (on
/// PostgreSQL a chunk of deletes only, on SQLite every chunk): it finds
/// the record's hash not as planned, writes nothing and is tried again,
/// and that try reads it as a conflict. The edit survives, unjournaled,
/// and the other record the restore created is deleted.
#[tokio::test]
async fn a_record_edited_after_the_undo_was_planned_is_skipped_not_deleted() {
    let ctx = TestContext::start().await;
    ctx.target_table("incident", &[], true).await;
    let at = ago(30);
    let versions = ["a", "b"].map(|id| Version::upsert("incident", id, &at, json!({"v": id})));
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(1)).await;
    let plan = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    let job_id = run(&ctx, &plan.body).await;
    let undo = executable_undo(&ctx, &job_id).await;
    assert_eq!(undo["summary"]["deletes"], 2, "{:?}", undo["summary"]);
    let edited = json!({"v": "edited after the undo plan"});
    ctx.target_row("incident", "a", edited.clone()).await;

    let (undo_job, done) = run_to_end(&ctx, &undo).await;
    assert_eq!(done["chunks"][0]["status"], "row_fallback", "{done:?}");
    let outcome = |id: &str| {
        done["row_outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["sys_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(outcome("a")["reason_code"], "skipped_target_changed");
    assert_eq!(outcome("b")["outcome"], "applied");
    assert_eq!(ctx.target_payload("incident", "a").await, Some(edited));
    assert_eq!(ctx.target_payload("incident", "b").await, None);
    let journal = ctx
        .get(&format!("/v1/jobs/{undo_job}/rollback-journal"))
        .await;
    let rows = journal.body["rollback_journal"].as_array().unwrap();
    let ids: Vec<&Value> = rows.iter().map(|r| &r["sys_id"]).collect();
    assert_eq!(ids, [&json!("b")], "only the delete of b is journaled");
    // The journal row has its mirror row and its applied outcome (on
    // PostgreSQL, written by the statement that deletes the record).
    let mirror = journal.body["sn_mirror"].as_array().unwrap();
    assert_eq!(mirror.len(), 1, "{mirror:?}");
    assert_eq!(mirror[0]["journal_id"], rows[0]["journal_id"]);
    assert_eq!(
        mirror[0]["before_image_sha256"],
        rows[0]["before_image_sha256"]
    );
    assert_eq!(outcome("b")["journal_id"], rows[0]["journal_id"]);
    assert_eq!(outcome("b")["used_row_fallback"], true, "{done:?}");
}

#[tokio::test]
async fn pruned_before_images_refuse_the_undo_and_list_the_rows() {
    let ctx = TestContext::start_with("[evidence]\nretention_days = 0\n").await;
    let job_id = two_updates(&ctx).await;
    let export = ctx
        .post(&format!("/v1/jobs/{job_id}/evidence/export"), &json!({}))
        .await;
    assert!(export.status.is_success(), "{:?}", export.body);
    let pruned = ctx
        .post(
            "/v1/admin/journal/prune",
            &json!({"actor": "ops-lead", "dry_run": false}),
        )
        .await;
    assert_eq!(pruned.body["before_images_removed"], 2, "{:?}", pruned.body);

    let refused = undo_plan(&ctx, &job_id, json!({"plan_id": "undo-pruned"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.reason(), "undo_before_images_pruned");
    let details = &refused.body["details"];
    assert_eq!(details["pruned_total"], 2);
    let listed: Vec<&str> = details["pruned_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sys_id"].as_str().unwrap())
        .collect();
    assert_eq!(sorted(listed), vec!["x", "y"]);
    assert_eq!(
        ctx.get("/v1/plans/undo-pruned").await.status,
        StatusCode::NOT_FOUND,
        "nothing was written"
    );
}

#[tokio::test]
async fn a_tampered_before_image_refuses_the_undo() {
    let ctx = TestContext::start().await;
    let job_id = two_updates(&ctx).await;
    faults::execute(
        &ctx.database,
        &format!(
            "UPDATE rollback_journal SET before_image = '{{\"short_description\": \"mallory\"}}' \
             WHERE job_id = '{job_id}' AND sys_id = 'y'"
        ),
    )
    .await;
    let refused = undo_plan(&ctx, &job_id, json!({"plan_id": "undo-tampered"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.reason(), "undo_before_image_mismatch");
    assert_eq!(refused.body["details"]["sys_id"], "y");
    assert_eq!(
        ctx.get("/v1/plans/undo-tampered").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ctx.target_payload("incident", "y").await,
        Some(json!({"short_description": "y restored"})),
        "nothing was written back"
    );
}

#[tokio::test]
async fn running_jobs_jobs_that_wrote_nothing_and_other_tenants_jobs_are_refused() {
    let ctx = TestContext::start().await;
    let plan = ctx.executable_plan(&["incident"], 3, json!({})).await;
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let job = ctx.post("/v1/jobs", &body).await;
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();

    let running = undo_plan(&ctx, &job_id, json!({})).await;
    assert_eq!(running.status, StatusCode::CONFLICT, "{:?}", running.body);
    assert_eq!(running.reason(), "undo_job_not_terminal");

    // Completed by an operator before any chunk ran: nothing to undo.
    let completed = ctx
        .post(
            &format!("/v1/jobs/{job_id}/complete"),
            &json!({"status": "cancelled", "actor": "ops-lead", "note": "wrong scope"}),
        )
        .await;
    assert!(completed.status.is_success(), "{:?}", completed.body);
    let nothing = undo_plan(&ctx, &job_id, json!({})).await;
    assert_eq!(nothing.status, StatusCode::CONFLICT, "{:?}", nothing.body);
    assert_eq!(nothing.reason(), "undo_nothing_applied");

    // Another tenant's job does not exist for the caller; a token without
    // `restore_plan` may not plan.
    let other = ctx.token("globex-op", &["restore_plan"], &["globex"]).await;
    let path = format!("/v1/jobs/{job_id}/undo-plan");
    let hidden = ctx
        .send(Method::POST, &path, Some(&other), Some(&json!({})))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{:?}", hidden.body);
    assert_eq!(hidden.reason(), "job_not_found");
    let reader = ctx.token("reader", &["restore_read"], &["acme"]).await;
    let forbidden = ctx
        .send(Method::POST, &path, Some(&reader), Some(&json!({})))
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.reason(), "blocked_missing_capability");
    let unknown = undo_plan(&ctx, "job_nope", json!({})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = undo_plan(
        &ctx,
        &job_id,
        json!({"conflict_decisions": [{"conflict_id": "x"}]}),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.reason(), "invalid_request");
}
