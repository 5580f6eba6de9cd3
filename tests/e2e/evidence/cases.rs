//! Export, read, versions, refusals and tampering.

use reqwest::{Method, StatusCode};
use rrs_tests::TestContext;
use serde_json::json;

use super::support::*;

const ARTIFACT: &str = "failed_evidence_artifact_hash_mismatch";
const REPORT: &str = "failed_evidence_report_hash_mismatch";
const SIGNATURE: &str = "failed_evidence_signature_verification";

fn is_hex64(value: &serde_json::Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[tokio::test]
async fn an_exported_package_has_the_contract_fields_and_verifies() {
    let ctx = TestContext::start().await;
    let job = terminal_job(&ctx).await;
    let job_id = id(&job);
    let first = export(&ctx, &job_id).await;
    let second = export(&ctx, &job_id).await;
    let (v1, v2) = (
        first["evidence"]["package_version"].as_i64().unwrap(),
        second["evidence"]["package_version"].as_i64().unwrap(),
    );
    assert_eq!(v2, v1 + 1, "a new export is a new version");
    let evidence = &second["evidence"];
    assert_eq!(evidence["job_id"], job_id.as_str());
    assert_eq!(evidence["plan_id"], job["plan_id"]);
    assert_eq!(evidence["plan_hash"], job["plan_hash"]);
    assert_eq!(evidence["pit_algorithm_version"], "pit-v1");
    assert_eq!(evidence["origin"], "export");
    assert_eq!(evidence["generated_by"], "bootstrap");
    assert!(is_hex64(&evidence["report_hash"]));
    assert_eq!(
        evidence["resume_metadata"],
        json!({"resume_count": 0, "resumes": []})
    );
    assert_eq!(evidence["immutable_storage"]["retention_class"], "standard");
    assert_eq!(evidence["immutable_storage"]["worm_enabled"], true);
    assert!(evidence["immutable_storage"]["retain_until"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    for artifact in ["plan", "execution", "rollback_journal", "job_events"] {
        assert!(is_hex64(&second["artifact_hashes"][artifact]), "{artifact}");
    }
    assert!(is_hex64(&second["manifest_sha256"]));
    let signature = &second["manifest_signature"];
    assert_eq!(signature["algorithm"], "ed25519");
    // 64 bytes in standard padded base64.
    let encoded = signature["signature"].as_str().unwrap();
    assert_eq!(encoded.len(), 88);
    assert!(encoded.ends_with("==") && !encoded.contains(['-', '_']));
    assert_eq!(second["verification"]["signature_verification"], "verified");
    assert_eq!(
        second["verification"]["reason_code"],
        serde_json::Value::Null
    );
    assert_eq!(second["report"]["job"]["status"], "cancelled");
    let gate = evidence["policy_decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "gate");
    let gate = gate.unwrap_or_else(|| panic!("no gate decision in {evidence}"));
    assert!(is_hex64(&gate["policy_digest"]), "{gate}");
    assert_eq!(gate["subject_id"], job["plan_id"]);

    let latest = read(&ctx, &job_id, None).await;
    assert_eq!(latest.status, StatusCode::OK);
    assert_eq!(latest.body["evidence"]["package_version"], v2);
    assert_eq!(latest.body["manifest_sha256"], second["manifest_sha256"]);
    assert_eq!(
        latest.body["verification"]["signature_verification"],
        "verified"
    );
    let older = read(&ctx, &job_id, Some(v1)).await;
    assert_eq!(
        older.body["manifest_sha256"], first["manifest_sha256"],
        "older versions are kept as they were"
    );
    assert_eq!(
        older.body["verification"]["signature_verification"],
        "verified"
    );

    let events = ctx.get(&format!("/v1/jobs/{job_id}/events")).await.body["events"].clone();
    let exported = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "evidence_exported")
        .count();
    assert!(exported >= 2, "{events}");
    let key = public_key(&ctx, signature["signer_key_id"].as_str().unwrap()).await;
    assert_eq!(
        offline_verdict(&package_file(&ctx, &job_id, None).await, &key),
        None
    );
    assert_eq!(
        offline_verdict(&package_file(&ctx, &job_id, Some(v1)).await, &key),
        None
    );
    assert_eq!(
        count(&ctx, "SELECT COUNT(*) FROM evidence_verification_failures").await,
        0
    );
}

#[tokio::test]
async fn refusals_before_terminal_for_unknown_jobs_other_tenants_and_capabilities() {
    let ctx = TestContext::start().await;
    let running = id(&running_job(&ctx).await);
    for reply in [
        read(&ctx, &running, None).await,
        ctx.post(&format!("/v1/jobs/{running}/evidence/export"), &json!({}))
            .await,
    ] {
        assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.body);
        assert_eq!(reply.reason(), "evidence_job_not_terminal");
    }
    let unknown = read(&ctx, "job_does_not_exist", None).await;
    assert_eq!(
        (unknown.status, unknown.reason()),
        (StatusCode::NOT_FOUND, "job_not_found")
    );
    let unknown = ctx
        .post("/v1/jobs/job_does_not_exist/evidence/export", &json!({}))
        .await;
    assert_eq!(
        (unknown.status, unknown.reason()),
        (StatusCode::NOT_FOUND, "job_not_found")
    );

    let done = id(&terminal_job(&ctx).await);
    let missing = read(&ctx, &done, Some(99)).await;
    assert_eq!(
        (missing.status, missing.reason()),
        (StatusCode::NOT_FOUND, "evidence_not_found")
    );
    export(&ctx, &done).await;

    let other = ctx
        .token(
            "globex-op",
            &["restore_read", "evidence_export"],
            &["globex"],
        )
        .await;
    for (method, path) in [
        (Method::GET, format!("/v1/jobs/{done}/evidence")),
        (Method::POST, format!("/v1/jobs/{done}/evidence/export")),
        (Method::GET, format!("/v1/jobs/{done}/evidence/package")),
    ] {
        let reply = send_as(&ctx, method, &path, Some(&other)).await;
        assert_eq!(
            (reply.status, reply.reason()),
            (StatusCode::NOT_FOUND, "job_not_found"),
            "{path}"
        );
    }
    let reader = ctx.token("reader", &["restore_read"], &["*"]).await;
    let reply = send_as(
        &ctx,
        Method::POST,
        &format!("/v1/jobs/{done}/evidence/export"),
        Some(&reader),
    )
    .await;
    assert_eq!(
        (reply.status, reply.reason()),
        (StatusCode::FORBIDDEN, "blocked_missing_capability")
    );
    assert_eq!(
        reply.body["details"]["missing_capabilities"],
        json!(["evidence_export"])
    );
    assert_eq!(
        send_as(
            &ctx,
            Method::GET,
            &format!("/v1/jobs/{done}/evidence"),
            Some(&reader)
        )
        .await
        .status,
        StatusCode::OK
    );
    let exporter = ctx.token("auditor", &["evidence_export"], &["*"]).await;
    let reply = send_as(
        &ctx,
        Method::GET,
        &format!("/v1/jobs/{done}/evidence"),
        Some(&exporter),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.reason(),
        "blocked_missing_capability",
        "{:?}",
        reply.body
    );
    assert_eq!(
        send_as(&ctx, Method::GET, "/v1/evidence/keys", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let bad = ctx
        .get(&format!("/v1/jobs/{done}/evidence?package_version=0"))
        .await;
    assert_eq!(
        (bad.status, bad.reason()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let bad = ctx.get("/v1/evidence/keys?cursor=%21%21").await;
    assert_eq!(
        (bad.status, bad.reason()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_evidence() {
    let ctx = TestContext::start().await;
    let job_id = id(&terminal_job(&ctx).await);
    export(&ctx, &job_id).await;
    for sql in [
        "UPDATE evidence_packages SET report_hash = 'x'",
        "DELETE FROM evidence_packages",
        "UPDATE evidence_signer_keys SET public_key_pem = 'x'",
        "DELETE FROM evidence_signer_keys",
    ] {
        let error = plain_sql(&ctx, sql).await.unwrap_err();
        assert!(error.contains("insert-only"), "{sql}: {error}");
    }
    if ctx.database.is_postgres() {
        let error = plain_sql(&ctx, "TRUNCATE evidence_packages")
            .await
            .unwrap_err();
        assert!(error.contains("insert-only"), "{error}");
    }
    assert_eq!(service_verdict(&ctx, &job_id, None).await, None);
}

#[tokio::test]
async fn tampering_with_a_stored_plan_row_or_event_is_an_artifact_mismatch() {
    let ctx = TestContext::start().await;
    let job = terminal_job(&ctx).await;
    let job_id = id(&job);
    let package = export(&ctx, &job_id).await;
    let key = signer_key(&ctx, &package).await;
    assert_eq!(verdicts(&ctx, &package, &key).await, (None, None));

    let plan_id = job["plan_id"].as_str().unwrap();
    tamper(&ctx, "plan_rows", &format!("UPDATE plan_rows SET after_sha256 = '{}' WHERE plan_id = '{plan_id}' AND plan_row_id = (SELECT MIN(plan_row_id) FROM plan_rows WHERE plan_id = '{plan_id}')", "0".repeat(64))).await;
    let expected = Some(ARTIFACT.to_owned());
    assert_eq!(
        verdicts(&ctx, &package, &key).await,
        (expected.clone(), expected.clone())
    );
    let reply = read(&ctx, &job_id, None).await;
    let failed: Vec<&str> = reply.body["verification"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["artifact_hash:plan"]);

    let other = id(&terminal_job(&ctx).await);
    let other_package = export(&ctx, &other).await;
    assert_eq!(verdicts(&ctx, &other_package, &key).await, (None, None));
    tamper(&ctx, "job_events", &format!("UPDATE job_events SET actor = 'mallory' WHERE seq = 1 AND job_seq = (SELECT job_seq FROM jobs WHERE job_id = '{other}')")).await;
    assert_eq!(
        verdicts(&ctx, &other_package, &key).await,
        (expected.clone(), expected)
    );

    // Each failed read was counted where the SLO looks.
    let failures = count(&ctx, "SELECT COUNT(*) FROM evidence_verification_failures").await;
    assert!(failures >= 3, "{failures}");
    let metrics = ctx.get("/metrics").await;
    let text = ctx
        .client
        .get(ctx.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.status.is_success());
    assert!(
        text.contains("rrs_evidence_verification_failed_total"),
        "{text}"
    );
}

#[tokio::test]
async fn tampering_with_the_stored_report_or_signature_is_caught() {
    let ctx = TestContext::start().await;
    let job_id = id(&terminal_job(&ctx).await);
    let package = export(&ctx, &job_id).await;
    let key_id = package["manifest_signature"]["signer_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = public_key(&ctx, &key_id).await;
    let version = package["evidence"]["package_version"].as_i64().unwrap();
    let where_ = format!("WHERE job_id = '{job_id}' AND package_version = {version}");
    tamper(&ctx, "evidence_packages", &format!("UPDATE evidence_packages SET report_json = REPLACE(report_json, '\"cancelled\"', '\"completed\"') {where_}")).await;
    let expected = Some(REPORT.to_owned());
    assert_eq!(
        verdicts(&ctx, &package, &key).await,
        (expected.clone(), expected)
    );

    let job_id = id(&terminal_job(&ctx).await);
    let package = export(&ctx, &job_id).await;
    let version = package["evidence"]["package_version"].as_i64().unwrap();
    let forged = format!("{}==", "A".repeat(86));
    tamper(&ctx, "evidence_packages", &format!("UPDATE evidence_packages SET signature = '{forged}' WHERE job_id = '{job_id}' AND package_version = {version}")).await;
    let expected = Some(SIGNATURE.to_owned());
    assert_eq!(
        verdicts(&ctx, &package, &key).await,
        (expected.clone(), expected)
    );
}

/// Every attempt to store the package collides with a version "taken
/// elsewhere" (a trigger inserts a duplicate into a unique side table, so
/// the database reports a unique violation on both backends): the export
/// gives up with `409 evidence_export_contended` instead of looping.
#[tokio::test]
async fn an_export_that_always_collides_is_contended() {
    let ctx = rrs_tests::TestContext::start().await;
    let job = terminal_job(&ctx).await;
    let job_id = id(&job);
    let statements: Vec<String> = if ctx.database.is_postgres() {
        vec![
            "CREATE TABLE evp_taken (x INTEGER UNIQUE)".into(),
            "INSERT INTO evp_taken VALUES (1)".into(),
            "CREATE FUNCTION evp_collide() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN INSERT INTO evp_taken VALUES (1); RETURN NEW; END $$"
                .into(),
            "CREATE TRIGGER evp_collide BEFORE INSERT ON evidence_packages \
             FOR EACH ROW EXECUTE FUNCTION evp_collide()"
                .into(),
        ]
    } else {
        vec![
            "CREATE TABLE evp_taken (x INTEGER UNIQUE)".into(),
            "INSERT INTO evp_taken VALUES (1)".into(),
            "CREATE TRIGGER evp_collide BEFORE INSERT ON evidence_packages \
             BEGIN INSERT INTO evp_taken VALUES (1); END"
                .into(),
        ]
    };
    for sql in &statements {
        rrs_tests::faults::execute(&ctx.database, sql).await;
    }
    let reply = ctx
        .post(
            &format!("/v1/jobs/{job_id}/evidence/export"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.reason()),
        (reqwest::StatusCode::CONFLICT, "evidence_export_contended"),
        "{:?}",
        reply.body
    );
}
