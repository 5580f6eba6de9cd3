//! A dry-run request: validation, normalisation and the plan hash.
//!
//! `plan_hash` is the sha256 of the RFC 8785 form of the normalised inputs
//! (everything but `plan_id`): tables sorted, `sys_ids` sorted and
//! de-duplicated, decisions sorted, defaults filled in and the PIT written
//! in one UTC form. Two requests that mean the same restore therefore hash
//! the same, whatever order or spelling the client used.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::io::Write;

use super::super::canonical::{value_sha256_spliced, write_raw};
use super::super::DomainError;
use crate::policy::DeleteDecision;

/// Default rows per chunk.
pub const DEFAULT_CHUNK_SIZE: u32 = 500;

/// One table of the scope; no `sys_ids` means the whole table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeTable {
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sys_ids: Option<Vec<String>>,
}

/// An operator's decision on a delete candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionInput {
    pub candidate_id: String,
    pub decision: DeleteDecision,
}

/// An instance by tenant: where a plan reads its backup (the source) or
/// where it restores into (the target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRef {
    pub tenant_id: String,
    pub instance_id: String,
}

/// A dry-run request as the domain takes it.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub plan_id: Option<String>,
    /// The source: whose backup index is read.
    pub tenant_id: String,
    pub instance_id: String,
    /// Where to restore; `None` restores into the source.
    pub target: Option<InstanceRef>,
    pub pit: DateTime<Utc>,
    pub tables: Vec<ScopeTable>,
    pub delete_decisions: Vec<DecisionInput>,
    pub include_media: bool,
    pub chunk_size: Option<u32>,
}

/// The normalised inputs the plan hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInputs {
    /// The source.
    pub tenant_id: String,
    pub instance_id: String,
    /// The target when it is not the source (a target equal to the source
    /// is normalised away, so it hashes as a plan that names none, and a
    /// plan into its own source hashes as it always did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<InstanceRef>,
    #[serde(with = "crate::policy::timestamp")]
    pub pit: DateTime<Utc>,
    pub scope: Vec<ScopeTable>,
    pub delete_decisions: Vec<DecisionInput>,
    pub include_media: bool,
    pub chunk_size: u32,
}

impl PlanInputs {
    /// Normalises a request (merging repeated tables: a whole-table entry
    /// wins over `sys_ids` lists, which are unioned).
    pub fn normalise(request: &PlanRequest) -> Result<Self, DomainError> {
        if request.tables.is_empty() {
            return Err(DomainError::invalid(
                "scope.tables must name at least one table",
            ));
        }
        let mut tables: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
        for entry in &request.tables {
            let merged = match (tables.remove(&entry.table), &entry.sys_ids) {
                (Some(None), _) | (_, None) => None,
                (Some(Some(mut ids)), Some(more)) => {
                    ids.extend(more.iter().cloned());
                    Some(ids)
                }
                (None, Some(ids)) => Some(ids.clone()),
            };
            tables.insert(entry.table.clone(), merged);
        }
        let scope = tables
            .into_iter()
            .map(|(table, ids)| {
                let sys_ids = ids.map(|mut ids| {
                    ids.sort();
                    ids.dedup();
                    ids
                });
                ScopeTable { table, sys_ids }
            })
            .collect();
        if let Some(target) = &request.target {
            if target.tenant_id.is_empty() || target.instance_id.is_empty() {
                return Err(DomainError::invalid(
                    "target.tenant_id and target.instance_id must not be empty",
                ));
            }
        }
        let source = InstanceRef {
            tenant_id: request.tenant_id.clone(),
            instance_id: request.instance_id.clone(),
        };
        let target = request.target.clone().filter(|t| *t != source);
        Ok(Self {
            tenant_id: request.tenant_id.clone(),
            instance_id: request.instance_id.clone(),
            target,
            pit: request.pit,
            scope,
            delete_decisions: normalised_decisions(&request.delete_decisions),
            include_media: request.include_media,
            chunk_size: request.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE),
        })
    }

    /// sha256 of the canonical inputs, the delete decisions streamed into
    /// the hash (see [`Self::without_decisions`]).
    pub fn plan_hash(&self) -> Result<String, DomainError> {
        value_sha256_spliced(
            &self.without_decisions()?,
            &["delete_decisions"],
            &mut |out| write_decisions(out, &self.delete_decisions),
        )
    }

    /// These inputs as a JSON value whose `delete_decisions` is empty: the
    /// rest of a hashed document, the decisions (100,000 of them in a large
    /// delete, some 400,000 allocations as a value tree) written into the
    /// hash by [`write_decisions`].
    pub(crate) fn without_decisions(&self) -> Result<serde_json::Value, DomainError> {
        serde_json::to_value(PlanInputs {
            tenant_id: self.tenant_id.clone(),
            instance_id: self.instance_id.clone(),
            target: self.target.clone(),
            pit: self.pit,
            scope: self.scope.clone(),
            delete_decisions: Vec::new(),
            include_media: self.include_media,
            chunk_size: self.chunk_size,
        })
        .map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))
    }

    /// Where the backup is read.
    pub fn source(&self) -> InstanceRef {
        InstanceRef {
            tenant_id: self.tenant_id.clone(),
            instance_id: self.instance_id.clone(),
        }
    }

    /// Where the plan restores into: the named target, else the source.
    pub fn target(&self) -> InstanceRef {
        self.target.clone().unwrap_or_else(|| self.source())
    }

    /// The scoped table names, sorted.
    pub fn table_names(&self) -> Vec<String> {
        self.scope.iter().map(|t| t.table.clone()).collect()
    }
}

/// Decisions sorted by candidate id, one per candidate: the last one sent
/// for a candidate named twice wins (a stable sort keeps the request's
/// order among equal ids). Sorting references clones each decision once.
pub(crate) fn normalised_decisions(decisions: &[DecisionInput]) -> Vec<DecisionInput> {
    let mut sorted: Vec<&DecisionInput> = decisions.iter().collect();
    sorted.sort_by(|a, b| a.candidate_id.cmp(&b.candidate_id));
    let mut last: Vec<&DecisionInput> = Vec::with_capacity(sorted.len());
    for d in sorted {
        match last.last_mut() {
            Some(prev) if prev.candidate_id == d.candidate_id => *prev = d,
            _ => last.push(d),
        }
    }
    last.into_iter().cloned().collect()
}

/// Delete decisions in canonical form, comma-separated: each
/// `{"candidate_id":...,"decision":...}` (its members in key order, as
/// the canonical form of a [`DecisionInput`] value has them).
pub(crate) fn write_decisions(
    out: &mut dyn Write,
    decisions: &[DecisionInput],
) -> Result<(), DomainError> {
    let internal = |e: serde_json::Error| DomainError::Internal(format!("canonical JSON: {e}"));
    for (index, d) in decisions.iter().enumerate() {
        if index > 0 {
            write_raw(out, b",")?;
        }
        write_raw(out, b"{\"candidate_id\":")?;
        serde_json::to_writer(&mut *out, &d.candidate_id).map_err(internal)?;
        write_raw(out, b",\"decision\":")?;
        serde_json::to_writer(&mut *out, &d.decision).map_err(internal)?;
        write_raw(out, b"}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(tables: Vec<ScopeTable>, chunk: Option<u32>) -> PlanRequest {
        PlanRequest {
            plan_id: None,
            tenant_id: "acme".into(),
            instance_id: "prod".into(),
            target: None,
            pit: "2026-11-20T10:00:00Z".parse().unwrap(),
            tables,
            delete_decisions: vec![],
            include_media: true,
            chunk_size: chunk,
        }
    }

    fn t(name: &str, ids: Option<&[&str]>) -> ScopeTable {
        ScopeTable {
            table: name.into(),
            sys_ids: ids.map(|ids| ids.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn order_repeats_and_defaults_do_not_change_the_hash() {
        let a = PlanInputs::normalise(&request(
            vec![t("b", None), t("a", Some(&["2", "1"]))],
            None,
        ))
        .unwrap();
        let b = PlanInputs::normalise(&request(
            vec![t("a", Some(&["1", "2", "1"])), t("b", None)],
            Some(500),
        ))
        .unwrap();
        assert_eq!(a.plan_hash().unwrap(), b.plan_hash().unwrap());
        let c = PlanInputs::normalise(&request(vec![t("a", Some(&["1"])), t("b", None)], None))
            .unwrap();
        assert_ne!(a.plan_hash().unwrap(), c.plan_hash().unwrap());
    }

    #[test]
    fn a_whole_table_entry_wins_over_a_list() {
        let a = PlanInputs::normalise(&request(vec![t("a", Some(&["1"])), t("a", None)], None))
            .unwrap();
        assert_eq!(a.scope, vec![t("a", None)]);
    }

    #[test]
    fn a_target_is_hashed_and_the_source_as_target_is_not() {
        let plain = PlanInputs::normalise(&request(vec![t("a", None)], None)).unwrap();
        let mut same = request(vec![t("a", None)], None);
        same.target = Some(InstanceRef {
            tenant_id: "acme".into(),
            instance_id: "prod".into(),
        });
        let same = PlanInputs::normalise(&same).unwrap();
        assert_eq!(same.target, None);
        assert_eq!(plain.plan_hash().unwrap(), same.plan_hash().unwrap());
        let mut other = request(vec![t("a", None)], None);
        other.target = Some(InstanceRef {
            tenant_id: "acme".into(),
            instance_id: "sandbox".into(),
        });
        let other = PlanInputs::normalise(&other).unwrap();
        assert_eq!(other.target().instance_id, "sandbox");
        assert_eq!(other.source().instance_id, "prod");
        assert_ne!(plain.plan_hash().unwrap(), other.plan_hash().unwrap());
    }

    #[test]
    fn empty_scope_is_refused() {
        assert!(PlanInputs::normalise(&request(vec![], None)).is_err());
    }

    /// Decisions come out sorted by candidate id, one per candidate, the
    /// last one sent winning, whatever order they were sent in.
    #[test]
    fn repeated_decisions_keep_the_last_one_sent() {
        let d = |id: &str, decision| DecisionInput {
            candidate_id: id.into(),
            decision,
        };
        let mut req = request(vec![t("incident", None)], None);
        req.delete_decisions = vec![
            d("dc_b", DeleteDecision::AllowDeletion),
            d("dc_a", DeleteDecision::SkipDeletion),
            d("dc_b", DeleteDecision::SkipDeletion),
            d("dc_a", DeleteDecision::AllowDeletion),
            d("dc_c", DeleteDecision::AllowDeletion),
        ];
        let inputs = PlanInputs::normalise(&req).unwrap();
        assert_eq!(
            inputs.delete_decisions,
            vec![
                d("dc_a", DeleteDecision::AllowDeletion),
                d("dc_b", DeleteDecision::SkipDeletion),
                d("dc_c", DeleteDecision::AllowDeletion),
            ]
        );
    }
}
