//! The decision log as an auditor reads it (`GET /v1/policies/decisions`):
//! every policy decision with the input it decided on, its outcome and
//! reason codes and the digest of the plugin that decided, filtered and
//! paged. Kept apart from `policies.rs` (the loaded set) because it reads
//! the database, not the registry.

use chrono::{DateTime, Utc};

use super::error::parse_stored;
use super::paging::{Page, PageRequest};
use super::principal::{Capability, Principal, TenantScope};
use super::{DomainError, ReasonCode, RestoreService};
use crate::policy::{reason_codes, DecisionOutcome, PolicyKind, PolicyRef};
use crate::store::decisions::{DecisionFilter, LoggedDecisionRow};

/// What a caller may filter the log by.
#[derive(Debug, Clone, Default)]
pub struct DecisionQuery {
    pub kind: Option<PolicyKind>,
    pub outcome: Option<DecisionOutcome>,
    /// Decided at or after.
    pub since: Option<DateTime<Utc>>,
    /// Decided before.
    pub until: Option<DateTime<Utc>>,
    pub plan_id: Option<String>,
    pub job_id: Option<String>,
}

/// One logged decision.
#[derive(Debug, Clone)]
pub struct LoggedDecision {
    /// Position in the log (the paging key).
    pub seq: i64,
    pub decision_id: String,
    pub kind: PolicyKind,
    pub policy: PolicyRef,
    /// The input it decided on; `None` for decisions logged before inputs
    /// were kept.
    pub input: Option<serde_json::Value>,
    pub input_sha256: String,
    pub output: serde_json::Value,
    pub outcome: DecisionOutcome,
    pub reason_codes: Vec<ReasonCode>,
    /// `plan` or `job`.
    pub subject_kind: String,
    pub subject_id: String,
    pub decided_at: DateTime<Utc>,
}

impl DecisionQuery {
    /// The store's filter. `plan_id` and `job_id` together list the
    /// decisions about either (a job's and its plan's); a time range that
    /// ends before it starts matches nothing.
    fn to_filter(&self, tenants: &TenantScope) -> Result<DecisionFilter, DomainError> {
        let mut subjects = Vec::new();
        if let Some(plan) = &self.plan_id {
            subjects.push(("plan".to_owned(), plan.clone()));
        }
        if let Some(job) = &self.job_id {
            subjects.push(("job".to_owned(), job.clone()));
        }
        Ok(DecisionFilter {
            kind: self.kind.map(|k| k.as_str().to_owned()),
            outcome: self.outcome.map(|o| o.as_str().to_owned()),
            since: self.since,
            until: self.until,
            subjects,
            tenants: match tenants {
                TenantScope::All => None,
                TenantScope::Only(set) => Some(set.iter().cloned().collect()),
            },
        })
    }
}

impl RestoreService {
    /// `GET /v1/policies/decisions`: needs `restore_read`, like the policy
    /// list; a token scoped to tenants sees only their decisions.
    pub async fn policy_decisions(
        &self,
        principal: &Principal,
        query: &DecisionQuery,
        page: PageRequest,
    ) -> Result<Page<LoggedDecision>, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let filter = query.to_filter(&principal.tenants)?;
        let rows = self
            .store
            .decisions_page(&filter, page.after, page.fetch())
            .await?;
        let page = Page::of(rows, page, |row| row.seq);
        let items = page
            .items
            .into_iter()
            .map(logged_decision)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_after: page.next_after,
        })
    }
}

/// A stored row as the domain reads it; unknown stored names are corrupt.
pub fn logged_decision(logged: LoggedDecisionRow) -> Result<LoggedDecision, DomainError> {
    let row = logged.row;
    let outcome: DecisionOutcome = parse_stored("decision outcome", &row.outcome)?;
    let reason_codes = reason_codes(outcome, &row.output)
        .iter()
        .map(|code| parse_stored("reason code", code))
        .collect::<Result<Vec<ReasonCode>, _>>()?;
    let input = row
        .input
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| DomainError::Internal(format!("stored decision input is not JSON: {e}")))?;
    Ok(LoggedDecision {
        seq: logged.seq,
        decision_id: row.decision_id,
        kind: parse_stored("policy kind", &row.kind)?,
        policy: PolicyRef {
            name: row.policy_name,
            version: row.policy_version,
            digest: row.policy_digest,
        },
        input,
        input_sha256: row.input_sha256,
        output: row.output,
        outcome,
        reason_codes,
        subject_kind: row.subject_kind,
        subject_id: row.subject_id,
        decided_at: row.decided_at,
    })
}
