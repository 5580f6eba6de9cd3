//! What a drill restores: the point in time (just behind the source's
//! watermarks) and the scope (whole tables, or a random sample of each
//! chosen with a recorded seed among the records the backup holds then).

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::Schedule;
use crate::domain::plan::request::ScopeTable;
use crate::domain::{DomainError, RestoreService};
use crate::store::plan_scan::ScanScope;

impl RestoreService {
    /// Just behind the freshest point every partition of the scope has
    /// reached (the lowest of their watermarks), never after `now`; `now`
    /// when a partition has none (the gate then says why).
    pub(super) async fn drill_pit(
        &self,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DomainError> {
        let (tenant, instance) = (&schedule.source.tenant_id, &schedule.source.instance_id);
        let feeding = self
            .store
            .partitions_of_tables(tenant, instance, &schedule.tables)
            .await?;
        let watermarks = self.store.list_watermarks(tenant, instance).await?;
        let mut lowest: Option<i64> = None;
        for (topic, partition) in &feeding {
            match watermarks
                .iter()
                .find(|w| &w.topic == topic && w.partition == *partition)
            {
                Some(w) => {
                    lowest =
                        Some(lowest.map_or(w.watermark_time_us, |l| l.min(w.watermark_time_us)))
                }
                None => return Ok(now),
            }
        }
        let pit = lowest.map(crate::domain::index::from_micros).unwrap_or(now);
        Ok(pit.min(now))
    }

    /// The scope: whole tables, or `sample_per_table` records of each
    /// chosen with `seed` among those the backup has at the PIT.
    pub(super) async fn drill_scope(
        &self,
        schedule: &Schedule,
        pit: DateTime<Utc>,
        seed: i64,
    ) -> Result<Vec<ScopeTable>, DomainError> {
        let Some(n) = schedule.sample_per_table else {
            return Ok(schedule
                .tables
                .iter()
                .map(|table| ScopeTable {
                    table: table.clone(),
                    sys_ids: None,
                })
                .collect());
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed as u64);
        let mut scope = Vec::new();
        for table in &schedule.tables {
            let mut ids = self.live_sys_ids(schedule, table, pit).await?;
            ids.shuffle(&mut rng);
            ids.truncate(n as usize);
            ids.sort();
            if !ids.is_empty() {
                scope.push(ScopeTable {
                    table: table.clone(),
                    sys_ids: Some(ids),
                });
            }
        }
        Ok(scope)
    }

    /// The records of `table` the backup holds at the PIT, by `sys_id`.
    async fn live_sys_ids(
        &self,
        schedule: &Schedule,
        table: &str,
        pit: DateTime<Utc>,
    ) -> Result<Vec<String>, DomainError> {
        use futures::StreamExt;
        let scope = ScanScope {
            tenant_id: &schedule.source.tenant_id,
            instance_id: &schedule.source.instance_id,
            table,
            sys_ids: None,
        };
        let mut versions = Box::pin(
            self.store
                .scan_versions(scope, pit.timestamp_micros())
                .await?,
        );
        let mut ids: Vec<String> = Vec::new();
        while let Some(version) = versions.next().await {
            let version = version?;
            if version.op == "upsert" && ids.last() != Some(&version.sys_id) {
                ids.push(version.sys_id);
            }
        }
        Ok(ids)
    }
}
