//! The recorded policy sets (`policy_set_generations`, with their plugins'
//! wasm in `policy_plugin_blobs`) that every replica converges to, and the
//! shadow candidates' disagreements (`policy_shadow_disagreements`).

use chrono::{DateTime, Utc};
use sea_orm::{FromQueryResult, Value};

use super::sql::{execute, list_placeholders, statement};
use super::{Store, StoreError};

/// The head of a recorded set: enough to tell whether a replica is on it.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct GenerationHead {
    pub generation: i64,
    pub set_digest: String,
}

/// A recorded set.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PolicySetRow {
    pub generation: i64,
    pub set_digest: String,
    /// Each kind's plugin, sha256, settings and shadow (JSON list).
    pub policies: serde_json::Value,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromQueryResult)]
struct BlobRow {
    sha256: String,
    wasm_base64: String,
}

#[derive(Debug, Clone, FromQueryResult)]
struct MaxRow {
    generation: Option<i64>,
}

/// A shadow candidate's disagreement with the live plugin.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DisagreementRow {
    pub seq: i64,
    pub decision_id: String,
    pub kind: String,
    pub tenant_id: Option<String>,
    pub live_digest: String,
    pub live_outcome: String,
    pub live_output: serde_json::Value,
    pub candidate_name: String,
    pub candidate_version: String,
    pub candidate_digest: String,
    pub candidate_outcome: String,
    pub candidate_output: serde_json::Value,
    pub decided_at: DateTime<Utc>,
}

/// Disagreements of one kind.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DisagreementCount {
    pub kind: String,
    pub disagreements: i64,
}

const DISAGREEMENT_COLUMNS: &str = "decision_id, kind, tenant_id, live_digest, live_outcome, live_output, \
    candidate_name, candidate_version, candidate_digest, candidate_outcome, candidate_output, decided_at";

impl Store {
    /// The latest recorded generation and its digest, if any.
    pub async fn latest_policy_generation(&self) -> Result<Option<GenerationHead>, StoreError> {
        let sql = "SELECT generation, set_digest FROM policy_set_generations ORDER BY generation DESC LIMIT 1";
        self.fetch_one(sql, vec![]).await
    }

    /// A recorded set by generation.
    pub async fn policy_set(&self, generation: i64) -> Result<Option<PolicySetRow>, StoreError> {
        let sql = "SELECT generation, set_digest, policies, recorded_by, recorded_at FROM policy_set_generations \
                   WHERE generation = ?";
        self.fetch_one(sql, vec![generation.into()]).await
    }

    /// Records a set as the next generation, with the wasm of its plugins
    /// (`(sha256, base64)`, kept once per digest), and returns the
    /// generation. Two replicas recording at once: one insert hits the
    /// primary key and answers [`StoreError::Duplicate`]; the caller retries.
    pub async fn record_policy_set(
        &self,
        set_digest: &str,
        policies: &serde_json::Value,
        blobs: &[(String, String)],
        recorded_by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let backend = self.backend();
        let txn = self.begin_write().await?;
        for (sha256, wasm) in blobs {
            let sql = "INSERT INTO policy_plugin_blobs (sha256, wasm_base64) VALUES (?, ?) \
                       ON CONFLICT (sha256) DO NOTHING";
            execute(&txn, sql, vec![sha256.clone().into(), wasm.clone().into()]).await?;
        }
        let max = MaxRow::find_by_statement(statement(
            backend,
            "SELECT MAX(generation) AS generation FROM policy_set_generations",
            vec![],
        ))
        .one(&txn)
        .await?
        .and_then(|row| row.generation)
        .unwrap_or(0);
        let generation = max + 1;
        let sql = "INSERT INTO policy_set_generations (generation, set_digest, policies, recorded_by, recorded_at) \
                   VALUES (?, ?, ?, ?, ?)";
        let values: Vec<Value> = vec![
            generation.into(),
            set_digest.into(),
            policies.clone().into(),
            recorded_by.into(),
            at.into(),
        ];
        execute(&txn, sql, values).await?;
        txn.commit().await?;
        Ok(generation)
    }

    /// The stored wasm (base64) of these digests; unknown ones are absent.
    pub async fn plugin_blobs(
        &self,
        digests: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT sha256, wasm_base64 FROM policy_plugin_blobs WHERE sha256 IN ({})",
            list_placeholders(digests.len())
        );
        let values = digests.iter().map(|d| Value::from(d.clone())).collect();
        Ok(self
            .fetch_all::<BlobRow>(&sql, values)
            .await?
            .into_iter()
            .map(|row| (row.sha256, row.wasm_base64))
            .collect())
    }

    /// Records a shadow disagreement.
    pub async fn insert_disagreement(&self, row: &DisagreementRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO policy_shadow_disagreements ({DISAGREEMENT_COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        let values: Vec<Value> = vec![
            row.decision_id.clone().into(),
            row.kind.clone().into(),
            row.tenant_id.clone().into(),
            row.live_digest.clone().into(),
            row.live_outcome.clone().into(),
            row.live_output.clone().into(),
            row.candidate_name.clone().into(),
            row.candidate_version.clone().into(),
            row.candidate_digest.clone().into(),
            row.candidate_outcome.clone().into(),
            row.candidate_output.clone().into(),
            row.decided_at.into(),
        ];
        self.write_sql(&sql, values).await?;
        Ok(())
    }

    /// Disagreements per kind, among `tenants` (`None`: all).
    pub async fn disagreement_counts(
        &self,
        tenants: Option<&[String]>,
    ) -> Result<Vec<DisagreementCount>, StoreError> {
        let (clause, values) = tenant_clause(tenants);
        let sql = format!(
            "SELECT kind, COUNT(*) AS disagreements FROM policy_shadow_disagreements {clause} \
             GROUP BY kind ORDER BY kind"
        );
        self.fetch_all(&sql, values).await
    }

    /// The latest `limit` disagreements among `tenants`, newest first.
    pub async fn recent_disagreements(
        &self,
        tenants: Option<&[String]>,
        limit: u64,
    ) -> Result<Vec<DisagreementRow>, StoreError> {
        let (clause, values) = tenant_clause(tenants);
        let sql = format!(
            "SELECT seq, {DISAGREEMENT_COLUMNS} FROM policy_shadow_disagreements {clause} \
             ORDER BY seq DESC LIMIT {limit}"
        );
        self.fetch_all(&sql, values).await
    }
}

/// `WHERE tenant_id IN (...)` for a tenant-scoped reader (none: no rows).
fn tenant_clause(tenants: Option<&[String]>) -> (String, Vec<Value>) {
    match tenants {
        None => (String::new(), Vec::new()),
        Some([]) => ("WHERE 1 = 0".to_owned(), Vec::new()),
        Some(list) => (
            format!("WHERE tenant_id IN ({})", list_placeholders(list.len())),
            list.iter().map(|t| Value::from(t.clone())).collect(),
        ),
    }
}
