//! Restoring into another instance: a plan reads `acme/prod`'s backup and
//! restores into `acme/sandbox`. The diff is against the sandbox, the job
//! locks and writes the sandbox, prod is left alone, the evidence names
//! both, and a token must see both tenants.

use reqwest::{Method, StatusCode};
use rrs_tests::fixtures::Version;
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn sandbox() -> Value {
    json!({"tenant_id": "acme", "instance_id": "sandbox"})
}

/// A writable table `table` of `tenant/instance` with one string column.
async fn table_of(ctx: &TestContext, tenant: &str, instance: &str, table: &str) {
    let path = format!("/v1/targets/{tenant}/{instance}/tables/{table}");
    let body = json!({"columns": [{"name": "short_description", "type": "string"}],
        "write_allowed": true});
    let reply = ctx
        .send(Method::PUT, &path, Some(&ctx.admin_token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn row_of(ctx: &TestContext, instance: &str, table: &str, sys_id: &str, text: &str) {
    let path = format!("/v1/targets/acme/{instance}/tables/{table}/records/{sys_id}");
    let body = json!({"payload": {"short_description": text}});
    let reply = ctx
        .send(Method::PUT, &path, Some(&ctx.admin_token), Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn payload_of(ctx: &TestContext, instance: &str, table: &str, sys_id: &str) -> Option<Value> {
    let reply = ctx
        .get(&format!(
            "/v1/targets/acme/{instance}/tables/{table}/records/{sys_id}"
        ))
        .await;
    (reply.status == StatusCode::OK).then(|| reply.body["payload"].clone())
}

/// prod's backup of `table`: `a`, `b` and `c` as "A", "B" and "C" ten
/// minutes ago, a fresh watermark; both instances have the table.
async fn backup(ctx: &TestContext, table: &str) {
    let at = ago(10);
    let versions: Vec<Version<'_>> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            Version::upsert(
                table,
                id,
                &at,
                json!({"short_description": id.to_uppercase()}),
            )
        })
        .collect();
    ctx.ingest(0, &versions).await;
    ctx.watermark(table, &ago(1)).await;
    table_of(ctx, "acme", "prod", table).await;
    table_of(ctx, "acme", "sandbox", table).await;
}

async fn dry_run_into(ctx: &TestContext, table: &str, target: Value, extra: Value) -> Reply {
    let mut body = json!({"target": target});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    ctx.dry_run(&[table], &ago(5), body).await
}

async fn create_job(ctx: &TestContext, plan: &Value) -> Value {
    let reply = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan["plan_id"], "plan_hash": plan["plan_hash"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

/// A plan into the sandbox whose one delete candidate is allowed.
async fn executable_into_sandbox(ctx: &TestContext, table: &str) -> Value {
    let first = dry_run_into(ctx, table, sandbox(), json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let decisions: Vec<Value> = first.body["delete_candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"candidate_id": c["candidate_id"], "decision": "allow_deletion"}))
        .collect();
    let plan = dry_run_into(
        ctx,
        table,
        sandbox(),
        json!({"delete_decisions": decisions}),
    )
    .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(
        plan.body["gate"]["executability"], "executable",
        "{:?}",
        plan.body["gate"]
    );
    plan.body
}

#[tokio::test]
async fn a_restore_into_the_sandbox_leaves_prod_alone_and_makes_the_sandbox_match() {
    let ctx = TestContext::start().await;
    backup(&ctx, "incident").await;
    // prod drifted on `a`; the sandbox has an old `b`, the same `c` and a
    // record `x` the backup never had.
    row_of(&ctx, "prod", "incident", "a", "A changed in prod").await;
    row_of(&ctx, "sandbox", "incident", "b", "old B").await;
    row_of(&ctx, "sandbox", "incident", "c", "C").await;
    row_of(&ctx, "sandbox", "incident", "x", "only in the sandbox").await;

    let first = dry_run_into(&ctx, "incident", sandbox(), json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let plan = &first.body;
    assert_eq!(
        plan["source"],
        json!({"tenant_id": "acme", "instance_id": "prod"})
    );
    assert_eq!(plan["target"], sandbox());
    assert_eq!(
        (plan["tenant_id"].as_str(), plan["instance_id"].as_str()),
        (Some("acme"), Some("prod"))
    );
    assert_eq!(plan["inputs"]["target"], sandbox());
    // The diff is against the sandbox, not prod.
    assert_eq!(plan["summary"]["creates"], 1, "{:?}", plan["summary"]);
    assert_eq!(plan["summary"]["updates"], 1);
    assert_eq!(plan["summary"]["unchanged"], 1);
    assert_eq!(plan["summary"]["undecided_deletes"], 1);
    assert_eq!(plan["delete_candidates"][0]["sys_id"], "x");
    assert_eq!(
        plan["gate"]["reason_code"],
        "blocked_unresolved_delete_candidates"
    );
    // The same restore into prod is another plan with another diff.
    let into_prod = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(
        into_prod.status,
        StatusCode::CREATED,
        "{:?}",
        into_prod.body
    );
    assert_ne!(into_prod.body["plan_hash"], plan["plan_hash"]);
    assert_eq!(into_prod.body["target"], into_prod.body["source"]);
    assert_eq!(into_prod.body["summary"]["creates"], 2);
    assert_eq!(into_prod.body["summary"]["updates"], 1);
    assert!(into_prod.body["inputs"]["target"].is_null());
    // Naming the source as the target is the same restore as naming none.
    let explicit = ctx
        .dry_run(
            &["incident"],
            into_prod.body["pit"].as_str().unwrap(),
            json!({"target": {"tenant_id": "acme", "instance_id": "prod"}}),
        )
        .await;
    assert_eq!(explicit.body["plan_hash"], into_prod.body["plan_hash"]);

    let plan = executable_into_sandbox(&ctx, "incident").await;
    assert_eq!(plan["summary"]["deletes"], 1);
    let job = create_job(&ctx, &plan).await;
    assert_eq!(job["status"], "running", "{job:?}");
    assert_eq!(
        (job["tenant_id"].as_str(), job["instance_id"].as_str()),
        (Some("acme"), Some("sandbox"))
    );
    let job_id = job["job_id"].as_str().unwrap();
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed");

    for (id, text) in [("a", "A"), ("b", "B"), ("c", "C")] {
        assert_eq!(
            payload_of(&ctx, "sandbox", "incident", id).await,
            Some(json!({"short_description": text})),
            "sandbox {id}"
        );
    }
    assert_eq!(payload_of(&ctx, "sandbox", "incident", "x").await, None);
    assert_eq!(
        payload_of(&ctx, "prod", "incident", "a").await,
        Some(json!({"short_description": "A changed in prod"}))
    );
    assert_eq!(payload_of(&ctx, "prod", "incident", "b").await, None);
    assert_eq!(payload_of(&ctx, "prod", "incident", "c").await, None);

    // The journal holds the sandbox's before-images.
    let journal = ctx
        .get(&format!("/v1/jobs/{job_id}/rollback-journal"))
        .await;
    assert_eq!(journal.status, StatusCode::OK, "{:?}", journal.body);
    let images: Vec<Value> = journal.body["rollback_journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["before_image"].clone())
        .filter(|b| !b.is_null())
        .collect();
    assert!(
        images.contains(&json!({"short_description": "old B"})),
        "{images:?}"
    );
    assert!(images.contains(&json!({"short_description": "only in the sandbox"})));

    let exported = ctx
        .post(&format!("/v1/jobs/{job_id}/evidence/export"), &json!({}))
        .await;
    assert_eq!(exported.status, StatusCode::CREATED, "{:?}", exported.body);
    let evidence = &exported.body["evidence"];
    assert_eq!(
        evidence["source"],
        json!({"tenant_id": "acme", "instance_id": "prod"})
    );
    assert_eq!(evidence["target"], sandbox());
    assert_eq!(
        exported.body["verification"]["signature_verification"], "verified",
        "{:?}",
        exported.body["verification"]
    );
}

#[tokio::test]
async fn the_job_locks_the_targets_tables_not_the_sources() {
    let ctx = TestContext::start().await;
    backup(&ctx, "incident").await;
    row_of(&ctx, "sandbox", "incident", "x", "only in the sandbox").await;
    let into_sandbox = executable_into_sandbox(&ctx, "incident").await;
    let sandbox_job = create_job(&ctx, &into_sandbox).await;
    assert_eq!(sandbox_job["status"], "running");

    // prod's same table is another lock: its job does not queue.
    let into_prod = ctx.dry_run(&["incident"], &ago(5), json!({})).await;
    assert_eq!(
        into_prod.status,
        StatusCode::CREATED,
        "{:?}",
        into_prod.body
    );
    assert_eq!(into_prod.body["gate"]["executability"], "executable");
    let prod_job = create_job(&ctx, &into_prod.body).await;
    assert_eq!(prod_job["status"], "running", "{prod_job:?}");
    assert_eq!(prod_job["instance_id"], "prod");

    // A second restore into the sandbox queues behind the first.
    let again = create_job(&ctx, &into_sandbox).await;
    assert_eq!(again["status"], "queued", "{again:?}");
    assert_eq!(again["blocking_job_ids"], json!([sandbox_job["job_id"]]));
}

#[tokio::test]
async fn a_token_must_see_both_the_source_and_the_target_tenant() {
    let ctx = TestContext::start().await;
    backup(&ctx, "incident").await;
    table_of(&ctx, "globex", "sandbox", "incident").await;
    let caps = ["restore_plan", "restore_read", "restore_execute"];
    let acme = ctx.token("acme-op", &caps, &["acme"]).await;
    let globex = ctx.token("globex-op", &caps, &["globex"]).await;
    let both = ctx.token("both-op", &caps, &["acme", "globex"]).await;
    let pit = ago(5);
    let request = |source: &str, target: &str| {
        json!({"tenant_id": source, "instance_id": "prod", "pit": pit,
            "scope": {"tables": [{"table": "incident"}]},
            "target": {"tenant_id": target, "instance_id": "sandbox"}})
    };
    let post = |token: &str, body: Value| {
        let token = token.to_owned();
        let ctx = &ctx;
        async move {
            ctx.send(Method::POST, "/v1/plans/dry-run", Some(&token), Some(&body))
                .await
        }
    };
    // Another tenant's instance as the target, or as the source.
    let reply = post(&acme, request("acme", "globex")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    let reply = post(&globex, request("acme", "globex")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert_eq!(reply.reason(), "blocked_tenant_scope");
    // Inside the scope: planned.
    let plan = post(&both, request("acme", "globex")).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(
        plan.body["target"],
        json!({"tenant_id": "globex", "instance_id": "sandbox"})
    );
    let plan_id = plan.body["plan_id"].as_str().unwrap();
    // Either tenant alone does not see the plan, nor make a job of it.
    for token in [&acme, &globex] {
        let read = ctx
            .send(
                Method::GET,
                &format!("/v1/plans/{plan_id}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(read.status, StatusCode::NOT_FOUND, "{:?}", read.body);
        assert_eq!(read.reason(), "plan_not_found");
        let rows = ctx
            .send(
                Method::GET,
                &format!("/v1/plans/{plan_id}/rows"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(rows.status, StatusCode::NOT_FOUND, "{:?}", rows.body);
        let job = ctx
            .send(
                Method::POST,
                "/v1/jobs",
                Some(token),
                Some(&json!({"plan_id": plan_id, "plan_hash": plan.body["plan_hash"]})),
            )
            .await;
        assert_eq!(job.status, StatusCode::NOT_FOUND, "{:?}", job.body);
        assert_eq!(job.reason(), "plan_not_found");
    }
    let read = ctx
        .send(
            Method::GET,
            &format!("/v1/plans/{plan_id}"),
            Some(&both),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
}

/// prod's backup restored into a ServiceNow sandbox: the diff and the
/// writes go to the remote instance, whatever prod is.
#[tokio::test]
async fn a_restore_into_a_servicenow_sandbox_writes_the_remote_instance() {
    use rrs_tests::servicenow::{incident, sys_id, SnInstance};
    let sn = SnInstance::start(vec![incident(&["short_description", "state"])]).await;
    let toml = sn
        .target_toml("")
        .replace("instance_id = \"prod\"", "instance_id = \"sandbox\"");
    assert!(toml.contains("instance_id = \"sandbox\""), "{toml}");
    let ctx = TestContext::start_with(&toml).await;
    let ids: Vec<String> = (0..3).map(sys_id).collect();
    let at = ago(30);
    let versions: Vec<Version<'_>> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            Version::upsert(
                "incident",
                id,
                &at,
                json!({"short_description": format!("printer {n} jammed"), "state": "2"}),
            )
        })
        .collect();
    ctx.ingest(0, &versions).await;
    ctx.watermark("incident", &ago(1)).await;
    // The sandbox holds a damaged first record; prod has no such table.
    sn.seed(
        "incident",
        &[(
            ids[0].clone(),
            json!({"short_description": "bulk-edited", "state": "7"}),
        )],
    );
    let plan = dry_run_into(&ctx, "incident", sandbox(), json!({})).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(
        plan.body["gate"]["executability"], "executable",
        "{:?}",
        plan.body["gate"]
    );
    assert_eq!(
        plan.body["summary"]["updates"], 1,
        "{:?}",
        plan.body["summary"]
    );
    assert_eq!(plan.body["summary"]["creates"], 2);
    assert_eq!(plan.body["tables"][0]["write_allowed"], true);
    let job = create_job(&ctx, &plan.body).await;
    let job_id = job["job_id"].as_str().unwrap();
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "completed", "{:?}", done.body);
    for (n, id) in ids.iter().enumerate() {
        let content = sn.content("incident", id).unwrap();
        assert_eq!(content["short_description"], format!("printer {n} jammed"));
        assert_eq!(content["state"], "2");
    }
    assert_eq!(payload_of(&ctx, "prod", "incident", &ids[0]).await, None);
}

/// Attachments come from the source's backup and land beside their
/// parents in the target.
#[tokio::test]
async fn attachments_are_restored_into_the_target() {
    let ctx = TestContext::start().await;
    let at = ago(30);
    ctx.ingest(
        0,
        &[Version::upsert(
            "incident",
            "a1",
            &at,
            json!({"short_description": "A1"}),
        )],
    )
    .await;
    ctx.watermark("incident", &ago(1)).await;
    table_of(&ctx, "acme", "prod", "incident").await;
    table_of(&ctx, "acme", "sandbox", "incident").await;
    let media = json!({"media": [{"tenant_id": "acme", "instance_id": "prod", "media_id": "m1",
        "parent_table": "incident", "parent_sys_id": "a1", "file_name": "m1.txt",
        "content_type": "text/plain", "event_time": at, "content_base64": "aGVsbG8="}]});
    assert_eq!(
        ctx.post("/v1/index/media", &media).await.status,
        StatusCode::OK
    );
    let plan = dry_run_into(&ctx, "incident", sandbox(), json!({"include_media": true})).await;
    assert_eq!(plan.status, StatusCode::CREATED, "{:?}", plan.body);
    assert_eq!(
        plan.body["media_summary"],
        json!({"count": 1, "total_bytes": 5})
    );
    assert_eq!(plan.body["media_candidates"][0]["parent_sys_id"], "a1");
    let job = create_job(&ctx, &plan.body).await;
    let job_id = job["job_id"].as_str().unwrap();
    let done = ctx
        .post(&format!("/v1/jobs/{job_id}/execution"), &json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(
        done.body["media_outcomes"][0]["outcome"], "applied",
        "{:?}",
        done.body
    );
    let restored = ctx
        .get("/v1/targets/acme/sandbox/tables/incident/media/m1")
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{:?}", restored.body);
    assert_eq!(restored.body["size_bytes"], 5);
    let prod = ctx
        .get("/v1/targets/acme/prod/tables/incident/media/m1")
        .await;
    assert_eq!(prod.status, StatusCode::NOT_FOUND, "{:?}", prod.body);
    assert_eq!(payload_of(&ctx, "prod", "incident", "a1").await, None);
}
