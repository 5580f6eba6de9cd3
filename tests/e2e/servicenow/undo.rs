//! Undo against the instance: the restore's creates, updates, deletes and
//! attachments reverted through the same connector, so the instance ends
//! as it was before the restore; undoing the undo puts the restore back.

use base64::Engine;
use reqwest::StatusCode;
use rrs_tests::fixtures::Version;
use rrs_tests::servicenow::{sys_id, SnInstance};
use rrs_tests::TestContext;
use serde_json::{json, Value};

use super::support::{ago, damaged, execute, job, restored, world};

/// Every record of the scenario and the attachments of the updated one.
fn snapshot(sn: &SnInstance, ids: &[String]) -> Value {
    let rows: Vec<Value> = ids
        .iter()
        .map(|id| sn.content("incident", id).unwrap_or(Value::Null))
        .collect();
    json!({"rows": rows, "attachments": format!("{:?}", sn.attachments_of(&ids[1]))})
}

/// Plans with every delete candidate allowed (the plan must then be
/// executable), runs it, and returns the job id.
async fn run(ctx: &TestContext, path: &str, body: Value) -> String {
    let first = ctx.post(path, &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let decisions: Vec<Value> = first.body["delete_candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"candidate_id": c["candidate_id"], "decision": "allow_deletion"}))
        .collect();
    let mut decided = body.clone();
    decided["delete_decisions"] = json!(decisions);
    let plan = ctx.post(path, &decided).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(
        plan.body["gate"]["executability"], "executable",
        "{:?}",
        plan.body["gate"]
    );
    let job_id = job(ctx, &plan.body).await;
    let done = execute(ctx, &job_id, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed", "{:?}", done.body);
    job_id
}

#[tokio::test]
async fn an_undo_puts_the_instance_back_and_undoing_it_puts_the_restore_back() {
    let (sn, ctx) = world("").await;
    let at = ago(30);
    let ids: Vec<String> = (0..3).map(sys_id).collect();
    // 0 is missing from the instance (created), 1 damaged (updated, with an
    // attachment restored beside it), 2 only in the instance (deleted).
    let versions = [
        Version::upsert("incident", &ids[0], &at, restored(0)),
        Version::upsert("incident", &ids[1], &at, restored(1)),
    ];
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(1)).await;
    sn.seed(
        "incident",
        &[(ids[1].clone(), damaged(1)), (ids[2].clone(), damaged(2))],
    );
    let media = json!({"media": [{"tenant_id": "acme", "instance_id": "prod", "media_id": "m1",
        "parent_table": "incident", "parent_sys_id": ids[1], "file_name": "m1.txt",
        "content_type": "text/plain", "event_time": at,
        "content_base64": base64::engine::general_purpose::STANDARD.encode(b"restored note")}]});
    let reply = ctx.post("/v1/index/media", &media).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

    let before = snapshot(&sn, &ids);
    let dry_run = json!({"tenant_id": "acme", "instance_id": "prod", "pit": ago(5),
        "scope": {"tables": [{"table": "incident"}]}, "include_media": true});
    let job_id = run(&ctx, "/v1/plans/dry-run", dry_run).await;
    let after_restore = snapshot(&sn, &ids);
    assert_eq!(sn.content("incident", &ids[0]), Some(restored(0)));
    assert_eq!(sn.content("incident", &ids[2]), None);
    assert_eq!(
        sn.attachments_of(&ids[1]),
        vec![("m1.txt".to_owned(), b"restored note".to_vec())]
    );

    let undo_job = run(&ctx, &format!("/v1/jobs/{job_id}/undo-plan"), json!({})).await;
    assert_eq!(snapshot(&sn, &ids), before, "the instance is as it was");

    run(&ctx, &format!("/v1/jobs/{undo_job}/undo-plan"), json!({})).await;
    assert_eq!(snapshot(&sn, &ids), after_restore);
}
