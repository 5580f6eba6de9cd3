//! Queries on the evidence tables: packages (insert-only, versioned per
//! job), the signer keyring, and the log of failed verifications that the
//! SLO counts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, FromQueryResult, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;

use super::entities::evidence_package::{self, Entity as Packages};
use super::entities::evidence_signer_key::{self, Entity as SignerKeys};
use super::entities::evidence_verification_failure::{self, Entity as Failures};
use super::job_events::NewEventRow;
use super::sql::execute;
use super::{Store, StoreError};

/// A stored package.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidencePackageRow {
    pub package_id: String,
    pub job_id: String,
    pub package_version: i64,
    /// `automatic` or `export`.
    pub origin: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub plan_id: String,
    pub plan_hash: String,
    /// The canonical manifest text (the signed bytes).
    pub manifest_json: String,
    pub manifest_sha256: String,
    /// The canonical report text.
    pub report_json: String,
    pub report_hash: String,
    pub signer_key_id: String,
    pub algorithm: String,
    pub signature: String,
    pub retention_class: String,
    pub worm_enabled: bool,
    pub retain_until: DateTime<Utc>,
    pub artifact_rows: i64,
    pub artifact_bytes: i64,
    pub generated_by: String,
    pub generated_at: DateTime<Utc>,
}

impl From<evidence_package::Model> for EvidencePackageRow {
    fn from(m: evidence_package::Model) -> Self {
        Self {
            package_id: m.package_id,
            job_id: m.job_id,
            package_version: m.package_version,
            origin: m.origin,
            tenant_id: m.tenant_id,
            instance_id: m.instance_id,
            plan_id: m.plan_id,
            plan_hash: m.plan_hash,
            manifest_json: m.manifest_json,
            manifest_sha256: m.manifest_sha256,
            report_json: m.report_json,
            report_hash: m.report_hash,
            signer_key_id: m.signer_key_id,
            algorithm: m.algorithm,
            signature: m.signature,
            retention_class: m.retention_class,
            worm_enabled: m.worm_enabled,
            retain_until: m.retain_until,
            artifact_rows: m.artifact_rows,
            artifact_bytes: m.artifact_bytes,
            generated_by: m.generated_by,
            generated_at: m.generated_at,
        }
    }
}

/// A public key of the keyring, as stored (`source`: `configured` or
/// `development`).
pub type SignerKeyRow = evidence_signer_key::Model;

/// A failed verification to log.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationFailureRow {
    pub package_id: String,
    pub job_id: String,
    pub tenant_id: String,
    pub package_version: i64,
    pub reason_code: String,
    /// Names of the failed checks.
    pub failed_checks: Value,
    pub detected_at: DateTime<Utc>,
}

fn package_model(row: &EvidencePackageRow) -> evidence_package::ActiveModel {
    evidence_package::ActiveModel {
        package_id: Set(row.package_id.clone()),
        job_id: Set(row.job_id.clone()),
        package_version: Set(row.package_version),
        origin: Set(row.origin.clone()),
        tenant_id: Set(row.tenant_id.clone()),
        instance_id: Set(row.instance_id.clone()),
        plan_id: Set(row.plan_id.clone()),
        plan_hash: Set(row.plan_hash.clone()),
        manifest_json: Set(row.manifest_json.clone()),
        manifest_sha256: Set(row.manifest_sha256.clone()),
        report_json: Set(row.report_json.clone()),
        report_hash: Set(row.report_hash.clone()),
        signer_key_id: Set(row.signer_key_id.clone()),
        algorithm: Set(row.algorithm.clone()),
        signature: Set(row.signature.clone()),
        retention_class: Set(row.retention_class.clone()),
        worm_enabled: Set(row.worm_enabled),
        retain_until: Set(row.retain_until),
        retain_until_us: Set(row.retain_until.timestamp_micros()),
        artifact_rows: Set(row.artifact_rows),
        artifact_bytes: Set(row.artifact_bytes),
        generated_by: Set(row.generated_by.clone()),
        generated_at: Set(row.generated_at),
        generated_at_us: Set(row.generated_at.timestamp_micros()),
    }
}

impl Store {
    /// Stores a new package; `Duplicate` when its version is taken.
    pub async fn insert_evidence_package(
        &self,
        row: &EvidencePackageRow,
    ) -> Result<(), StoreError> {
        package_model(row).insert(self.write_db()).await?;
        Ok(())
    }

    /// Stores a new package and its `evidence_exported` event in one
    /// transaction. With `discharge`, the job's evidence obligation is
    /// deleted in the same transaction, and nothing is stored (false) when
    /// it is already gone: another replica stored the owed package.
    /// `Duplicate` when the version is taken.
    pub async fn insert_evidence_package_with_event(
        &self,
        row: &EvidencePackageRow,
        discharge: bool,
        job_seq: i64,
        event: &NewEventRow,
    ) -> Result<bool, StoreError> {
        let txn = self.begin_write().await?;
        if discharge && !super::evidence_obligations::discharge(&txn, &row.job_id).await? {
            return Ok(false);
        }
        package_model(row).insert(&txn).await?;
        super::job_events::append_event(&txn, job_seq, event).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// A job's package of this version, or its latest when `None`.
    pub async fn evidence_package(
        &self,
        job_id: &str,
        version: Option<i64>,
    ) -> Result<Option<EvidencePackageRow>, StoreError> {
        let mut query = Packages::find().filter(evidence_package::Column::JobId.eq(job_id));
        if let Some(version) = version {
            query = query.filter(evidence_package::Column::PackageVersion.eq(version));
        }
        Ok(query
            .order_by_desc(evidence_package::Column::PackageVersion)
            .one(self.db())
            .await?
            .map(EvidencePackageRow::from))
    }

    /// The version a new package of the job gets (1 for the first).
    pub async fn next_evidence_package_version(&self, job_id: &str) -> Result<i64, StoreError> {
        let latest: Option<i64> = Packages::find()
            .select_only()
            .column(evidence_package::Column::PackageVersion)
            .filter(evidence_package::Column::JobId.eq(job_id))
            .order_by_desc(evidence_package::Column::PackageVersion)
            .into_tuple()
            .one(self.db())
            .await?;
        Ok(latest.unwrap_or(0) + 1)
    }

    /// Whether a package was exported (not only generated) for the job.
    pub async fn evidence_exported(&self, job_id: &str) -> Result<bool, StoreError> {
        let count = Packages::find()
            .filter(evidence_package::Column::JobId.eq(job_id))
            .filter(evidence_package::Column::Origin.eq("export"))
            .count(self.db())
            .await?;
        Ok(count > 0)
    }

    /// Registers a public key. Returns the row now stored under its id:
    /// the new one, or the one registered before (which may differ).
    pub async fn register_signer_key(
        &self,
        row: &SignerKeyRow,
    ) -> Result<SignerKeyRow, StoreError> {
        let insert = row
            .clone()
            .into_active_model()
            .insert(self.write_db())
            .await;
        match insert {
            Ok(_) => Ok(row.clone()),
            Err(error) => match StoreError::from(error) {
                StoreError::Duplicate(_) => self
                    .signer_key(&row.signer_key_id)
                    .await?
                    .ok_or_else(|| StoreError::Database("signer key vanished".into())),
                other => Err(other),
            },
        }
    }

    /// The keyring entry of a signer key id.
    pub async fn signer_key(
        &self,
        signer_key_id: &str,
    ) -> Result<Option<SignerKeyRow>, StoreError> {
        Ok(SignerKeys::find_by_id(signer_key_id.to_owned())
            .one(self.db())
            .await?)
    }

    /// Every keyring entry, oldest first.
    pub async fn signer_keys(&self) -> Result<Vec<SignerKeyRow>, StoreError> {
        Ok(SignerKeys::find()
            .order_by_asc(evidence_signer_key::Column::RegisteredAt)
            .order_by_asc(evidence_signer_key::Column::SignerKeyId)
            .all(self.db())
            .await?)
    }

    /// Logs a failed verification.
    pub async fn insert_evidence_verification_failure(
        &self,
        row: &VerificationFailureRow,
    ) -> Result<(), StoreError> {
        evidence_verification_failure::ActiveModel {
            failure_id: Set(uuid::Uuid::new_v4().to_string()),
            package_id: Set(row.package_id.clone()),
            job_id: Set(row.job_id.clone()),
            tenant_id: Set(row.tenant_id.clone()),
            package_version: Set(row.package_version),
            reason_code: Set(row.reason_code.clone()),
            failed_checks: Set(row.failed_checks.clone()),
            detected_at: Set(row.detected_at),
            detected_at_us: Set(row.detected_at.timestamp_micros()),
        }
        .insert(self.write_db())
        .await?;
        Ok(())
    }

    /// Failed verifications detected at or after `since` (all when `None`):
    /// the `evidence_verification_failed` figure of the SLO.
    pub async fn count_evidence_verification_failures(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        let mut query = Failures::find();
        if let Some(since) = since {
            query = query.filter(
                evidence_verification_failure::Column::DetectedAtUs.gte(since.timestamp_micros()),
            );
        }
        Ok(query.count(self.db()).await?)
    }
}

impl Store {
    /// The job's last event `seq` (0 without events).
    pub async fn evidence_last_event_seq(&self, job_seq: i64) -> Result<i64, StoreError> {
        use sea_orm::sea_query::{Alias, Expr, Func, Query};
        #[derive(FromQueryResult)]
        struct LastSeq {
            last_seq: i64,
        }
        let query = Query::select()
            .expr_as(
                Func::coalesce([Expr::col(Alias::new("seq")).max(), Expr::value(0i64)]),
                Alias::new("last_seq"),
            )
            .from(Alias::new("job_events"))
            .and_where(Expr::col(Alias::new("job_seq")).eq(job_seq))
            .to_owned();
        let statement = self.backend().build(&query);
        let last = LastSeq::find_by_statement(statement).one(self.db()).await?;
        Ok(last.map_or(0, |l| l.last_seq))
    }
}

/// A journal prune to record in the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneRunRow {
    pub prune_id: String,
    pub actor: String,
    pub retention_days: i64,
    pub jobs_examined: i64,
    pub jobs_pruned: i64,
    pub before_images_removed: i64,
    pub bytes_removed: i64,
    pub pruned_job_ids: Value,
    pub skipped: Value,
    pub pruned_at: DateTime<Utc>,
}

/// `(group, value, count)`: outcome tallies of a job's execution, e.g.
/// `("row_outcomes", "applied", 40)`.
pub type OutcomeCount = (String, String, i64);

impl Store {
    /// Tallies of a job's chunks by status, row outcomes and media
    /// outcomes by outcome, for the evidence report.
    pub async fn evidence_outcome_counts(
        &self,
        job_id: &str,
    ) -> Result<Vec<OutcomeCount>, StoreError> {
        #[derive(FromQueryResult)]
        struct Count {
            v: String,
            n: i64,
        }
        let mut counts = Vec::new();
        for (group, sql) in [
            ("chunks", "SELECT status AS v, COUNT(*) AS n FROM execution_chunks WHERE job_id = ? GROUP BY status"),
            ("row_outcomes", "SELECT outcome AS v, COUNT(*) AS n FROM row_outcomes WHERE job_id = ? GROUP BY outcome"),
            ("media_outcomes", "SELECT outcome AS v, COUNT(*) AS n FROM media_outcomes WHERE job_id = ? GROUP BY outcome"),
        ] {
            for Count { v, n } in self.fetch_all(sql, vec![job_id.into()]).await? {
                counts.push((group.to_owned(), v, n));
            }
        }
        counts.sort();
        Ok(counts)
    }

    /// Removes a job's journal before-images, keeping every row, linkage
    /// id and hash; returns how many were removed.
    pub async fn prune_before_images(&self, job_id: &str) -> Result<u64, StoreError> {
        let sql = "UPDATE rollback_journal SET before_image = NULL WHERE job_id = ? AND before_image IS NOT NULL";
        execute(self.db(), sql, vec![job_id.into()]).await
    }

    /// Records a prune in the audit trail.
    pub async fn insert_journal_prune_run(&self, row: &PruneRunRow) -> Result<(), StoreError> {
        use super::entities::journal_prune_run;
        journal_prune_run::ActiveModel {
            prune_id: Set(row.prune_id.clone()),
            actor: Set(row.actor.clone()),
            retention_days: Set(row.retention_days),
            jobs_examined: Set(row.jobs_examined),
            jobs_pruned: Set(row.jobs_pruned),
            before_images_removed: Set(row.before_images_removed),
            bytes_removed: Set(row.bytes_removed),
            pruned_job_ids: Set(row.pruned_job_ids.clone()),
            skipped: Set(row.skipped.clone()),
            pruned_at: Set(row.pruned_at),
            pruned_at_us: Set(row.pruned_at.timestamp_micros()),
        }
        .insert(self.write_db())
        .await?;
        Ok(())
    }
}
