//! Injected latency delays each request without serialising them.

use std::time::{Duration, Instant};

use crate::common::Fake;

#[tokio::test]
async fn latency_delays_requests_without_serialising_them() {
    let fake = Fake::start().await;
    fake.handle().set_latency(Duration::from_millis(100));
    fake.get("/api/now/table/incident").await; // warm a connection
    let started = Instant::now();
    assert_eq!(fake.get("/api/now/table/incident").await.status, 200);
    let single = started.elapsed();
    assert!(single >= Duration::from_millis(100), "{single:?}");

    let started = Instant::now();
    let requests = (0..10).map(|_| fake.get("/api/now/table/incident"));
    let replies = futures::future::join_all(requests).await;
    let ten = started.elapsed();
    assert!(replies.iter().all(|r| r.status == 200));
    // Serialised, ten requests would take ten times as long as one.
    assert!(
        ten < single * 5,
        "10 concurrent took {ten:?}, one took {single:?}"
    );

    let set = fake
        .client
        .put(fake.url("/fake/latency"))
        .json(&serde_json::json!({"ms": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    assert_eq!(fake.handle().behaviour().latency_ms, 0);
}
