//! The gate of a plugin built against `rrs:policy@1.0.0`: the same call
//! through the 1.0.0 bindings. Its input is the current one less what 1.1.0
//! added (`context`); its output, unchanged since, is converted back so the
//! host checks and records it as any other.

use super::bindings::gate_v1_0_wit as old;
use super::bindings::gate_wit as wit;

/// The current input as a 1.0.0 plugin takes it.
pub(crate) fn input(i: &wit::GateInput) -> old::GateInput {
    old::GateInput {
        tenant_id: i.tenant_id.clone(),
        instance_id: i.instance_id.clone(),
        pit: i.pit,
        now: i.now,
        partitions: i
            .partitions
            .iter()
            .map(|p| old::PartitionFact {
                topic: p.topic.clone(),
                partition: p.partition,
                watermark_time: p.watermark_time,
                lag_seconds: p.lag_seconds,
            })
            .collect(),
        delete_candidates: i
            .delete_candidates
            .iter()
            .map(|c| old::DeleteCandidate {
                candidate_id: c.candidate_id.clone(),
                table: c.table.clone(),
                sys_id: c.sys_id.clone(),
                decision: c.decision.map(|d| match d {
                    wit::DeleteDecision::AllowDeletion => old::DeleteDecision::AllowDeletion,
                    wit::DeleteDecision::SkipDeletion => old::DeleteDecision::SkipDeletion,
                }),
            })
            .collect(),
        reference_conflicts: i
            .reference_conflicts
            .iter()
            .map(|r| old::ReferenceConflict {
                table: r.table.clone(),
                sys_id: r.sys_id.clone(),
                field: r.field.clone(),
                referenced_table: r.referenced_table.clone(),
                referenced_sys_id: r.referenced_sys_id.clone(),
            })
            .collect(),
    }
}

/// A 1.0.0 plugin's answer as the current type.
pub(crate) fn output(o: old::GateOutput) -> wit::GateOutput {
    let reason = |r: old::GateReason| match r {
        old::GateReason::FreshnessUnknown => wit::GateReason::FreshnessUnknown,
        old::GateReason::UnresolvedDeleteCandidates => wit::GateReason::UnresolvedDeleteCandidates,
        old::GateReason::ReferenceConflict => wit::GateReason::ReferenceConflict,
        old::GateReason::FreshnessStale => wit::GateReason::FreshnessStale,
    };
    wit::GateOutput {
        executability: match o.executability {
            old::Executability::Executable => wit::Executability::Executable,
            old::Executability::PreviewOnly => wit::Executability::PreviewOnly,
            old::Executability::Blocked => wit::Executability::Blocked,
        },
        reason_code: o.reason_code.map(reason),
        reasons: o.reasons.into_iter().map(reason).collect(),
        partition_freshness: o
            .partition_freshness
            .into_iter()
            .map(|f| match f {
                old::Freshness::Fresh => wit::Freshness::Fresh,
                old::Freshness::Stale => wit::Freshness::Stale,
                old::Freshness::Unknown => wit::Freshness::Unknown,
            })
            .collect(),
    }
}
