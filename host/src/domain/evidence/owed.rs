//! Automatic packages as a debt that survives crashes. The transaction
//! that makes a job terminal through execution also records that the job
//! is owed an automatic package (`store::evidence_obligations`); the
//! transaction that stores the package discharges it. Paying is tried at
//! once in the background, and every replica sweeps for unpaid debts at
//! start-up and every `evidence.generation_sweep_seconds`, so a package
//! whose generation died with its process is made by whichever replica
//! comes next.
//!
//! A replica paying a debt holds a lease on it
//! (`evidence.generation_claim_seconds`), so replicas do not hash the same
//! job at once; if the lease runs out under a slow generation and another
//! replica pays too, the discharge in the storing transaction lets only
//! one package in: exactly one automatic package per job.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::package::Evidence;
use super::service;
use super::sources::EvidenceSources;
use super::store_sources::StoreSources;
use crate::config::EvidenceConfig;
use crate::domain::DomainError;
use crate::store::evidence::EvidencePackageRow;
use crate::store::Store;

/// Debts looked at per sweep.
const SWEEP_BATCH: u64 = 100;

/// How replicas pay what is owed.
#[derive(Debug, Clone)]
pub struct Paying {
    pub store: Store,
    pub evidence: Arc<Evidence>,
    /// This replica's name in leases.
    pub holder: String,
    /// How long a lease on a debt lasts (and a failed one waits).
    pub claim: Duration,
    /// Time between sweeps; zero sweeps at start-up only.
    pub sweep: Duration,
}

impl Paying {
    /// From the `evidence` configuration section.
    pub fn new(
        store: Store,
        evidence: Arc<Evidence>,
        holder: String,
        config: &EvidenceConfig,
    ) -> Self {
        Self {
            store,
            evidence,
            holder,
            claim: Duration::from_secs(config.generation_claim_seconds.max(1)),
            sweep: Duration::from_secs(config.generation_sweep_seconds),
        }
    }

    fn micros(&self, from_now: Duration) -> i64 {
        let now = Utc::now().timestamp_micros();
        now.saturating_add(i64::try_from(from_now.as_micros()).unwrap_or(i64::MAX))
    }

    /// Pays the debt of `job_id` if it is owed and no other replica holds
    /// it: generates the package and stores it, discharging the debt.
    /// `None` when there was nothing to do here.
    pub async fn pay(&self, job_id: &str) -> Result<Option<EvidencePackageRow>, DomainError> {
        let now_us = Utc::now().timestamp_micros();
        let until_us = self.micros(self.claim);
        if !self
            .store
            .claim_evidence_obligation(job_id, &self.holder, now_us, until_us)
            .await?
        {
            return Ok(None);
        }
        match self.generate(job_id).await {
            Ok(row) => Ok(row),
            Err(error) => {
                metrics::counter!("rrs_evidence_generation_failed_total").increment(1);
                let retry_at = self.micros(self.sweep.max(Duration::from_secs(1)));
                self.store
                    .release_evidence_obligation(job_id, &self.holder, retry_at, &error.to_string())
                    .await?;
                Err(error)
            }
        }
    }

    async fn generate(&self, job_id: &str) -> Result<Option<EvidencePackageRow>, DomainError> {
        let sources = StoreSources::new(self.store.clone());
        let missing = || DomainError::Internal(format!("job {job_id} owed evidence is missing"));
        let job = sources.job(job_id).await?.ok_or_else(missing)?;
        let job_seq = self.store.job(job_id).await?.ok_or_else(missing)?.job_seq;
        let now = Utc::now();
        service::create_owed(&self.store, &sources, &self.evidence, &job, job_seq, now).await
    }

    /// [`Paying::pay`] in the background, so the request that ended the job
    /// does not wait for its artifacts to be hashed; a failure is logged,
    /// counted (`rrs_evidence_generation_failed_total`) and retried by the
    /// sweep.
    pub fn spawn_pay(&self, job_id: String) {
        let paying = self.clone();
        tokio::spawn(async move {
            if let Err(error) = paying.pay(&job_id).await {
                tracing::error!(%job_id, %error, "evidence generation failed; the sweep retries it");
            }
        });
    }

    /// One sweep: pays every debt no live lease holds, oldest first.
    /// Returns the packages stored.
    pub async fn sweep_once(&self) -> Result<usize, DomainError> {
        let mut stored = 0;
        let owed = self
            .store
            .claimable_evidence_obligations(Utc::now().timestamp_micros(), SWEEP_BATCH)
            .await?;
        for job_id in owed {
            match self.pay(&job_id).await {
                Ok(Some(_)) => stored += 1,
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%job_id, %error, "evidence generation failed; the sweep retries it")
                }
            }
        }
        Ok(stored)
    }

    /// Sweeps at once, then every `sweep` (only once when it is zero).
    pub fn spawn_sweeper(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.sweep_once().await {
                    Ok(0) => {}
                    Ok(stored) => tracing::info!(stored, "owed evidence packages generated"),
                    Err(error) => tracing::warn!(%error, "cannot sweep owed evidence"),
                }
                if self.sweep.is_zero() {
                    return;
                }
                tokio::time::sleep(self.sweep).await;
            }
        })
    }
}
