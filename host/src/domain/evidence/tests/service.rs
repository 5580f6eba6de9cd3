//! The service functions on a real SQLite store: keyring registration and
//! rotation, versioned insert-only packages, the database refusing
//! changes, and failures counted where the SLO reads them.

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database, Statement};

use super::super::keys::{generate_key_pair, public_key_pem};
use super::super::manifest::Origin;
use super::super::service::{create, create_owed, load, verify_row, view};
use super::super::verify::Verification;
use super::super::{Evidence, REPORT_HASH_MISMATCH, SIGNATURE_FAILED};
use super::fixtures::*;
use crate::config::{DatabaseConfig, EvidenceConfig};
use crate::domain::{DomainError, ReasonCode};
use crate::store::evidence::EvidencePackageRow;
use crate::store::Store;

fn url(dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("t.db").display())
}

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&url(dir.path()), &DatabaseConfig::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

fn configured(key_id: &str, private: &str) -> EvidenceConfig {
    EvidenceConfig {
        signer_key_id: Some(key_id.into()),
        signing_private_key_pem: Some(private.into()),
        ..EvidenceConfig::default()
    }
}

/// Runs `sql` on a connection of its own, as someone with the database
/// owner's rights would.
async fn exec(dir: &std::path::Path, sql: &str) -> Result<(), sea_orm::DbErr> {
    let db = Database::connect(url(dir)).await?;
    db.execute(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .map(|_| ())
}

async fn loaded(store: &Store, dir: &std::path::Path, key_id: &str) -> Evidence {
    let (private, _) = generate_key_pair().unwrap();
    load(store, &configured(key_id, &private), dir, Utc::now())
        .await
        .unwrap()
}

/// A package of the sources' job, made now by `by`.
async fn made(
    store: &Store,
    sources: &MemorySources,
    evidence: &Evidence,
    origin: Origin,
    by: &str,
) -> Result<EvidencePackageRow, DomainError> {
    create(
        store,
        sources,
        evidence,
        &sources.job,
        origin,
        by,
        Utc::now(),
    )
    .await
}

/// Changes the stored package with `sql` and verifies it afresh.
async fn verified_after(
    store: &Store,
    sources: &MemorySources,
    dir: &std::path::Path,
    sql: &str,
) -> Verification {
    exec(dir, sql).await.unwrap();
    let stored = store.evidence_package("job-1", None).await.unwrap();
    verify_row(store, sources, &stored.unwrap(), Utc::now())
        .await
        .unwrap()
}

#[tokio::test]
async fn keyring_keeps_every_key_and_refuses_a_reused_id() {
    let (store, dir) = store().await;
    let (private, _) = generate_key_pair().unwrap();
    let first = load(
        &store,
        &configured("k-2025", &private),
        dir.path(),
        Utc::now(),
    )
    .await
    .unwrap();
    load(
        &store,
        &configured("k-2025", &private),
        dir.path(),
        Utc::now(),
    )
    .await
    .unwrap();
    let rotated = loaded(&store, dir.path(), "k-2026").await;
    let keys = store.signer_keys().await.unwrap();
    let ids: Vec<&str> = keys.iter().map(|k| k.signer_key_id.as_str()).collect();
    assert_eq!(ids, vec!["k-2025", "k-2026"]);
    assert_eq!(
        keys[0].public_key_pem,
        public_key_pem(&first.signer.verifying_key()).unwrap()
    );
    assert_eq!(keys[1].source, "configured");
    assert_ne!(rotated.signer.verifying_key(), first.signer.verifying_key());
    let (other, _) = generate_key_pair().unwrap();
    let error = load(
        &store,
        &configured("k-2025", &other),
        dir.path(),
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("already registered"), "{error}");
    let dev = load(&store, &EvidenceConfig::default(), dir.path(), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        store
            .signer_key(dev.signer.key_id())
            .await
            .unwrap()
            .unwrap()
            .source,
        "development"
    );
}

#[tokio::test]
async fn packages_are_versioned_and_verify_across_a_rotation() {
    let (store, dir) = store().await;
    let sources = sources(50);
    let old = loaded(&store, dir.path(), "k-old").await;
    let first = made(&store, &sources, &old, Origin::Automatic, "system")
        .await
        .unwrap();
    let new = loaded(&store, dir.path(), "k-new").await;
    let second = made(&store, &sources, &new, Origin::Export, "ops-7")
        .await
        .unwrap();
    assert_eq!((first.package_version, second.package_version), (1, 2));
    assert_eq!(second.signer_key_id, "k-new");
    assert_eq!(
        store
            .evidence_package("job-1", None)
            .await
            .unwrap()
            .unwrap(),
        second
    );
    assert_eq!(
        store
            .evidence_package("job-1", Some(1))
            .await
            .unwrap()
            .unwrap(),
        first
    );
    assert!(store.evidence_exported("job-1").await.unwrap());
    for row in [&first, &second] {
        let verification = verify_row(&store, &sources, row, Utc::now()).await.unwrap();
        assert!(verification.verified, "{verification:?}");
        let shown = view(row, verification);
        assert_eq!(shown.artifact_hashes.unwrap().plan.len(), 64);
        assert_eq!(shown.signature.algorithm, "ed25519");
    }
    assert_eq!(
        store
            .count_evidence_verification_failures(None)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_database_refuses_changes_and_tampering_is_caught_and_counted() {
    let (store, dir) = store().await;
    let sources = sources(5);
    let evidence = loaded(&store, dir.path(), "k1").await;
    let row = made(&store, &sources, &evidence, Origin::Export, "ops-7")
        .await
        .unwrap();
    for sql in [
        "UPDATE evidence_packages SET report_hash = 'x'",
        "DELETE FROM evidence_packages",
        "DELETE FROM evidence_signer_keys",
        "UPDATE evidence_signer_keys SET public_key_pem = 'x'",
    ] {
        let error = exec(dir.path(), sql).await.unwrap_err();
        assert!(error.to_string().contains("insert-only"), "{sql}: {error}");
    }
    // An attacker with the database owner's rights drops the guard.
    exec(dir.path(), "DROP TRIGGER evidence_packages_no_update")
        .await
        .unwrap();
    let tampered = row
        .report_json
        .replace("\"applied\":2500", "\"applied\":2499");
    assert_ne!(tampered, row.report_json);
    let sql = format!("UPDATE evidence_packages SET report_json = '{tampered}'");
    let verification = verified_after(&store, &sources, dir.path(), &sql).await;
    assert_eq!(verification.reason_code, Some(REPORT_HASH_MISMATCH));
    let sql = format!(
        "UPDATE evidence_packages SET signer_key_id = 'k-unknown', report_json = '{}'",
        row.report_json
    );
    let verification = verified_after(&store, &sources, dir.path(), &sql).await;
    assert_eq!(verification.reason_code, Some(SIGNATURE_FAILED));
    assert_eq!(
        store
            .count_evidence_verification_failures(None)
            .await
            .unwrap(),
        2
    );
    let later = Utc::now() + chrono::Duration::seconds(5);
    assert_eq!(
        store
            .count_evidence_verification_failures(Some(later))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_job_that_is_not_terminal_has_no_evidence() {
    let (store, dir) = store().await;
    let mut sources = sources(1);
    sources.job.status = "running".into();
    let evidence = loaded(&store, dir.path(), "k1").await;
    let error = made(&store, &sources, &evidence, Origin::Export, "ops-7")
        .await
        .unwrap_err();
    match error {
        DomainError::Conflict { reason_code, .. } => {
            assert_eq!(reason_code, ReasonCode::EvidenceJobNotTerminal)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_owed_package_is_stored_once_with_its_debt_discharged() {
    let (store, dir) = store().await;
    let sources = sources(20);
    let evidence = loaded(&store, dir.path(), "k1").await;
    // Nothing owed: nothing stored.
    let none = create_owed(&store, &sources, &evidence, &sources.job, 1, Utc::now())
        .await
        .unwrap();
    assert_eq!(none, None);
    exec(
        dir.path(),
        "INSERT INTO evidence_obligations (job_id, owed_at, attempts) \
         VALUES ('job-1', '2026-12-06 10:00:00+00:00', 0)",
    )
    .await
    .unwrap();
    assert!(store.evidence_owed("job-1").await.unwrap());
    // Two payers at once (two replicas past an expired lease): one stores.
    let (a, b) = tokio::join!(
        create_owed(&store, &sources, &evidence, &sources.job, 1, Utc::now()),
        create_owed(&store, &sources, &evidence, &sources.job, 1, Utc::now()),
    );
    let stored: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].origin, "automatic");
    assert!(!store.evidence_owed("job-1").await.unwrap());
    assert_eq!(
        store.next_evidence_package_version("job-1").await.unwrap(),
        2
    );
}
