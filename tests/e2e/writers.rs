//! Two writers at once: on SQLite, the embedded default, a write waits for
//! the other (up to `database.acquire_timeout_ms`) instead of failing at
//! once with `503 database_unavailable` because its transaction read
//! before it wrote.

use reqwest::StatusCode;
use rrs_tests::fixtures::Version;
use rrs_tests::TestContext;
use serde_json::json;

#[tokio::test]
async fn dry_runs_beside_entitlement_changes_never_answer_503() {
    let ctx = TestContext::start().await;
    // One table with history and one without: a plan of the second writes
    // no row before it reads, the case that could not wait.
    let ids: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
    let versions: Vec<Version<'_>> = ids
        .iter()
        .map(|id| Version::upsert("incident", id, "2026-11-20T09:00:00Z", json!({"n": id})))
        .collect();
    assert_eq!(ctx.ingest(1, &versions).await.status, StatusCode::OK);
    ctx.target_table("incident", &[], true).await;
    let tables = ["incident", "problem"];
    let rounds = 150;
    let planner = async {
        let mut statuses = Vec::new();
        for i in 0..rounds {
            let extra = json!({"plan_id": format!("p{i}")});
            let table = tables[i % 2];
            let reply = ctx.dry_run(&[table], "2026-11-20T10:00:00Z", extra).await;
            statuses.push(reply.status);
        }
        statuses
    };
    let operator = async {
        let mut statuses = Vec::new();
        for i in 0..rounds {
            let reply = ctx
                .send(
                    reqwest::Method::PUT,
                    "/v1/admin/tenants/other/entitlement",
                    Some(&ctx.admin_token),
                    Some(&json!({"restore_enabled": i % 2 == 0, "actor": "ops-7"})),
                )
                .await;
            statuses.push(reply.status);
        }
        statuses
    };
    let (plans, switches) = tokio::join!(planner, operator);
    assert_eq!(plans.len(), rounds);
    assert_eq!(switches.len(), rounds);
    let unavailable = plans
        .iter()
        .chain(&switches)
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert_eq!(unavailable, 0, "503s among {} writes", 2 * rounds);
    assert!(plans.iter().all(|s| *s == StatusCode::CREATED), "{plans:?}");
    assert!(
        switches.iter().all(|s| *s == StatusCode::OK),
        "{switches:?}"
    );
}
