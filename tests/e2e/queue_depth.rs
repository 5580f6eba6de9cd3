//! A queued job's document stays small however deep the queue: it names
//! the oldest jobs ahead of it and counts the rest.

use chrono::Utc;
use reqwest::StatusCode;
use rrs::domain::queue;
use rrs::store::job_queue::NewJob;
use rrs::store::Store;
use rrs_tests::TestContext;

const AHEAD: usize = 10_000;

#[tokio::test]
async fn the_ten_thousand_and_first_job_has_a_small_document() {
    let ctx = TestContext::start().await;
    let store = Store::connect(&ctx.database.url, &Default::default())
        .await
        .unwrap();
    let mut last = String::new();
    for i in 0..=AHEAD {
        last = format!("job_deep_{i:05}");
        let new = NewJob {
            job_id: last.clone(),
            plan_id: "plan".into(),
            plan_hash: "a".repeat(64),
            tenant_id: "acme".into(),
            instance_id: "prod".into(),
            tables: vec!["incident".into()],
            status: String::new(),
            execution_state: String::new(),
            operator_id: "ops-7".into(),
            created_at: Utc::now(),
        };
        queue::admit(&store, new, Utc::now()).await.unwrap();
    }
    let reply = ctx.get(&format!("/v1/jobs/{last}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "queued");
    assert_eq!(reply.body["blocking_job_count"], AHEAD as i64);
    assert_eq!(reply.body["queue_position"], AHEAD as i64);
    let ids = reply.body["blocking_job_ids"].as_array().unwrap();
    assert_eq!(ids.len(), queue::BLOCKING_JOB_IDS_SHOWN);
    assert_eq!(ids[0], "job_deep_00000", "the running holder comes first");
    let size = serde_json::to_vec(&reply.body).unwrap().len();
    assert!(size < 4096, "a queued job's document is {size} bytes");
}
