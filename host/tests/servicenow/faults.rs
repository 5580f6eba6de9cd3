//! Rate limits, 5xx answers and lost connections.

use futures::TryStreamExt;
use rrs::target::{RecordKey, RowResult, Target};
use rrs_fake_servicenow::{Burst, FaultSpec};
use serde_json::json;

use crate::support::{create, fake, schema, seed_incidents, sys_id, table_requests, target};

fn injected(fake: &rrs_fake_servicenow::Running, what: &str) -> usize {
    let log = fake.handle.requests();
    log.iter()
        .filter(|r| r.injected.as_deref() == Some(what))
        .count()
}

#[tokio::test]
async fn a_429_burst_is_retried_for_reads_and_writes() {
    let fake = fake().await;
    seed_incidents(&fake, 30);
    let target = target(&fake, |s| s.retries = 3);
    let incident = schema(&target, "incident").await;
    fake.handle.clear_requests();
    fake.handle.burst_429(Burst {
        count: 2,
        retry_after_secs: 1,
    });
    let keys: Vec<RecordKey> = target
        .scan("incident", &incident, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys.len(), 30);
    assert_eq!(injected(&fake, "rate_limited"), 2);
    assert_eq!(
        table_requests(&fake, "incident").len(),
        3,
        "two 429s, then the page"
    );

    fake.handle.burst_429(Burst {
        count: 3,
        retry_after_secs: 1,
    });
    let results = target
        .apply(
            "incident",
            &incident,
            &[create(100, json!({"number": "A"}))],
        )
        .await
        .unwrap();
    assert!(
        matches!(results[0], RowResult::Applied { .. }),
        "{results:?}"
    );
    let posts: Vec<_> = table_requests(&fake, "incident")
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 4, "three 429s, then the write");
    assert!(posts[..3].iter().all(|r| r.status == Some(429)));
}

#[tokio::test]
async fn a_rate_limit_past_the_retries_leaves_rows_not_written() {
    let fake = fake().await;
    let target = target(&fake, |s| {
        s.retries = 2;
        s.concurrency = 1;
    });
    let incident = schema(&target, "incident").await;
    fake.handle.clear_requests();
    fake.handle.burst_429(Burst {
        count: 100,
        retry_after_secs: 1,
    });
    let batch: Vec<_> = (0..5).map(|n| create(n, json!({"number": n}))).collect();
    let results = target.apply("incident", &incident, &batch).await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, RowResult::NotWritten { .. })),
        "{results:?}"
    );
    assert_eq!(
        fake.handle.requests().len(),
        3,
        "one row tried 1 + 2 times, the rest not sent"
    );
    assert!(fake.handle.records("incident").unwrap().is_empty());
    fake.handle.burst_429(Burst {
        count: 0,
        retry_after_secs: 1,
    });
    let error = target
        .scan("incident", &incident, None)
        .try_collect::<Vec<_>>()
        .await;
    assert!(error.is_ok(), "the instance answers again");
}

#[tokio::test]
async fn a_503_on_a_write_is_retried() {
    let fake = fake().await;
    let target = target(&fake, |_| {});
    let incident = schema(&target, "incident").await;
    fake.handle.add_fault(FaultSpec::status(1, 503));
    let results = target
        .apply("incident", &incident, &[create(1, json!({"number": "A"}))])
        .await
        .unwrap();
    assert!(
        matches!(results[0], RowResult::Applied { .. }),
        "{results:?}"
    );
    assert_eq!(injected(&fake, "fault_status"), 1);
    assert_eq!(fake.handle.records("incident").unwrap().len(), 1);
}

#[tokio::test]
async fn a_500_on_a_write_is_unknown_and_not_retried() {
    let fake = fake().await;
    let target = target(&fake, |_| {});
    let incident = schema(&target, "incident").await;
    fake.handle.add_fault(FaultSpec::status(2, 500));
    let batch: Vec<_> = (0..3).map(|n| create(n, json!({"number": n}))).collect();
    let results = target.apply("incident", &incident, &batch).await.unwrap();
    let unknown: Vec<_> = results
        .iter()
        .filter(|r| matches!(r, RowResult::Unknown { .. }))
        .collect();
    assert_eq!(unknown.len(), 1, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, RowResult::Applied { .. }))
            .count(),
        2
    );
    assert_eq!(fake.handle.writes_seen(), 3, "the 500 was not retried");
    assert_eq!(fake.handle.records("incident").unwrap().len(), 2);
}

#[tokio::test]
async fn a_dropped_connection_on_a_write_is_unknown_either_way() {
    let fake = fake().await;
    let target = target(&fake, |s| s.concurrency = 1);
    let incident = schema(&target, "incident").await;
    fake.handle.add_fault(FaultSpec::drop_before_apply(1));
    fake.handle.add_fault(FaultSpec::drop_after_apply(2));
    let batch: Vec<_> = (0..3).map(|n| create(n, json!({"number": n}))).collect();
    let results = target.apply("incident", &incident, &batch).await.unwrap();
    assert!(matches!(&results[0], RowResult::Unknown { message } if message.contains("lost")));
    assert!(
        matches!(results[1], RowResult::Unknown { .. }),
        "{results:?}"
    );
    assert!(
        matches!(results[2], RowResult::Applied { .. }),
        "{results:?}"
    );
    assert!(
        fake.handle.record("incident", &sys_id(0)).is_none(),
        "dropped before applying"
    );
    assert!(
        fake.handle.record("incident", &sys_id(1)).is_some(),
        "dropped after applying"
    );
    assert_eq!(fake.handle.writes_seen(), 3, "no write was sent twice");
    let back = target
        .read("incident", &incident, &[sys_id(0), sys_id(1)])
        .await
        .unwrap();
    assert_eq!(back.len(), 1, "the domain's re-read tells them apart");
}

#[tokio::test]
async fn a_timed_out_write_is_unknown_and_a_timed_out_read_is_retried() {
    let fake = fake().await;
    let target = target(&fake, |s| {
        s.timeout_ms = 100;
        s.retries = 1;
    });
    let incident = schema(&target, "incident").await;
    fake.handle
        .set_latency(std::time::Duration::from_millis(300));
    fake.handle.clear_requests();
    let results = target
        .apply("incident", &incident, &[create(1, json!({"number": "A"}))])
        .await
        .unwrap();
    assert!(
        matches!(results[0], RowResult::Unknown { .. }),
        "{results:?}"
    );
    let read = target.read("incident", &incident, &[sys_id(1)]).await;
    assert!(
        matches!(read, Err(rrs::target::TargetError::Unavailable(_))),
        "{read:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    fake.handle.set_latency(std::time::Duration::ZERO);
    let posts = fake
        .handle
        .requests()
        .into_iter()
        .filter(|r| r.write)
        .count();
    assert_eq!(posts, 1, "the write was sent once");
    assert!(
        fake.handle.record("incident", &sys_id(1)).is_some(),
        "the instance applied the write whose answer came too late"
    );
    let reads = table_requests(&fake, "incident").len() - posts;
    assert_eq!(reads, 2, "the read was tried twice");
}
