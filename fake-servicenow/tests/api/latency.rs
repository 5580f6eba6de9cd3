//! Injected latency delays each request without serialising them.

use std::time::{Duration, Instant};

use crate::common::Fake;

#[tokio::test]
async fn latency_delays_requests_without_serialising_them() {
    let fake = Fake::start().await;
    // Long enough that ten requests sent together are all inside it at
    // once, unless the fake served them one after the other.
    fake.handle().set_latency(Duration::from_millis(1000));
    let started = Instant::now();
    assert_eq!(fake.get("/api/now/table/incident").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert_eq!(fake.handle().most_delayed_at_once(), 1);

    let requests = (0..10).map(|_| fake.get("/api/now/table/incident"));
    let replies = futures::future::join_all(requests).await;
    assert_eq!(replies.len(), 10);
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(fake.handle().most_delayed_at_once(), 10);

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
