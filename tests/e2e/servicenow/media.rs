//! Attachments restored into the instance through its Attachment API:
//! written next to their records once the records exist, not written again
//! when the instance already holds the same content, and a refused upload
//! ends with an outcome of its own while the others go on.

use base64::Engine;
use reqwest::StatusCode;
use rrs_tests::fixtures::Version;
use rrs_tests::servicenow::sys_id;
use rrs_tests::TestContext;
use serde_json::{json, Value};

use super::support::{ago, damaged, execute, job, plan, restored, resume, world};

fn media(at: &str, id: &str, parent: &str, content: &[u8]) -> Value {
    json!({"tenant_id": "acme", "instance_id": "prod", "media_id": id,
        "parent_table": "incident", "parent_sys_id": parent,
        "file_name": format!("{id}.txt"), "content_type": "text/plain", "event_time": at,
        "content_base64": base64::engine::general_purpose::STANDARD.encode(content)})
}

async fn ingest_media(ctx: &TestContext, media: &[Value]) {
    let reply = ctx
        .post("/v1/index/media", &json!({ "media": media }))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

fn outcome<'a>(answer: &'a Value, media_id: &str) -> &'a Value {
    answer["media_outcomes"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["media_id"] == media_id))
        .unwrap_or_else(|| panic!("no outcome for {media_id}: {answer}"))
}

#[tokio::test]
async fn attachments_land_next_to_their_records_once() {
    let (sn, ctx) = world("").await;
    let at = ago(30);
    let ids: Vec<String> = (0..4).map(sys_id).collect();
    // 0 is missing from the instance, 1 damaged, 2 and 3 intact; the ACL
    // refuses writes to 3.
    let versions: Vec<Version<'_>> = (0..4)
        .map(|n| Version::upsert("incident", &ids[n], &at, restored(n)))
        .collect();
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(1)).await;
    sn.seed(
        "incident",
        &[
            (ids[1].clone(), damaged(1)),
            (ids[2].clone(), restored(2)),
            (ids[3].clone(), restored(3)),
        ],
    );
    // The instance already holds m2's content under m2's name.
    sn.user_attach("incident", &ids[2], "m2.txt", b"second")
        .await;
    ingest_media(
        &ctx,
        &[
            media(&at, "m0", &ids[0], b"first"),
            media(&at, "m1", &ids[1], b"one more"),
            media(&at, "m2", &ids[2], b"second"),
            media(&at, "m3", &ids[3], b"refused"),
        ],
    )
    .await;
    sn.fake
        .handle
        .add_acl_rule(rrs_fake_servicenow::AclRule::records(
            "incident",
            &[&ids[3]],
            false,
            true,
        ));

    let plan = plan(&ctx, json!({"include_media": true})).await;
    assert_eq!(
        plan["media_summary"]["count"], 4,
        "{:?}",
        plan["media_summary"]
    );
    let job_id = job(&ctx, &plan).await;
    let done = execute(&ctx, &job_id, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);

    assert_eq!(sn.content("incident", &ids[0]), Some(restored(0)));
    assert_eq!(
        sn.attachments_of(&ids[0]),
        vec![("m0.txt".to_owned(), b"first".to_vec())]
    );
    assert_eq!(
        sn.attachments_of(&ids[1]),
        vec![("m1.txt".to_owned(), b"one more".to_vec())]
    );
    for m in ["m0", "m1"] {
        assert_eq!(outcome(&done.body, m)["outcome"], "applied", "{m}");
    }

    let held = outcome(&done.body, "m2");
    assert_eq!(held["outcome"], "applied", "{held}");
    assert_eq!(
        sn.attachments_of(&ids[2]).len(),
        1,
        "not uploaded a second time"
    );

    let refused = outcome(&done.body, "m3");
    assert_eq!(refused["outcome"], "failed", "{refused}");
    assert_eq!(refused["reason_code"], "failed_target_refused");
    assert!(sn.attachments_of(&ids[3]).is_empty());
    // An attachment left behind: the job does not end `completed`.
    assert_eq!(done.body["state"], "failed");
    assert_eq!(done.body["status_reason_code"], "failed_media_incomplete");

    let uploads = sn
        .service_writes()
        .into_iter()
        .filter(|w| w.table.as_deref() == Some("sys_attachment"))
        .count();
    assert_eq!(
        uploads, 3,
        "m0, m1 and the refused m3; m2 was already there"
    );
}

#[tokio::test]
async fn an_unreachable_instance_pauses_the_media_and_the_resume_finishes_them() {
    let (sn, ctx) = world("retries = 2").await;
    let at = ago(30);
    let id = sys_id(0);
    ctx.ingest(0, &[Version::upsert("incident", &id, &at, restored(0))])
        .await;
    ctx.watermark("incident", &ago(1)).await;
    sn.seed("incident", &[(id.clone(), damaged(0))]);
    ingest_media(&ctx, &[media(&at, "m0", &id, b"payload")]).await;
    let plan = plan(&ctx, json!({"include_media": true})).await;
    let job_id = job(&ctx, &plan).await;

    // The record's write goes through; every write after it answers 503,
    // more often than the connector retries.
    for nth in 2..=10 {
        sn.fake
            .handle
            .add_fault(rrs_fake_servicenow::FaultSpec::status(nth, 503));
    }
    let first = execute(&ctx, &job_id, json!({})).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    assert_eq!(first.body["state"], "paused");
    assert_eq!(
        first.body["status_reason_code"],
        "paused_target_unavailable"
    );
    assert_eq!(sn.content("incident", &id), Some(restored(0)), "rows first");
    assert!(sn.attachments_of(&id).is_empty());

    sn.fake.handle.clear_faults();
    let done = resume(&ctx, &job_id, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(outcome(&done.body, "m0")["outcome"], "applied");
    assert_eq!(
        sn.attachments_of(&id),
        vec![("m0.txt".to_owned(), b"payload".to_vec())]
    );
}
