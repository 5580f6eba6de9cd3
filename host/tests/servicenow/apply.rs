//! Writes: create, update, delete; refusals per row; concurrency.

use rrs::target::{ChangeKind, RowChange, RowResult, Target};
use rrs_fake_servicenow::AclRule;
use serde_json::json;

use crate::support::{create, fake, schema, seed_incidents, sys_id, table_requests, target};

#[tokio::test]
async fn creates_updates_and_deletes_without_touching_sys_fields() {
    let fake = fake().await;
    let ids = seed_incidents(&fake, 3);
    let target = target(&fake, |_| {});
    let incident = schema(&target, "incident").await;
    let batch = vec![
        create(
            100,
            json!({"short_description": "new", "priority": 2, "active": true,
            "sys_created_by": "mallory", "sys_mod_count": "42", "sys_id": "ignored"}),
        ),
        RowChange {
            plan_row_id: 2,
            sys_id: ids[0].clone(),
            kind: ChangeKind::Update,
            payload: Some(
                json!({"short_description": "changed", "number": "INC0000000",
                "sys_updated_by": "mallory"}),
            ),
        },
        RowChange {
            plan_row_id: 3,
            sys_id: ids[1].clone(),
            kind: ChangeKind::Delete,
            payload: None,
        },
        RowChange {
            plan_row_id: 4,
            sys_id: sys_id(999),
            kind: ChangeKind::Delete,
            payload: None,
        },
    ];
    let results = target.apply("incident", &incident, &batch).await.unwrap();
    let created = fake.handle.record("incident", &sys_id(100)).unwrap();
    assert_eq!(created["short_description"], "new");
    assert_eq!(created["priority"], "2");
    assert_eq!(created["sys_created_by"], "admin");
    assert_eq!(created["sys_mod_count"], "0");
    let updated = fake.handle.record("incident", &ids[0]).unwrap();
    assert_eq!(updated["short_description"], "changed");
    assert_eq!(
        updated["category"], "",
        "a column missing from the payload is emptied"
    );
    assert_eq!(updated["sys_updated_by"], "admin");
    assert_eq!(updated["sys_mod_count"], "1");
    assert!(fake.handle.record("incident", &ids[1]).is_none());
    let written = table_requests(&fake, "incident");
    let hash_of = |method: &str| {
        let entry = written.iter().find(|r| r.method == method).unwrap();
        entry.record_sha256.clone()
    };
    assert_eq!(
        results,
        [
            RowResult::Applied {
                content_sha256: hash_of("POST")
            },
            RowResult::Applied {
                content_sha256: hash_of("PATCH")
            },
            RowResult::Applied {
                content_sha256: None
            },
            RowResult::Applied {
                content_sha256: None
            },
        ],
        "a delete of a record already gone is applied"
    );
    let expected = target.content_hash(&incident, &batch[0].payload.clone().unwrap());
    assert_eq!(hash_of("POST"), Some(expected));
}

#[tokio::test]
async fn a_row_the_instance_refuses_does_not_stop_the_batch() {
    let fake = fake().await;
    let ids = seed_incidents(&fake, 2);
    fake.handle
        .set_acl(vec![AclRule::records("incident", &[&ids[0]], false, true)]);
    let target = target(&fake, |_| {});
    let incident = schema(&target, "incident").await;
    let update = |id: &str| RowChange {
        plan_row_id: 1,
        sys_id: id.to_owned(),
        kind: ChangeKind::Update,
        payload: Some(json!({"short_description": "x"})),
    };
    let mut not_hex = create(5, json!({}));
    not_hex.sys_id = "INC-5".into();
    let batch = [
        update(&ids[0]),
        update(&ids[1]),
        not_hex,
        create(6, json!({})),
    ];
    let results = target.apply("incident", &incident, &batch).await.unwrap();
    assert!(
        matches!(&results[0], RowResult::Refused { status: 403, message } if message.contains("ACL")),
        "{results:?}"
    );
    assert!(matches!(results[1], RowResult::Applied { .. }));
    assert!(matches!(results[2], RowResult::Refused { status: 400, .. }));
    assert!(matches!(results[3], RowResult::Applied { .. }));
    let sent = table_requests(&fake, "incident");
    assert_eq!(
        sent.iter().filter(|r| r.write).count(),
        3,
        "the bad sys_id is not sent"
    );
}

#[tokio::test]
async fn no_more_than_concurrency_requests_are_in_flight_across_calls() {
    let fake = fake().await;
    let target = target(&fake, |s| s.concurrency = 3);
    let incident = schema(&target, "incident").await;
    fake.handle
        .set_latency(std::time::Duration::from_millis(40));
    let first: Vec<RowChange> = (0..10).map(|n| create(n, json!({"number": n}))).collect();
    let second: Vec<RowChange> = (10..20).map(|n| create(n, json!({"number": n}))).collect();
    let (a, b) = tokio::join!(
        target.apply("incident", &incident, &first),
        target.apply("incident", &incident, &second)
    );
    let all: Vec<RowResult> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert!(all.iter().all(|r| matches!(r, RowResult::Applied { .. })));
    assert_eq!(fake.handle.most_delayed_at_once(), 3);
    assert_eq!(target.promises().concurrency, 3);
    assert!(!target.promises().atomic_with_journal);
}
