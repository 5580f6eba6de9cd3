//! The dry-run gate: the host gathers the facts (watermarks of every
//! partition feeding the scope, delete candidates and their decisions,
//! reference conflicts) and the gate policy plugin decides. A failing
//! plugin blocks the plan with `blocked_policy_error` (fail closed).

use chrono::{DateTime, Utc};

use super::super::index::from_micros;
use super::document::{
    DeleteCandidateDoc, GateDoc, PolicyDoc, PolicyErrorDoc, ReferenceConflictDoc, WatermarkDoc,
};
use super::request::InstanceRef;
use super::DomainError;
use crate::domain::ReasonCode;
use crate::policy::{
    Decision, DeleteCandidate, Freshness, GateInput, GateOutput, GateReason, GateTarget,
    PartitionFact, PolicyRegistry, ReferenceConflict,
};
use crate::store::decisions::DecisionRow;
use crate::store::index::WatermarkRow;

/// Everything the gate looks at.
pub struct GateFacts<'a> {
    pub plan_id: &'a str,
    pub tenant_id: &'a str,
    pub instance_id: &'a str,
    /// The instance restored into when it is not the source.
    pub target: Option<&'a InstanceRef>,
    /// The job an undo plan reverts.
    pub undo_of: Option<&'a str>,
    pub pit: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// `(topic, partition, stored watermark)` of every partition feeding the scope.
    pub partitions: Vec<(String, i32, Option<WatermarkRow>)>,
    pub tables_without_history: Vec<String>,
    pub delete_candidates: &'a [DeleteCandidateDoc],
    pub reference_conflicts: &'a [ReferenceConflictDoc],
}

impl From<GateReason> for ReasonCode {
    fn from(reason: GateReason) -> Self {
        match reason {
            GateReason::BlockedPolicyError => ReasonCode::BlockedPolicyError,
            GateReason::BlockedFreshnessUnknown => ReasonCode::BlockedFreshnessUnknown,
            GateReason::BlockedUnresolvedDeleteCandidates => {
                ReasonCode::BlockedUnresolvedDeleteCandidates
            }
            GateReason::BlockedReferenceConflict => ReasonCode::BlockedReferenceConflict,
            GateReason::BlockedFreshnessStale => ReasonCode::BlockedFreshnessStale,
        }
    }
}

/// The gate's outcome, ready for the document and the decision log.
pub struct GateResult {
    pub gate: GateDoc,
    pub watermarks: Vec<WatermarkDoc>,
    pub decision: DecisionRow,
}

/// Asks the gate policy, on tokio's blocking pool: the input grows with
/// the plan (100,000 delete candidates take the plugin ~0.15 s), and an
/// async worker must not stall that long. For a small plan the hand-off
/// costs tens of µs, next to a dry-run's milliseconds.
pub async fn decide(
    policies: &PolicyRegistry,
    facts: GateFacts<'_>,
) -> Result<GateResult, DomainError> {
    let input = gate_input(&facts);
    let registry = policies.clone();
    let (input, decision) = tokio::task::spawn_blocking(move || {
        let decision = registry.decide_gate(&input);
        (input, decision)
    })
    .await
    .map_err(|e| DomainError::Internal(format!("the gate decision did not finish: {e}")))?;
    Ok(result_of(&facts, &input, decision))
}

/// The plan's gate, watermarks and decision row from the policy's answer.
fn result_of(
    facts: &GateFacts<'_>,
    input: &GateInput,
    decision: Decision<GateOutput>,
) -> GateResult {
    let (output, policy_error) = match decision.result {
        Ok(output) => (output, None),
        Err(failure) => (
            GateOutput::policy_error(input.partitions.len()),
            Some(PolicyErrorDoc {
                kind: failure.kind,
                message: failure.message,
            }),
        ),
    };
    let watermarks = watermark_docs(facts, &output.partition_freshness);
    let record = decision.record;
    let gate = GateDoc {
        executability: output.executability,
        reason_code: output.reason_code.map(ReasonCode::from),
        reasons: output
            .reasons
            .iter()
            .copied()
            .map(ReasonCode::from)
            .collect(),
        policy: PolicyDoc {
            name: decision.policy.name,
            version: decision.policy.version,
            digest: decision.policy.digest,
        },
        decision_id: record.decision_id.to_string(),
        policy_error,
        tables_without_history: facts.tables_without_history.clone(),
    };
    let decision = DecisionRow {
        decision_id: record.decision_id.to_string(),
        kind: record.kind.as_str().to_owned(),
        policy_name: record.policy_name,
        policy_version: record.policy_version,
        policy_digest: record.policy_digest,
        policy_signer: record.policy_signer.as_ref().map(|s| s.key_name.clone()),
        policy_signer_fingerprint: record.policy_signer.map(|s| s.fingerprint),
        input_sha256: record.input_sha256,
        input: Some(record.input),
        tenant_id: Some(facts.tenant_id.to_owned()),
        output: record.output,
        outcome: record.outcome.as_str().to_owned(),
        subject_kind: "plan".to_owned(),
        subject_id: facts.plan_id.to_owned(),
        decided_at: record.decided_at,
    };
    GateResult {
        gate,
        watermarks,
        decision,
    }
}

fn gate_input(facts: &GateFacts<'_>) -> GateInput {
    let mut partitions: Vec<PartitionFact> = facts
        .partitions
        .iter()
        .map(|(topic, partition, wm)| PartitionFact {
            topic: topic.clone(),
            partition: *partition,
            watermark_time: wm.as_ref().map(|w| from_micros(w.watermark_time_us)),
        })
        .collect();
    // A scoped table with no history has no partition; it still must fail
    // closed, so it stands in as a partition without a watermark.
    partitions.extend(
        facts
            .tables_without_history
            .iter()
            .map(|table| PartitionFact {
                topic: format!("(no index records for table {table})"),
                partition: -1,
                watermark_time: None,
            }),
    );
    GateInput {
        tenant_id: facts.tenant_id.to_owned(),
        instance_id: facts.instance_id.to_owned(),
        target: facts.target.map(|t| GateTarget {
            tenant_id: t.tenant_id.clone(),
            instance_id: t.instance_id.clone(),
        }),
        undo_of_job: facts.undo_of.map(str::to_owned),
        pit: facts.pit,
        now: facts.now,
        partitions,
        delete_candidates: facts
            .delete_candidates
            .iter()
            .map(|c| DeleteCandidate {
                candidate_id: c.candidate_id.clone(),
                table: c.table.clone(),
                sys_id: c.sys_id.clone(),
                decision: c.decision,
            })
            .collect(),
        reference_conflicts: facts
            .reference_conflicts
            .iter()
            .map(|r| ReferenceConflict {
                table: r.table.clone(),
                sys_id: r.sys_id.clone(),
                field: r.field.clone(),
                referenced_table: r.referenced_table.clone(),
                referenced_sys_id: r.referenced_sys_id.clone(),
            })
            .collect(),
    }
}

fn watermark_docs(facts: &GateFacts<'_>, freshness: &[Freshness]) -> Vec<WatermarkDoc> {
    facts
        .partitions
        .iter()
        .enumerate()
        .map(|(i, (topic, partition, wm))| {
            let at = wm.as_ref().map(|w| from_micros(w.watermark_time_us));
            WatermarkDoc {
                tenant_id: facts.tenant_id.to_owned(),
                instance_id: facts.instance_id.to_owned(),
                topic: topic.clone(),
                partition: *partition,
                watermark_time: at,
                published_at: wm.as_ref().map(|w| w.published_at),
                lag_seconds: at.map(|at| (facts.now - at).num_seconds()),
                freshness: freshness.get(i).copied().unwrap_or(Freshness::Unknown),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::policy::{DeleteDecision, Executability, PolicyHostOptions};

    fn registry() -> PolicyRegistry {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/default.toml");
        PolicyRegistry::load(&file, PolicyHostOptions::default()).unwrap()
    }

    /// A target other than the source is in the gate's input (so in the
    /// decision's `input_sha256`) though the plugin decides the same.
    #[tokio::test]
    async fn the_decision_input_covers_the_target() {
        let registry = registry();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let sandbox = InstanceRef {
            tenant_id: "acme".into(),
            instance_id: "sandbox".into(),
        };
        let facts = |target| GateFacts {
            plan_id: "plan-1",
            tenant_id: "acme",
            instance_id: "prod",
            target,
            undo_of: None,
            pit: at("2026-11-20T10:00:00Z"),
            now: at("2026-11-20T10:30:00Z"),
            partitions: vec![("sn.acme.prod.incident".into(), 0, None)],
            tables_without_history: Vec::new(),
            delete_candidates: &[],
            reference_conflicts: &[],
        };
        let same = decide(&registry, facts(None)).await.unwrap();
        let elsewhere = decide(&registry, facts(Some(&sandbox))).await.unwrap();
        assert_ne!(same.decision.input_sha256, elsewhere.decision.input_sha256);
        assert_eq!(same.gate.reasons, elsewhere.gate.reasons);
        let input = gate_input(&facts(Some(&sandbox)));
        assert_eq!(input.tenant_id, "acme");
        assert_eq!(input.instance_id, "prod");
        assert_eq!(
            input.target.map(|t| t.instance_id),
            Some("sandbox".to_owned())
        );
    }

    /// On a single-threaded runtime, another task runs while the gate
    /// decides a large plan: the decision does not hold the async worker.
    /// (Decided inline, the other task could only run after it, and would
    /// find the decision over.)
    #[test]
    fn a_large_gate_decision_leaves_the_async_worker_free() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let registry = registry();
        let candidates: Vec<DeleteCandidateDoc> = (0..20_000)
            .map(|i| DeleteCandidateDoc {
                candidate_id: format!("cand-{i}"),
                table: "incident".into(),
                sys_id: format!("sys-{i}"),
                decision: Some(DeleteDecision::SkipDeletion),
            })
            .collect();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let facts = GateFacts {
            plan_id: "plan-1",
            tenant_id: "acme",
            instance_id: "prod",
            target: None,
            undo_of: None,
            pit: at("2026-11-20T10:00:00Z"),
            now: at("2026-11-20T10:30:00Z"),
            partitions: vec![("sn.acme.prod.incident".into(), 0, None)],
            tables_without_history: Vec::new(),
            delete_candidates: &candidates,
            reference_conflicts: &[],
        };
        let deciding = Arc::new(AtomicBool::new(false));
        let (result, ran_during) = runtime.block_on(async {
            let seen = Arc::clone(&deciding);
            let observer = tokio::spawn(async move { seen.load(Ordering::SeqCst) });
            deciding.store(true, Ordering::SeqCst);
            let result = decide(&registry, facts).await;
            deciding.store(false, Ordering::SeqCst);
            (result, observer.await.unwrap())
        });
        assert!(ran_during, "the other task only ran after the decision");
        let result = result.unwrap();
        // No watermark for the one partition: fail closed.
        assert_eq!(result.gate.executability, Executability::Blocked);
        assert_eq!(
            result.gate.reason_code,
            Some(ReasonCode::BlockedFreshnessUnknown)
        );
        assert_eq!(result.decision.subject_id, "plan-1");
    }
}
