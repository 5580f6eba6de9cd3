//! What the remote scenarios share: an instance with `incident`, a service
//! pointed at it, a backup history, and the job calls.

use reqwest::StatusCode;
use rrs_tests::fixtures::Version;
use rrs_tests::servicenow::{incident, sys_id, SnInstance};
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

pub fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An instance with `incident(short_description, state)` and a service
/// whose `acme/prod` is that instance.
pub async fn world(target_extra: &str) -> (SnInstance, TestContext) {
    let sn = SnInstance::start(vec![incident(&["short_description", "state"])]).await;
    let ctx = TestContext::start_with(&sn.target_toml(target_extra)).await;
    (sn, ctx)
}

/// The backup's version of record `n`.
pub fn restored(n: usize) -> Value {
    json!({"short_description": format!("printer {n} jammed"), "state": "2"})
}

/// What the instance holds for record `n` before the restore.
pub fn damaged(n: usize) -> Value {
    json!({"short_description": format!("bulk-edited {n}"), "state": "7"})
}

/// `rows` records in the backup at 30 minutes ago (fresh watermark), all
/// present in the instance in their damaged form: a plan at 5 minutes ago
/// updates each of them.
pub async fn damaged_incidents(sn: &SnInstance, ctx: &TestContext, rows: usize) -> Vec<String> {
    let ids: Vec<String> = (0..rows).map(sys_id).collect();
    let at = ago(30);
    let versions: Vec<Version<'_>> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| Version::upsert("incident", id, &at, restored(n)))
        .collect();
    for (b, batch) in versions.chunks(5000).enumerate() {
        ctx.ingest((b * 5000) as i64, batch).await;
    }
    ctx.watermark("incident", &ago(1)).await;
    let seeded: Vec<(String, Value)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (id.clone(), damaged(n)))
        .collect();
    for batch in seeded.chunks(1000) {
        sn.seed("incident", batch);
    }
    ids
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
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/v1/jobs/{job_id}/execution?limit=500&cursor={c}"),
            None => format!("/v1/jobs/{job_id}/execution?limit=500"),
        };
        let page = ctx.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        all.extend(
            page.body["row_outcomes"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
    panic!("job {job_id}: still a next_cursor after 1000 pages");
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
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/v1/jobs/{job_id}/rollback-journal?cursor={c}"),
            None => format!("/v1/jobs/{job_id}/rollback-journal"),
        };
        let page = ctx.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        all.extend(
            page.body["rollback_journal"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
    panic!("job {job_id}: still a next_cursor after 1000 pages");
}
