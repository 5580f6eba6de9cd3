//! A restore into the instance from plan to evidence: the dry-run reads
//! the instance, the gate decides, the job executes in chunks (paused and
//! resumed), a record a person edits after planning falls back to row level
//! and is kept, the journal holds the instance's before-images, and the
//! evidence package verifies.

use reqwest::StatusCode;
use rrs_tests::fixtures::Version;
use rrs_tests::servicenow::{sys_id, SnInstance};
use rrs_tests::TestContext;
use serde_json::{json, Value};

use super::support::{
    ago, damaged, execute, job, journal, outcome_of, outcomes, plan, restored, resume, world,
};

/// The instance and backup of the scenario: record 0 is missing from the
/// instance, 1, 3, 4 and 6 are damaged, 2 is intact, and 5 was created in
/// the instance after the point in time.
async fn scenario(sn: &SnInstance, ctx: &TestContext) {
    let at = ago(30);
    let ids: Vec<String> = (0..7).map(sys_id).collect();
    let versions: Vec<Version<'_>> = [0, 1, 2, 3, 4, 6]
        .iter()
        .map(|&n| Version::upsert("incident", &ids[n], &at, restored(n)))
        .collect();
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(1)).await;
    let mut live: Vec<(String, Value)> = [1, 3, 4, 6]
        .iter()
        .map(|&n| (ids[n].clone(), damaged(n)))
        .collect();
    live.push((ids[2].clone(), restored(2)));
    live.push((
        ids[5].clone(),
        json!({"short_description": "created later", "state": "1"}),
    ));
    sn.seed("incident", &live);
}

#[tokio::test]
async fn a_restore_into_the_instance_runs_from_plan_to_evidence() {
    let (sn, ctx) = world("").await;
    scenario(&sn, &ctx).await;

    let targets = ctx.get("/v1/targets").await;
    assert_eq!(targets.status, StatusCode::OK, "{:?}", targets.body);
    let entry = &targets.body["items"][0];
    assert_eq!(entry["kind"], "servicenow");
    assert_eq!(entry["url"], sn.fake.base_url);
    assert_eq!(entry["reachable"], true, "{entry}");

    let first = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(
        first.body["gate"]["reason_code"],
        "blocked_unresolved_delete_candidates"
    );
    let candidate = &first.body["delete_candidates"][0];
    assert_eq!(candidate["sys_id"], sys_id(5));
    let decision = json!({"chunk_size": 2, "delete_decisions": [
        {"candidate_id": candidate["candidate_id"], "decision": "allow_deletion"}]});
    let plan = plan(&ctx, decision).await;
    let summary = &plan["summary"];
    assert_eq!(
        (summary["creates"].as_i64(), summary["updates"].as_i64()),
        (Some(1), Some(4)),
        "{summary}"
    );
    assert_eq!(summary["unchanged"], 1);
    assert_eq!(summary["deletes"], 1);
    assert_eq!(plan["chunking"]["total_chunks"], 3);

    let job_id = job(&ctx, &plan).await;
    // Chunks of two in sys_id order: [0, 1], [3, 4], [5, 6]. Record 1 is
    // edited by a person after planning: the first chunk falls back to row
    // level and keeps the edit.
    sn.user_edit(
        "incident",
        &sys_id(1),
        &json!({"short_description": "fixed by hand"}),
    )
    .await;
    let before_execution = sn.service_writes().len();
    assert_eq!(before_execution, 0, "planning wrote nothing");

    let first = execute(&ctx, &job_id, json!({"max_chunks": 1})).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    assert_eq!(first.body["state"], "paused");
    assert_eq!(sn.service_writes().len(), 1, "only record 0 so far");

    // A record of a chunk not yet applied changes during the pause: the
    // resume refuses and writes nothing; put back, the resume goes on.
    sn.user_edit("incident", &sys_id(4), &json!({"state": "1"}))
        .await;
    let refused = resume(&ctx, &job_id, json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(
        refused.body["reason_code"],
        "blocked_resume_precondition_mismatch"
    );
    assert_eq!(
        refused.body["details"]["chunk_index"], 1,
        "{:?}",
        refused.body
    );
    assert_eq!(
        sn.service_writes().len(),
        1,
        "a refused resume writes nothing"
    );
    sn.user_edit("incident", &sys_id(4), &json!({"state": "7"}))
        .await;

    let done = resume(&ctx, &job_id, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed");

    for n in [0, 3, 4, 6] {
        assert_eq!(
            sn.content("incident", &sys_id(n)),
            Some(restored(n)),
            "record {n}"
        );
    }
    assert_eq!(sn.content("incident", &sys_id(2)), Some(restored(2)));
    assert_eq!(
        sn.mod_count("incident", &sys_id(2)),
        Some(0),
        "an unchanged record is not written"
    );
    assert_eq!(
        sn.content("incident", &sys_id(1)),
        Some(json!({"short_description": "fixed by hand", "state": "7"})),
        "a person's edit after planning is never overwritten"
    );
    assert_eq!(sn.content("incident", &sys_id(5)), None, "deleted");

    let rows = outcomes(&ctx, &job_id).await;
    assert_eq!(rows.len(), 6);
    let skipped = outcome_of(&rows, &sys_id(1));
    assert_eq!(skipped["outcome"], "skipped");
    assert_eq!(skipped["reason_code"], "skipped_target_changed");
    for n in [0, 3, 4, 5, 6] {
        assert_eq!(
            outcome_of(&rows, &sys_id(n))["outcome"],
            "applied",
            "record {n}"
        );
    }
    for n in [0, 3, 4, 5, 6] {
        assert_eq!(
            sn.applied_writes_to(&sys_id(n)).len(),
            1,
            "record {n} written exactly once"
        );
    }
    assert!(sn.applied_writes_to(&sys_id(1)).is_empty());

    let journal = journal(&ctx, &job_id).await;
    assert_eq!(journal.len(), 5);
    let entry = |n: usize| journal.iter().find(|j| j["sys_id"] == sys_id(n)).unwrap();
    assert_eq!(
        entry(3)["before_image"],
        damaged(3),
        "the instance's record before the restore"
    );
    assert_eq!(entry(0)["before_image"], Value::Null, "created");
    assert_eq!(
        entry(5)["before_image"],
        json!({"short_description": "created later", "state": "1"})
    );

    let exported = ctx
        .post(&format!("/v1/jobs/{job_id}/evidence/export"), &json!({}))
        .await;
    assert_eq!(exported.status, StatusCode::CREATED, "{:?}", exported.body);
    let read = ctx.get(&format!("/v1/jobs/{job_id}/evidence")).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(
        read.body["verification"]["signature_verification"], "verified",
        "{:?}",
        read.body["verification"]
    );
}

#[tokio::test]
async fn the_gate_blocks_a_plan_whose_references_dangle_in_the_instance() {
    let sn = SnInstance::start(vec![
        rrs_fake_servicenow::TableSchema::new("sys_user").string("user_name"),
        rrs_fake_servicenow::TableSchema::new("incident")
            .string("short_description")
            .reference("caller_id", "sys_user"),
    ])
    .await;
    let ctx = TestContext::start_with(&sn.target_toml("")).await;
    let caller = sys_id(900);
    ctx.ingest(
        0,
        &[Version::upsert(
            "incident",
            &sys_id(1),
            &ago(30),
            json!({"short_description": "no caller", "caller_id": caller}),
        )],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    let blocked = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(blocked.status, StatusCode::CREATED, "{:?}", blocked.body);
    assert_eq!(blocked.body["gate"]["executability"], "blocked");
    assert_eq!(
        blocked.body["gate"]["reason_code"], "blocked_reference_conflict",
        "{:?}",
        blocked.body["gate"]
    );
    assert_eq!(
        blocked.body["reference_conflicts"][0]["referenced_sys_id"],
        json!(caller)
    );
    sn.seed(
        "sys_user",
        &[(caller.clone(), json!({"user_name": "abel.tuter"}))],
    );
    let fine = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(
        fine.body["gate"]["executability"], "executable",
        "{:?}",
        fine.body["gate"]
    );
}

#[tokio::test]
async fn an_unreachable_instance_is_listed_so_and_refuses_dry_runs() {
    let (sn, ctx) = world("").await;
    ctx.ingest(
        0,
        &[Version::upsert(
            "incident",
            &sys_id(1),
            &ago(30),
            restored(1),
        )],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    sn.fake
        .handle
        .revoke_user(rrs_tests::servicenow::SERVICE_USER);
    let targets = ctx.get("/v1/targets").await;
    assert_eq!(targets.body["items"][0]["reachable"], false);
    assert!(targets.body["items"][0]["problem"].is_string());
    let refused = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.reason(), "target_unauthorized");
}
