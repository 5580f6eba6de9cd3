//! One policy set across replicas. Every accepted reload, and every start
//! whose policy set differs from the latest recorded one, records the set
//! in the database as the next generation (its plugins, digests, settings
//! and the wasm of plugins read from files). Every replica polls the latest
//! generation (`policies.sync_interval_ms`, default 2 s) and converges to
//! it: the same digest adopts the number, another set is loaded from the
//! recorded bytes exactly as a reload would load it. A set that fails to
//! load where it was posted is refused there and never recorded; one that
//! loads there but not on another replica (a builtin that binary lacks) is
//! refused by that replica alone, logged, and its old set keeps serving.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;

use super::{DomainError, RestoreService};
use crate::policy::{recorded_config, SetEntry};
use crate::store::StoreError;

/// Attempts at taking the next generation when replicas record at once.
const RECORD_ATTEMPTS: usize = 5;

impl RestoreService {
    /// Records the current set as the next generation and marks it so;
    /// when the latest recorded set is this one already, only adopts its
    /// number. The caller holds the registry's sync guard.
    pub(super) async fn record_policy_set(&self, recorded_by: &str) -> Result<i64, DomainError> {
        let set = self.policies.recordable();
        let policies = serde_json::to_value(&set.entries)
            .map_err(|e| DomainError::Internal(format!("cannot serialise the policy set: {e}")))?;
        let blobs: Vec<(String, String)> = set
            .blobs
            .iter()
            .map(|(sha, wasm)| {
                (
                    sha.clone(),
                    base64::engine::general_purpose::STANDARD.encode(wasm),
                )
            })
            .collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(head) = self.store.latest_policy_generation().await? {
                if head.set_digest == set.digest {
                    self.policies.set_generation(head.generation);
                    return Ok(head.generation);
                }
            }
            let recorded = self
                .store
                .record_policy_set(&set.digest, &policies, &blobs, recorded_by, Utc::now())
                .await;
            match recorded {
                Ok(generation) => {
                    self.policies.set_generation(generation);
                    tracing::info!(generation, set_digest = %set.digest, recorded_by,
                        "policy set recorded");
                    return Ok(generation);
                }
                Err(StoreError::Duplicate(_)) if attempt < RECORD_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// At start: adopt the latest recorded generation when it is this
    /// replica's set, else record this set as the next one (the newest
    /// start or reload wins; the other replicas converge to it).
    pub async fn publish_policy_set_at_start(&self) -> Result<(), DomainError> {
        let _guard = self.policies.sync_guard().await;
        self.record_policy_set(&format!("start of {}", self.instance_id))
            .await
            .map(drop)
    }

    /// One poll: converges to the latest recorded generation. Returns the
    /// generation this replica refused, if it refused one (`refused` is the
    /// one refused before, not tried again).
    pub async fn converge_policy_set(
        &self,
        refused: Option<i64>,
    ) -> Result<Option<i64>, DomainError> {
        let _guard = self.policies.sync_guard().await;
        let Some(head) = self.store.latest_policy_generation().await? else {
            return Ok(None);
        };
        let mine = self.policies.generation();
        if mine.is_some_and(|g| g >= head.generation) {
            return Ok(None);
        }
        if head.set_digest == self.policies.set_digest() {
            self.policies.set_generation(head.generation);
            return Ok(None);
        }
        if refused == Some(head.generation) {
            return Ok(refused);
        }
        let Some(row) = self.store.policy_set(head.generation).await? else {
            return Ok(None);
        };
        let entries: Vec<SetEntry> = serde_json::from_value(row.policies).map_err(|e| {
            DomainError::Internal(format!(
                "recorded policy set {} is corrupt: {e}",
                head.generation
            ))
        })?;
        let digests: Vec<String> = entries
            .iter()
            .flat_map(|e| {
                std::iter::once(e.sha256.clone()).chain(e.shadow.as_ref().map(|s| s.sha256.clone()))
            })
            .collect();
        let mut blobs = BTreeMap::new();
        for (sha, text) in self.store.plugin_blobs(&digests).await? {
            let wasm = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| {
                    DomainError::Internal(format!("stored plugin {sha} is corrupt: {e}"))
                })?;
            blobs.insert(sha, Arc::<[u8]>::from(wasm));
        }
        let generation = head.generation;
        let config = match recorded_config(generation, &entries, blobs) {
            Ok(config) => config,
            Err(reason) => {
                tracing::error!(generation, %reason, "the recorded policy set is refused here");
                return Ok(Some(generation));
            }
        };
        let registry = self.policies.clone();
        // Loading compiles wasm (cached by digest): off the async workers.
        let adopted = tokio::task::spawn_blocking(move || registry.adopt(&config, generation))
            .await
            .map_err(|e| DomainError::Internal(format!("policy set load did not finish: {e}")))?;
        Ok(adopted.err().map(|_| generation))
    }

    /// Polls the latest generation every `interval` until aborted.
    pub(super) fn spawn_policy_sync(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            if interval.is_zero() {
                return;
            }
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut refused = None;
            loop {
                ticker.tick().await;
                match service.converge_policy_set(refused).await {
                    Ok(now_refused) => refused = now_refused,
                    Err(error) => tracing::warn!(%error, "cannot poll the recorded policy set"),
                }
            }
        })
    }
}
