//! Scans (whole table, narrowed to sys_ids) and reads.

use futures::TryStreamExt;
use rrs::target::{RecordKey, Target};
use rrs_fake_servicenow::{content_sha256, AclRule};

use crate::support::{fake, schema, seed_incidents, sys_id, table_requests, target};

#[tokio::test]
async fn a_scan_walks_every_page_in_sys_id_order() {
    let fake = fake().await;
    let mut ids = seed_incidents(&fake, 250);
    let target = target(&fake, |s| s.page_size = 50);
    let incident = schema(&target, "incident").await;
    fake.handle.clear_requests();
    let keys: Vec<RecordKey> = target
        .scan("incident", &incident, None)
        .try_collect()
        .await
        .unwrap();
    ids.sort();
    let listed: Vec<&str> = keys.iter().map(|k| k.sys_id.as_str()).collect();
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    for key in &keys {
        let stored = fake.handle.record("incident", &key.sys_id).unwrap();
        assert_eq!(
            key.content_sha256,
            content_sha256(&stored),
            "same content hash"
        );
    }
    let pages = table_requests(&fake, "incident");
    assert_eq!(pages.len(), 5, "250 records, 50 a page");
    let query = pages[4].query.clone().unwrap();
    assert!(query.contains("sysparm_offset=200"), "{query}");
    assert!(query.contains("ORDERBYsys_id"), "{query}");
    assert!(
        query.contains("sysparm_exclude_reference_link=true"),
        "{query}"
    );
}

#[tokio::test]
async fn short_and_empty_pages_do_not_end_a_scan() {
    let fake = fake().await;
    let mut ids = seed_incidents(&fake, 250);
    ids.sort();
    // A whole page (the second) and a few more records are hidden by ACLs:
    // the instance applies the limit before them.
    let hidden: Vec<String> = ids[50..100]
        .iter()
        .chain(ids.iter().skip(3).step_by(17))
        .cloned()
        .collect();
    let refs: Vec<&str> = hidden.iter().map(String::as_str).collect();
    fake.handle
        .set_acl(vec![AclRule::records("incident", &refs, true, false)]);
    let target = target(&fake, |s| s.page_size = 50);
    let incident = schema(&target, "incident").await;
    let keys: Vec<RecordKey> = target
        .scan("incident", &incident, None)
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<&String> = ids.iter().filter(|id| !hidden.contains(id)).collect();
    let listed: Vec<&String> = keys.iter().map(|k| &k.sys_id).collect();
    assert_eq!(listed, expected);
    assert!(
        listed.iter().any(|id| **id > ids[100]),
        "read past the empty page"
    );
}

#[tokio::test]
async fn a_narrowed_scan_and_a_read_go_in_sys_id_batches() {
    let fake = fake().await;
    let ids = seed_incidents(&fake, 250);
    let target = target(&fake, |s| s.page_size = 60);
    let incident = schema(&target, "incident").await;
    let mut wanted: Vec<String> = ids[..140].to_vec();
    wanted.extend((1000..1010).map(sys_id));
    wanted.sort();
    fake.handle.clear_requests();
    let keys: Vec<RecordKey> = target
        .scan("incident", &incident, Some(&wanted))
        .try_collect()
        .await
        .unwrap();
    let mut present: Vec<String> = ids[..140].to_vec();
    present.sort();
    let listed: Vec<String> = keys.iter().map(|k| k.sys_id.clone()).collect();
    assert_eq!(listed, present);
    let requests = table_requests(&fake, "incident");
    // 150 ids: a batch of 100 (two pages of 60) and one of 50.
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert!(requests[0].query.as_deref().unwrap().contains("sys_idIN"));

    let records = target.read("incident", &incident, &wanted).await.unwrap();
    assert_eq!(records.len(), 140);
    let first = &records[0];
    assert_eq!(first.sys_id, present[0]);
    assert!(
        first.payload.get("sys_id").is_none(),
        "no sys_* in a payload"
    );
    assert!(first.payload["short_description"]
        .as_str()
        .unwrap()
        .starts_with("printer"));
    let stored = fake.handle.record("incident", &first.sys_id).unwrap();
    assert_eq!(first.content_sha256, content_sha256(&stored));
    assert_eq!(keys[0].content_sha256, first.content_sha256);
    assert!(target
        .read("incident", &incident, &[])
        .await
        .unwrap()
        .is_empty());
}
