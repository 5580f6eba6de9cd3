//! The policy decision log (`policy_decisions`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Value};

use super::sql::statement;
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
    pub output: serde_json::Value,
    pub outcome: String,
    /// `plan` or `job`.
    pub subject_kind: String,
    pub subject_id: String,
    pub decided_at: DateTime<Utc>,
}

/// Inserts a decision on any connection or transaction.
pub async fn insert_decision(
    conn: &impl ConnectionTrait,
    backend: DatabaseBackend,
    d: &DecisionRow,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO policy_decisions (decision_id, kind, policy_name, policy_version, policy_digest, policy_signer, \
               policy_signer_fingerprint, input_sha256, output, outcome, subject_kind, subject_id, decided_at) \
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let values: Vec<Value> = vec![
        d.decision_id.clone().into(),
        d.kind.clone().into(),
        d.policy_name.clone().into(),
        d.policy_version.clone().into(),
        d.policy_digest.clone().into(),
        d.policy_signer.clone().into(),
        d.policy_signer_fingerprint.clone().into(),
        d.input_sha256.clone().into(),
        d.output.clone().into(),
        d.outcome.clone().into(),
        d.subject_kind.clone().into(),
        d.subject_id.clone().into(),
        d.decided_at.into(),
    ];
    conn.execute(statement(backend, sql, values)).await?;
    Ok(())
}

impl Store {
    /// Logs a decision.
    pub async fn insert_decision(&self, decision: &DecisionRow) -> Result<(), StoreError> {
        insert_decision(self.write_db(), self.backend(), decision).await
    }

    /// Every decision about a subject, oldest first.
    pub async fn decisions_for(
        &self,
        subject_kind: &str,
        subject_id: &str,
    ) -> Result<Vec<DecisionRow>, StoreError> {
        let sql = "SELECT decision_id, kind, policy_name, policy_version, policy_digest, policy_signer, \
                   policy_signer_fingerprint, input_sha256, output, outcome, subject_kind, subject_id, decided_at FROM policy_decisions WHERE subject_kind = ? AND subject_id = ? \
                   ORDER BY decided_at, decision_id";
        let values = vec![subject_kind.into(), subject_id.into()];
        Ok(
            DecisionRow::find_by_statement(statement(self.backend(), sql, values))
                .all(self.db())
                .await?,
        )
    }
}
