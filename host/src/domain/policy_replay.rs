//! `rrs policy replay`: decides the inputs of the decision log again with a
//! candidate plugin and lists every decision the candidate makes
//! differently (another outcome or other reason codes), so a rule change
//! can be judged on a day of real traffic before it ships. It reads the
//! database the service uses (the CLI's database configuration) and
//! decides through the host's real engine path (the same loader, sandbox,
//! limits and output checks as `serve`); it writes nothing.

use chrono::{DateTime, Utc};

use super::policy_log::{logged_decision, LoggedDecision};
use crate::policy::{self, disagree, DecisionOutcome, PolicyKind, PolicyRef, PolicyRegistry};
use crate::store::decisions::DecisionFilter;
use crate::store::Store;

/// Rows read per query.
const PAGE: u64 = 500;

/// A recorded decision the candidate decides differently.
#[derive(Debug, Clone)]
pub struct ReplayDifference {
    pub decision_id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub decided_at: DateTime<Utc>,
    pub recorded_digest: String,
    pub recorded_outcome: DecisionOutcome,
    pub recorded_reasons: Vec<String>,
    pub candidate_outcome: DecisionOutcome,
    pub candidate_reasons: Vec<String>,
    pub candidate_output: serde_json::Value,
}

/// What a replay found.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub kind: PolicyKind,
    pub candidate: PolicyRef,
    /// Decisions decided again.
    pub replayed: usize,
    /// Decisions in the window logged before inputs were kept (skipped).
    pub without_input: usize,
    pub differences: Vec<ReplayDifference>,
}

impl ReplayReport {
    /// One line per difference, then a summary line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for d in &self.differences {
            out.push_str(&format!(
                "DIFF {} {} {}:{}: recorded {} {:?} -> candidate {} {:?}\n",
                d.decision_id,
                d.decided_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                d.subject_kind,
                d.subject_id,
                d.recorded_outcome,
                d.recorded_reasons,
                d.candidate_outcome,
                d.candidate_reasons,
            ));
        }
        out.push_str(&format!(
            "{} {} decisions replayed with {} {} (sha256 {}): {} differ, {} skipped without a recorded input\n",
            self.replayed,
            self.kind,
            self.candidate.name,
            self.candidate.version,
            self.candidate.digest,
            self.differences.len(),
            self.without_input,
        ));
        out
    }
}

/// Replays every `kind` decision logged in `[since, until)` with
/// `candidate` (a registry from [`policy::candidate_registry`]), with its
/// configured settings or `settings`.
pub async fn replay(
    store: &Store,
    candidate: &PolicyRegistry,
    kind: PolicyKind,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    settings: Option<&serde_json::Value>,
) -> anyhow::Result<ReplayReport> {
    let info = candidate
        .policy(kind)
        .ok_or_else(|| anyhow::anyhow!("no {kind} candidate loaded"))?;
    let filter = DecisionFilter {
        kind: Some(kind.as_str().to_owned()),
        since: Some(since),
        until,
        ..DecisionFilter::default()
    };
    let mut report = ReplayReport {
        kind,
        candidate: PolicyRef {
            name: info.name,
            version: info.version,
            digest: info.digest,
        },
        replayed: 0,
        without_input: 0,
        differences: Vec::new(),
    };
    let mut after = 0;
    loop {
        let rows = store.decisions_page(&filter, after, PAGE).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.seq;
        let full = rows.len() as u64 == PAGE;
        for row in rows {
            let logged = logged_decision(row).map_err(|e| anyhow::anyhow!("{e}"))?;
            replay_one(candidate, kind, logged, settings, &mut report)?;
        }
        if !full {
            break;
        }
    }
    Ok(report)
}

fn replay_one(
    candidate: &PolicyRegistry,
    kind: PolicyKind,
    logged: LoggedDecision,
    settings: Option<&serde_json::Value>,
    report: &mut ReplayReport,
) -> anyhow::Result<()> {
    let Some(input) = logged.input else {
        report.without_input += 1;
        return Ok(());
    };
    let decided = policy::commands::decide_value(candidate, kind, input, settings)?;
    report.replayed += 1;
    if disagree(
        logged.outcome,
        &logged.output,
        decided.outcome,
        &decided.output,
    ) {
        report.differences.push(ReplayDifference {
            decision_id: logged.decision_id,
            subject_kind: logged.subject_kind,
            subject_id: logged.subject_id,
            decided_at: logged.decided_at,
            recorded_digest: logged.policy.digest,
            recorded_reasons: policy::reason_codes(logged.outcome, &logged.output),
            recorded_outcome: logged.outcome,
            candidate_reasons: policy::reason_codes(decided.outcome, &decided.output),
            candidate_outcome: decided.outcome,
            candidate_output: decided.output,
        });
    }
    Ok(())
}
