//! The start of an execution is one transaction: its row, its chunks, the
//! job's `in_progress` state and the `execution_started` event. A failure
//! (or a crash) before the event commits leaves no execution behind, so a
//! retried execute starts afresh and the history has no hole; a
//! revalidation failure after the start ends the job `failed` with one
//! terminal event and dense event numbers.

use reqwest::{Method, StatusCode};
use rrs_tests::faults::{count, InjectedFault};
use rrs_tests::TestContext;
use serde_json::{json, Value};

async fn job(ctx: &TestContext, plan: &Value) -> String {
    let body = json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]});
    let reply = ctx.post("/v1/jobs", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["job_id"].as_str().unwrap().to_owned()
}

/// `(seq, event_type)` of every event of the job, oldest first.
async fn events(ctx: &TestContext, job_id: &str) -> Vec<(i64, String)> {
    let reply = ctx.get(&format!("/v1/jobs/{job_id}/events")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kind = e["event_type"].as_str().unwrap().to_owned();
            (e["seq"].as_i64().unwrap(), kind)
        })
        .collect()
}

fn assert_dense(events: &[(i64, String)]) {
    let seqs: Vec<i64> = events.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_start_that_dies_before_its_event_leaves_no_execution_behind() {
    let ctx = TestContext::start().await;
    let plan = ctx
        .executable_plan(&["incident"], 4, json!({"chunk_size": 2}))
        .await;
    let job_id = job(&ctx, &plan).await;
    // The write of `execution_started` fails, as if the process died there.
    let fault = InjectedFault::refuse_inserts(
        &ctx.database,
        "rrs_test_no_start_event",
        "job_events",
        "NEW.event_type = 'execution_started'",
    )
    .await;
    let failed = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert!(failed.status.is_server_error(), "{:?}", failed.body);
    fault.remove(&ctx.database).await;

    // Nothing of the start remains: no execution row, no chunks, the job
    // not started, and its history without a trace of it.
    let where_job = format!("WHERE job_id = '{job_id}'");
    for table in ["job_executions", "execution_chunks"] {
        let rows = count(
            &ctx.database,
            &format!("SELECT COUNT(*) FROM {table} {where_job}"),
        )
        .await;
        assert_eq!(rows, 0, "{table} kept rows of a start that did not commit");
    }
    let job = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(job.body["execution_state"], "not_started", "{:?}", job.body);
    let checkpoint = ctx.get(&format!("/v1/jobs/{job_id}/checkpoint")).await;
    assert_eq!(
        (checkpoint.status, checkpoint.reason()),
        (StatusCode::NOT_FOUND, "checkpoint_missing"),
        "{:?}",
        checkpoint.body
    );
    assert_eq!(
        events(&ctx, &job_id).await,
        vec![(1, "job_started".to_owned())]
    );

    // A retried execute starts afresh; the history has no hole.
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["resume_metadata"]["resume_count"], 0);
    let history = events(&ctx, &job_id).await;
    assert_dense(&history);
    let kinds: Vec<&str> = history
        .iter()
        .map(|(_, kind)| kind.as_str())
        .filter(|kind| *kind != "evidence_exported")
        .collect();
    assert_eq!(
        kinds,
        [
            "job_started",
            "execution_started",
            "chunk_applied",
            "chunk_applied",
            "job_completed"
        ]
    );
}

#[tokio::test]
async fn a_revalidation_failure_after_the_start_ends_the_job_with_one_terminal_event() {
    let ctx = TestContext::start().await;
    let plan = ctx.executable_plan(&["incident"], 2, json!({})).await;
    let job_id = job(&ctx, &plan).await;
    ctx.send(
        Method::PUT,
        "/v1/targets/acme/prod/tables/incident",
        Some(&ctx.admin_token),
        Some(&json!({"columns": [{"name": "caller_id", "type": "string"}], "write_allowed": true})),
    )
    .await;
    let reply = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(
        (reply.status, reply.reason()),
        (StatusCode::CONFLICT, "failed_schema_conflict"),
        "{:?}",
        reply.body
    );
    let job = ctx.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(
        (&job.body["status"], &job.body["execution_state"]),
        (&json!("failed"), &json!("terminal"))
    );
    let history = events(&ctx, &job_id).await;
    assert_dense(&history);
    // The automatic evidence package records its own event afterwards.
    let kinds: Vec<&str> = history
        .iter()
        .map(|(_, kind)| kind.as_str())
        .filter(|kind| *kind != "evidence_exported")
        .collect();
    assert_eq!(kinds, ["job_started", "execution_started", "job_failed"]);
    let terminal = count(
        &ctx.database,
        &format!(
            "SELECT COUNT(*) FROM job_events e JOIN jobs j ON j.job_seq = e.job_seq \
             WHERE j.job_id = '{job_id}' AND e.terminal"
        ),
    )
    .await;
    assert_eq!(terminal, 1);
}
