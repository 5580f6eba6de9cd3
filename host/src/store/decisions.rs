//! The policy decision log (`policy_decisions`): every decision with its
//! input, output and policy digest, listed by filter and page, plus the
//! shadow candidates' disagreements (`policy_shadow_disagreements`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::sql::execute;
use super::{Store, StoreError};

/// One logged decision.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DecisionRow {
    pub decision_id: String,
    /// `gate`, `capability` or `media_caps`.
    pub kind: String,
    pub policy_name: String,
    pub policy_version: String,
    pub policy_digest: String,
    /// The trusted key that signed the plugin, and its fingerprint; null
    /// for builtin and unsigned plugins.
    pub policy_signer: Option<String>,
    pub policy_signer_fingerprint: Option<String>,
    pub input_sha256: String,
    /// The input's JSON text (what `input_sha256` hashes); `None` in rows
    /// logged before inputs were kept.
    pub input: Option<String>,
    /// The input's tenant; `None` in rows logged before.
    pub tenant_id: Option<String>,
    pub output: serde_json::Value,
    pub outcome: String,
    /// `plan` or `job`.
    pub subject_kind: String,
    pub subject_id: String,
    pub decided_at: DateTime<Utc>,
}

/// A logged decision with its position in the log (the paging key).
#[derive(Debug, Clone, FromQueryResult)]
pub struct LoggedDecisionRow {
    pub seq: i64,
    #[sea_orm(nested)]
    pub row: DecisionRow,
}

/// Which logged decisions to list; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    pub kind: Option<String>,
    pub outcome: Option<String>,
    /// Decided at or after.
    pub since: Option<DateTime<Utc>>,
    /// Decided before.
    pub until: Option<DateTime<Utc>>,
    /// `(subject_kind, subject_id)`: decisions about any of them (none:
    /// every subject).
    pub subjects: Vec<(String, String)>,
    /// `None`: every tenant (and rows without one); else only these.
    pub tenants: Option<Vec<String>>,
}

const COLUMNS: &str = "decision_id, kind, policy_name, policy_version, policy_digest, \
                       policy_signer, policy_signer_fingerprint, input_sha256, input, tenant_id, \
                       output, outcome, subject_kind, subject_id, decided_at";

/// Inserts a decision on any connection or transaction.
pub async fn insert_decision(
    conn: &impl ConnectionTrait,
    d: &DecisionRow,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO policy_decisions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    );
    let values: Vec<Value> = vec![
        d.decision_id.clone().into(),
        d.kind.clone().into(),
        d.policy_name.clone().into(),
        d.policy_version.clone().into(),
        d.policy_digest.clone().into(),
        d.policy_signer.clone().into(),
        d.policy_signer_fingerprint.clone().into(),
        d.input_sha256.clone().into(),
        d.input.clone().into(),
        d.tenant_id.clone().into(),
        d.output.clone().into(),
        d.outcome.clone().into(),
        d.subject_kind.clone().into(),
        d.subject_id.clone().into(),
        d.decided_at.into(),
    ];
    execute(conn, &sql, values).await?;
    Ok(())
}

impl Store {
    /// Logs a decision.
    pub async fn insert_decision(&self, decision: &DecisionRow) -> Result<(), StoreError> {
        insert_decision(self.write_db(), decision).await
    }

    /// Every decision about a subject, oldest first.
    pub async fn decisions_for(
        &self,
        subject_kind: &str,
        subject_id: &str,
    ) -> Result<Vec<DecisionRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM policy_decisions WHERE subject_kind = ? AND subject_id = ? \
             ORDER BY decided_at, decision_id"
        );
        let values = vec![subject_kind.into(), subject_id.into()];
        self.fetch_all(&sql, values).await
    }

    /// The logged decisions matching `filter` with `seq > after`, in log
    /// order, at most `limit`.
    pub async fn decisions_page(
        &self,
        filter: &DecisionFilter,
        after: i64,
        limit: u64,
    ) -> Result<Vec<LoggedDecisionRow>, StoreError> {
        let mut clauses = vec!["seq > ?".to_owned()];
        let mut values: Vec<Value> = vec![after.into()];
        if let Some(kind) = &filter.kind {
            clauses.push("kind = ?".into());
            values.push(kind.clone().into());
        }
        if let Some(outcome) = &filter.outcome {
            clauses.push("outcome = ?".into());
            values.push(outcome.clone().into());
        }
        if let Some(since) = filter.since {
            clauses.push("decided_at >= ?".into());
            values.push(since.into());
        }
        if let Some(until) = filter.until {
            clauses.push("decided_at < ?".into());
            values.push(until.into());
        }
        if !filter.subjects.is_empty() {
            let any = vec!["(subject_kind = ? AND subject_id = ?)"; filter.subjects.len()];
            clauses.push(format!("({})", any.join(" OR ")));
            for (kind, id) in &filter.subjects {
                values.push(kind.clone().into());
                values.push(id.clone().into());
            }
        }
        if let Some(tenants) = &filter.tenants {
            if tenants.is_empty() {
                return Ok(Vec::new());
            }
            clauses.push(format!(
                "tenant_id IN ({})",
                super::sql::list_placeholders(tenants.len())
            ));
            values.extend(tenants.iter().map(|t| Value::from(t.clone())));
        }
        let sql = format!(
            "SELECT seq, {COLUMNS} FROM policy_decisions WHERE {} ORDER BY seq LIMIT {limit}",
            clauses.join(" AND ")
        );
        self.fetch_all(&sql, values).await
    }
}
