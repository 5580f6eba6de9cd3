//! Signing keys: configured keys, rotation with old packages still
//! verifying, the development key, and start-up refusing a bad key set-up.

use reqwest::StatusCode;
use rrs::domain::evidence::keys::generate_key_pair;
use rrs_tests::TestContext;
use serde_json::Value;

use super::support::*;

const SIGNATURE: &str = "failed_evidence_signature_verification";

fn key_config(key_id: &str, private: &str, public: Option<&str>) -> String {
    let public = public.map_or(String::new(), |p| {
        format!("signing_public_key_pem = '''\n{p}'''\n")
    });
    format!("[evidence]\nsigner_key_id = {key_id:?}\nsigning_private_key_pem = '''\n{private}'''\n{public}")
}

async fn keys(ctx: &TestContext) -> Vec<Value> {
    let reply = ctx.get("/v1/evidence/keys").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn after_a_rotation_old_packages_verify_and_new_ones_carry_the_new_key() {
    let (old_private, old_public) = generate_key_pair().unwrap();
    let mut ctx =
        TestContext::start_with(&key_config("k-2025", &old_private, Some(&old_public))).await;
    let before = id(&terminal_job(&ctx).await);
    let old_package = export(&ctx, &before).await;
    assert_eq!(old_package["manifest_signature"]["signer_key_id"], "k-2025");
    let old_version = old_package["evidence"]["package_version"].as_i64().unwrap();

    let (new_private, new_public) = generate_key_pair().unwrap();
    ctx.set_extra_config(&key_config("k-2026", &new_private, None));
    ctx.restart().await;
    let after = id(&terminal_job(&ctx).await);
    let new_package = export(&ctx, &after).await;
    assert_eq!(new_package["manifest_signature"]["signer_key_id"], "k-2026");
    assert_eq!(
        new_package["verification"]["signature_verification"],
        "verified"
    );
    let again = export(&ctx, &before).await;
    assert_eq!(again["manifest_signature"]["signer_key_id"], "k-2026");

    // The old package still verifies, in the service and offline with the
    // keyring's old key; offline with the new key it does not.
    let old = read(&ctx, &before, Some(old_version)).await;
    assert_eq!(old.body["manifest_signature"]["signer_key_id"], "k-2025");
    assert_eq!(
        old.body["verification"]["signature_verification"], "verified",
        "{}",
        old.body
    );
    let keyring_old = public_key(&ctx, "k-2025").await;
    assert_eq!(keyring_old.trim(), old_public.trim());
    let old_file = package_file(&ctx, &before, Some(old_version)).await;
    assert_eq!(offline_verdict(&old_file, &old_public), None);
    assert_eq!(
        offline_verdict(&old_file, &new_public).as_deref(),
        Some(SIGNATURE)
    );
    let new_file = package_file(&ctx, &after, None).await;
    assert_eq!(offline_verdict(&new_file, &new_public), None);
    assert_eq!(
        offline_verdict(&new_file, &old_public).as_deref(),
        Some(SIGNATURE)
    );

    let listed = keys(&ctx).await;
    let summary: Vec<(&str, bool, &str)> = listed
        .iter()
        .map(|k| {
            (
                k["signer_key_id"].as_str().unwrap(),
                k["current"].as_bool().unwrap(),
                k["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("k-2025", false, "configured"),
            ("k-2026", true, "configured")
        ]
    );

    // A key rotated away from the keyring (here: replaced behind the
    // service's back) no longer verifies the old package.
    tamper(&ctx, "evidence_signer_keys", &format!(
        "UPDATE evidence_signer_keys SET public_key_pem = '{}', public_key_sha256 = public_key_sha256 WHERE signer_key_id = 'k-2025'",
        new_public.trim()
    ))
    .await;
    let old = read(&ctx, &before, Some(old_version)).await;
    assert_eq!(old.body["verification"]["reason_code"], SIGNATURE);
}

#[tokio::test]
async fn start_up_refuses_a_mismatched_pair_and_a_reused_key_id() {
    let (private, public) = generate_key_pair().unwrap();
    let ctx = TestContext::start_with(&key_config("k1", &private, Some(&public))).await;
    let (_, other_public) = generate_key_pair().unwrap();
    let mut config = ctx.config();
    config.evidence.signing_public_key_pem = Some(other_public);
    let error = rrs::prepare(config).await.err().unwrap();
    assert!(format!("{error:#}").contains("does not match"), "{error:#}");

    let (other_private, _) = generate_key_pair().unwrap();
    let mut config = ctx.config();
    config.evidence.signing_private_key_pem = Some(other_private);
    config.evidence.signing_public_key_pem = None;
    let error = rrs::prepare(config).await.err().unwrap();
    assert!(
        format!("{error:#}").contains("already registered"),
        "{error:#}"
    );
}

#[tokio::test]
async fn without_a_configured_key_a_development_key_is_made_once_and_kept() {
    let mut ctx = TestContext::start().await;
    let listed = keys(&ctx).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["source"], "development");
    assert_eq!(listed[0]["current"], true);
    let key_id = listed[0]["signer_key_id"].as_str().unwrap().to_owned();
    assert!(ctx.data_path("evidence-dev-signing-key.pem").exists());
    let job_id = id(&terminal_job(&ctx).await);
    let package = export(&ctx, &job_id).await;
    assert_eq!(
        package["manifest_signature"]["signer_key_id"],
        key_id.as_str()
    );
    ctx.restart().await;
    let listed = keys(&ctx).await;
    assert_eq!(listed.len(), 1, "the same key after a restart");
    assert_eq!(service_verdict(&ctx, &job_id, None).await, None);
}
