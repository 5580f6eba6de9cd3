//! What the remote scenarios share: an instance with `incident`, a service
//! pointed at it, a backup history, and the job calls.

use reqwest::StatusCode;
pub use rrs_tests::servicenow::{ago, damaged, damaged_incidents, restored};
use rrs_tests::servicenow::{incident, SnInstance};
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

/// An instance with `incident(short_description, state)` and a service
/// whose `acme/prod` is that instance.
pub async fn world(target_extra: &str) -> (SnInstance, TestContext) {
    let sn = SnInstance::start(vec![incident(&["short_description", "state"])]).await;
    let ctx = TestContext::start_with(&sn.target_toml(target_extra)).await;
    (sn, ctx)
}

/// An executable plan over `incident` at 5 minutes ago.
pub async fn plan(ctx: &TestContext, extra: Value) -> Value {
    let reply = ctx.dry_run(&["incident"], &ago(5), extra).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(
        reply.body["gate"]["executability"], "executable",
        "{:?}",
        reply.body["gate"]
    );
    reply.body
}

/// A running job for the plan.
pub async fn job(ctx: &TestContext, plan: &Value) -> String {
    let reply = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["job_id"].as_str().unwrap().to_owned()
}

pub async fn execute(ctx: &TestContext, job_id: &str, body: Value) -> Reply {
    ctx.post(&format!("/v1/jobs/{job_id}/execution"), &body)
        .await
}

/// Resumes from the job's checkpoint.
pub async fn resume(ctx: &TestContext, job_id: &str, extra: Value) -> Reply {
    let cp = ctx.get(&format!("/v1/jobs/{job_id}/checkpoint")).await;
    assert_eq!(cp.status, StatusCode::OK, "{:?}", cp.body);
    let mut body = json!({"expected_plan_checksum": cp.body["plan_checksum"],
        "expected_precondition_checksum": cp.body["precondition_checksum"]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    ctx.post(&format!("/v1/jobs/{job_id}/resume"), &body).await
}

/// The execution's row outcomes, every page.
pub async fn outcomes(ctx: &TestContext, job_id: &str) -> Vec<Value> {
    let path = format!("/v1/jobs/{job_id}/execution?limit=500");
    ctx.all_pages(&path, "row_outcomes").await
}

/// The outcome of the row for `sys_id`.
pub fn outcome_of<'a>(outcomes: &'a [Value], sys_id: &str) -> &'a Value {
    outcomes
        .iter()
        .find(|o| o["sys_id"] == sys_id)
        .unwrap_or_else(|| panic!("no outcome for {sys_id}"))
}

/// The rollback journal, every page.
pub async fn journal(ctx: &TestContext, job_id: &str) -> Vec<Value> {
    let path = format!("/v1/jobs/{job_id}/rollback-journal");
    ctx.all_pages(&path, "rollback_journal").await
}
