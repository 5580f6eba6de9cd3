//! Journal pruning and the journal artifact: before-images go only after
//! the retention window and an export, every linkage id and hash stays,
//! and the package still verifies; a tampered journal row is caught.

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use serde_json::{json, Value};

use super::support::*;

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn run(ctx: &TestContext, plan: &Value) -> String {
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let job = ctx.post("/v1/jobs", &body).await;
    assert_eq!(job.status, StatusCode::CREATED, "{:?}", job.body);
    let job_id = id(&job.body);
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed", "{:?}", done.body);
    job_id
}

/// A completed job that updated three live rows, so its journal holds
/// three before-images.
async fn job_with_before_images(ctx: &TestContext) -> String {
    let table = format!(
        "incident_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let plan = ctx.executable_plan(&[table.as_str()], 3, json!({})).await;
    run(ctx, &plan).await;
    for i in 0..3 {
        let sys_id = format!("{table}-{i:05}");
        ctx.target_row(
            &table,
            &sys_id,
            json!({"short_description": format!("edited {i}")}),
        )
        .await;
    }
    let replan = ctx.dry_run(&[table.as_str()], &ago(3), json!({})).await;
    assert_eq!(replan.status, StatusCode::CREATED, "{:?}", replan.body);
    assert_eq!(replan.body["summary"]["updates"], 3, "{:?}", replan.body);
    run(ctx, &replan.body).await
}

async fn journal(ctx: &TestContext, job_id: &str) -> Value {
    let reply = ctx
        .get(&format!("/v1/jobs/{job_id}/rollback-journal"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

async fn prune(ctx: &TestContext, dry_run: bool) -> Value {
    let body = json!({"actor": "ops-lead", "dry_run": dry_run});
    let reply = ctx.post("/v1/admin/journal/prune", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

/// The journal with the before-images taken out: what must survive pruning.
fn linkage(journal: &Value) -> Value {
    let mut linkage = journal.clone();
    for row in linkage["rollback_journal"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("before_image");
    }
    linkage
}

#[tokio::test]
async fn nothing_is_pruned_inside_the_retention_window() {
    let ctx = TestContext::start().await;
    let job_id = job_with_before_images(&ctx).await;
    export(&ctx, &job_id).await;
    let report = prune(&ctx, false).await;
    assert_eq!(report["pruned_job_ids"], json!([]));
    assert_eq!(report["before_images_removed"], 0);
    assert_eq!(report["skipped"]["retention_not_expired"], 1);
    assert_eq!(report["retention_days"], 365);
    let rows = journal(&ctx, &job_id).await["rollback_journal"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 3, "{rows}");
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["before_image"].is_object()),
        "{rows}"
    );
}

#[tokio::test]
async fn after_retention_and_export_before_images_go_and_evidence_still_verifies() {
    let ctx = TestContext::start_with("[evidence]\nretention_days = 0\n").await;
    let job_id = job_with_before_images(&ctx).await;
    let before = journal(&ctx, &job_id).await;
    let images = before["rollback_journal"].as_array().unwrap();
    assert_eq!(
        images
            .iter()
            .filter(|r| r["before_image"].is_object())
            .count(),
        3
    );

    // Expired but not exported: nothing goes (an automatic package is no export).
    let report = prune(&ctx, false).await;
    assert_eq!(
        (
            report["before_images_removed"].as_i64(),
            report["skipped"]["evidence_not_exported"].as_i64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(journal(&ctx, &job_id).await, before);

    let package = export(&ctx, &job_id).await;
    let key = signer_key(&ctx, &package).await;
    assert_eq!(verdicts(&ctx, &package, &key).await, (None, None));
    let dry = prune(&ctx, true).await;
    assert_eq!(
        (
            dry["prune_id"].clone(),
            dry["before_images_removed"].as_i64()
        ),
        (Value::Null, Some(3))
    );
    assert_eq!(
        journal(&ctx, &job_id).await,
        before,
        "a dry run changes nothing"
    );

    let growth = ctx.get("/v1/admin/ops/journal-growth").await.body;
    assert_eq!(growth["retention_backlog"]["jobs"], 1, "{growth}");
    let report = prune(&ctx, false).await;
    assert_eq!(report["pruned_job_ids"], json!([job_id]));
    assert_eq!(report["before_images_removed"], 3);
    assert!(report["bytes_removed"].as_i64().unwrap() > 0);
    let after = journal(&ctx, &job_id).await;
    assert_eq!(
        after["rollback_journal"].as_array().unwrap().len(),
        3,
        "{after}"
    );
    assert!(after["rollback_journal"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["before_image"].is_null()));
    assert_eq!(
        linkage(&after),
        linkage(&before),
        "every linkage id and hash remains"
    );
    assert!(after["rollback_journal"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["before_image_sha256"].is_string()));
    assert_eq!(
        verdicts(&ctx, &package, &key).await,
        (None, None),
        "the package still verifies"
    );
    let growth = ctx.get("/v1/admin/ops/journal-growth").await.body;
    assert_eq!(growth["retention_backlog"]["jobs"], 0, "{growth}");
    let audit = count(&ctx, "SELECT COUNT(*) FROM journal_prune_runs WHERE actor = 'ops-lead' AND jobs_pruned = 1 AND before_images_removed = 3").await;
    assert_eq!(audit, 1);
    let again = prune(&ctx, false).await;
    assert_eq!(
        (
            again["jobs_examined"].as_i64(),
            again["before_images_removed"].as_i64()
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn a_tampered_journal_row_is_caught_and_its_before_images_are_kept() {
    let ctx = TestContext::start_with("[evidence]\nretention_days = 0\n").await;
    let job_id = job_with_before_images(&ctx).await;
    let package = export(&ctx, &job_id).await;
    let key = signer_key(&ctx, &package).await;
    let execution = package["report"]["outcome_summary"]["row_outcomes"]["applied"].clone();
    assert_eq!(execution, 3, "{}", package["report"]);
    tamper(&ctx, "rollback_journal", &format!(
        "UPDATE rollback_journal SET after_image_sha256 = '{}' WHERE job_id = '{job_id}' AND plan_row_id = (SELECT MIN(plan_row_id) FROM rollback_journal WHERE job_id = '{job_id}')",
        "f".repeat(64)
    ))
    .await;
    let expected = Some("failed_evidence_artifact_hash_mismatch".to_owned());
    assert_eq!(
        verdicts(&ctx, &package, &key).await,
        (expected.clone(), expected)
    );
    let report = prune(&ctx, false).await;
    assert_eq!(
        report["skipped"]["evidence_verification_failed"],
        json!([job_id])
    );
    assert_eq!(report["before_images_removed"], 0);
}

#[tokio::test]
async fn pruning_needs_ops_admin_and_a_well_formed_body() {
    let ctx = TestContext::start().await;
    let reader = ctx
        .token("reader", &["restore_read", "evidence_export"], &["*"])
        .await;
    let reply = ctx
        .send(
            Method::POST,
            "/v1/admin/journal/prune",
            Some(&reader),
            Some(&json!({"actor": "x"})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.reason()),
        (StatusCode::FORBIDDEN, "blocked_missing_capability")
    );
    for body in [
        json!({}),
        json!({"actor": ""}),
        json!({"actor": "x", "dry_run": "yes"}),
    ] {
        let reply = ctx.post("/v1/admin/journal/prune", &body).await;
        assert_eq!(
            (reply.status, reply.reason()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{body}"
        );
    }
}

/// The journal row with the lowest `plan_row_id` and its before-image.
async fn first_journal_row(ctx: &TestContext, job_id: &str) -> Value {
    journal(ctx, job_id).await["rollback_journal"][0].clone()
}

#[tokio::test]
async fn a_before_image_changed_in_the_database_fails_verification_naming_its_row() {
    let ctx = TestContext::start_with("[evidence]\nretention_days = 0\n").await;
    let job_id = job_with_before_images(&ctx).await;
    let package = export(&ctx, &job_id).await;
    let key = signer_key(&ctx, &package).await;
    assert_eq!(verdicts(&ctx, &package, &key).await, (None, None));
    let row = first_journal_row(&ctx, &job_id).await;
    let journal_id = row["journal_id"].as_str().unwrap().to_owned();
    let image = row["before_image"].as_object().unwrap().clone();
    assert!(!image.is_empty(), "{row}");
    let where_row = format!("WHERE journal_id = '{journal_id}'");

    // The same image re-serialised (members reversed, spaced out) is the
    // same image: the hash is over canonical JSON on either database.
    let reordered: Vec<String> = image
        .iter()
        .rev()
        .map(|(k, v)| format!("  {} :  {v}", json!(k)))
        .collect();
    let respelled = format!("{{ {} }}", reordered.join(" ,\n"));
    tamper(
        &ctx,
        "rollback_journal",
        &format!(
            "UPDATE rollback_journal SET before_image = '{}' {where_row}",
            respelled.replace('\'', "''")
        ),
    )
    .await;
    assert_eq!(verdicts(&ctx, &package, &key).await, (None, None));

    // A changed image is what a rollback would write back: caught.
    let mut changed = image.clone();
    changed.insert("short_description".into(), json!("written by mallory"));
    tamper(
        &ctx,
        "rollback_journal",
        &format!(
            "UPDATE rollback_journal SET before_image = '{}' {where_row}",
            Value::Object(changed.clone())
                .to_string()
                .replace('\'', "''")
        ),
    )
    .await;
    let expected = Some("failed_evidence_before_image_mismatch".to_owned());
    assert_eq!(
        verdicts(&ctx, &package, &key).await,
        (expected.clone(), expected)
    );
    let reply = read(&ctx, &job_id, None).await;
    let verification = &reply.body["verification"];
    let failed: Vec<&str> = verification["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["before_images"], "{verification}");
    let rows = verification["before_image_mismatches"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{verification}");
    assert_eq!(rows[0]["journal_id"], journal_id.as_str());
    assert_eq!(rows[0]["plan_row_id"], row["plan_row_id"]);
    assert_eq!(rows[0]["before_image_sha256"], row["before_image_sha256"]);
    assert_ne!(rows[0]["observed_sha256"], row["before_image_sha256"]);
    let logged = count(&ctx, &format!("SELECT COUNT(*) FROM evidence_verification_failures WHERE job_id = '{job_id}' AND reason_code = 'failed_evidence_before_image_mismatch'")).await;
    assert!(logged >= 1, "{logged}");

    // Its before-images stay for the investigation: pruning skips the job.
    let report = prune(&ctx, false).await;
    assert_eq!(
        report["skipped"]["evidence_verification_failed"],
        json!([job_id])
    );
    assert_eq!(
        first_journal_row(&ctx, &job_id).await["before_image"],
        Value::Object(changed)
    );
}
