//! Drill runs as the API lists them (`ops_admin`, the caller's tenants
//! only, paged by `run_seq`), and the figures each finished run publishes
//! on `/metrics`:
//! - `rrs_drill_last_success_timestamp{tenant_id}` (seconds since the epoch),
//! - `rrs_drill_duration_seconds{tenant_id}` (the restore's wall time),
//! - `rrs_drill_mismatches{tenant_id}` (rows of the last run that differ).

use metrics::{describe_gauge, gauge};

use super::{DrillOutcome, DrillRun};
use crate::domain::paging::{Page, PageRequest};
use crate::domain::principal::{Capability, Principal};
use crate::domain::{DomainError, RestoreService};
use crate::store::drill_runs::DrillRunFilter;

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub schedule_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl RestoreService {
    /// `GET /v1/admin/drills/runs`: oldest first; another tenant's runs
    /// are left out.
    pub async fn drill_runs(
        &self,
        principal: &Principal,
        query: RunQuery,
        page: PageRequest,
    ) -> Result<Page<DrillRun>, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        if let Some(tenant) = &query.tenant_id {
            if !principal.sees_tenant(tenant) {
                return Ok(Page {
                    items: Vec::new(),
                    next_after: None,
                });
            }
        }
        let filter = DrillRunFilter {
            schedule_id: query.schedule_id,
            tenant_id: query.tenant_id,
        };
        // Rows of unseen tenants are skipped page by page, so a page may
        // hold fewer than `limit` while more follow.
        let rows = self
            .store
            .drill_runs_page(&filter, page.after, page.fetch())
            .await?;
        let page = Page::of(rows, page, |r| r.run_seq);
        let items = page
            .items
            .into_iter()
            .filter(|r| principal.sees_tenant(&r.tenant_id))
            .map(DrillRun::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_after: page.next_after,
        })
    }
}

/// Publishes a finished run's figures.
pub fn publish(run: &DrillRun) {
    let tenant = run.source.tenant_id.clone();
    if run.outcome == DrillOutcome::Passed {
        if let Some(at) = run.finished_at {
            gauge!("rrs_drill_last_success_timestamp", "tenant_id" => tenant.clone())
                .set(at.timestamp_micros() as f64 / 1e6);
        }
    }
    if let Some(ms) = run.restore_ms {
        gauge!("rrs_drill_duration_seconds", "tenant_id" => tenant.clone()).set(ms as f64 / 1e3);
    }
    gauge!("rrs_drill_mismatches", "tenant_id" => tenant).set(run.rows_mismatched as f64);
}

/// Describes the drill gauges.
pub fn describe() {
    describe_gauge!(
        "rrs_drill_last_success_timestamp",
        "When the tenant's latest passing restore drill finished (seconds since the epoch)"
    );
    describe_gauge!(
        "rrs_drill_duration_seconds",
        "Wall time of the tenant's latest drill restore"
    );
    describe_gauge!(
        "rrs_drill_mismatches",
        "Restored rows of the tenant's latest drill that differ from the backup"
    );
}
