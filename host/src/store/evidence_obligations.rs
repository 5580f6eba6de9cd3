//! Evidence owed (`evidence_obligations`): a row per job whose automatic
//! evidence package is still to be generated. [`owe`] runs inside the
//! transaction that makes the job terminal; [`discharge`] inside the one
//! that stores the package (`Store::insert_evidence_package_with_event`).
//! In between, a replica working on it holds a lease (`claimed_by`,
//! `claimed_until_us`), so replicas do not all hash the same job; the
//! conditional delete of [`discharge`] keeps it to one package even when
//! a lease expires under a slow generation.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Value};

use super::sql::execute;
use super::{Store, StoreError};

/// Records that `job_id` is owed an automatic package (once).
pub async fn owe<C: ConnectionTrait>(
    conn: &C,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO evidence_obligations (job_id, owed_at, attempts) VALUES (?, ?, 0) \
               ON CONFLICT (job_id) DO NOTHING";
    let values: Vec<Value> = vec![job_id.into(), at.into()];
    execute(conn, sql, values).await?;
    Ok(())
}

/// Deletes the obligation of `job_id`; false when there was none.
pub async fn discharge<C: ConnectionTrait>(conn: &C, job_id: &str) -> Result<bool, StoreError> {
    let sql = "DELETE FROM evidence_obligations WHERE job_id = ?";
    let values: Vec<Value> = vec![job_id.into()];
    Ok(execute(conn, sql, values).await? > 0)
}

impl Store {
    /// Takes the lease on `job_id`'s obligation until `until_us` when it
    /// exists and no live lease holds it; false otherwise.
    pub async fn claim_evidence_obligation(
        &self,
        job_id: &str,
        holder: &str,
        now_us: i64,
        until_us: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE evidence_obligations SET claimed_by = ?, claimed_until_us = ?, attempts = attempts + 1 \
                   WHERE job_id = ? AND (claimed_until_us IS NULL OR claimed_until_us < ?)";
        let values: Vec<Value> = vec![holder.into(), until_us.into(), job_id.into(), now_us.into()];
        Ok(self.write_sql(sql, values).await? > 0)
    }

    /// Gives a failed attempt's lease back: the obligation may be claimed
    /// again from `retry_at_us`.
    pub async fn release_evidence_obligation(
        &self,
        job_id: &str,
        holder: &str,
        retry_at_us: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE evidence_obligations SET claimed_by = NULL, claimed_until_us = ?, last_error = ? \
                   WHERE job_id = ? AND claimed_by = ?";
        let values: Vec<Value> = vec![
            retry_at_us.into(),
            error.into(),
            job_id.into(),
            holder.into(),
        ];
        self.write_sql(sql, values).await?;
        Ok(())
    }

    /// Up to `limit` jobs owed a package whose obligation no live lease
    /// holds, oldest debt first.
    pub async fn claimable_evidence_obligations(
        &self,
        now_us: i64,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT job_id FROM evidence_obligations \
                   WHERE claimed_until_us IS NULL OR claimed_until_us < ? ORDER BY owed_at, job_id LIMIT ?";
        let values: Vec<Value> = vec![now_us.into(), (limit as i64).into()];
        self.fetch_texts(sql, values).await
    }

    /// Whether `job_id` is still owed its automatic package.
    pub async fn evidence_owed(&self, job_id: &str) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM evidence_obligations WHERE job_id = ?";
        Ok(self.count_sql(sql, vec![job_id.into()]).await? > 0)
    }
}
