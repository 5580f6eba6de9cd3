//! Shadow evaluation: a policy file may name a candidate plugin beside a
//! kind's live one. After the live decision is made (and returned), the
//! candidate decides the same input on a worker thread of its own, in its
//! own sandbox with its own deadline, and is never enforced. The two are
//! compared by outcome and reason codes; a disagreement (a candidate
//! failure included) is counted (`rrs_policy_shadow_disagreements_total`)
//! and handed to the domain, which records it.
//!
//! The live path only clones the input and queues a job: a candidate that
//! traps, loops to its deadline or exhausts memory costs the request
//! nothing. One worker thread runs the candidates one at a time, so a
//! looping candidate takes at most one core; when the queue is full
//! (`SHADOW_QUEUE` jobs) further evaluations are skipped and counted
//! (`rrs_policy_shadow_skipped_total`), never waited for.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::engine::PolicyEngine;
use super::kind::PolicyKind;
use super::record::{reason_codes, DecisionOutcome, PolicyRef};

/// Shadow jobs waiting for the worker; more are skipped.
pub(crate) const SHADOW_QUEUE: usize = 256;
/// Disagreements waiting for the domain to record them; more are dropped
/// (and counted).
const REPORT_QUEUE: usize = 1024;

/// One side of a compared decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowSide {
    pub policy: PolicyRef,
    pub outcome: DecisionOutcome,
    /// The output, or `{"policy_error", "message"}`.
    pub output: serde_json::Value,
}

/// A candidate that decided differently from the live plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowDisagreement {
    pub kind: PolicyKind,
    /// The live decision's id (in the decision log).
    pub decision_id: Uuid,
    /// The input's JSON (the decision log's `input`).
    pub input: String,
    pub live: ShadowSide,
    pub candidate: ShadowSide,
    pub decided_at: DateTime<Utc>,
}

/// Whether two decisions differ: another outcome or other reason codes.
pub fn disagree(
    a: DecisionOutcome,
    a_output: &serde_json::Value,
    b: DecisionOutcome,
    b_output: &serde_json::Value,
) -> bool {
    a != b || reason_codes(a, a_output) != reason_codes(b, b_output)
}

/// A queued candidate decision: runs the candidate, returns its side.
pub(crate) type CandidateCall = Box<dyn FnOnce(&PolicyEngine) -> ShadowSide + Send>;

pub(crate) struct ShadowJob {
    pub(crate) kind: PolicyKind,
    pub(crate) decision_id: Uuid,
    pub(crate) input: String,
    pub(crate) live: ShadowSide,
    pub(crate) run: CandidateCall,
}

/// A job with the registry it runs against.
type Queued = (ShadowJob, Arc<dyn EngineRef>);

/// The worker's queue and the disagreements it hands on.
pub(crate) struct ShadowRunner {
    jobs: Mutex<Option<SyncSender<Queued>>>,
    reports_tx: tokio::sync::mpsc::Sender<ShadowDisagreement>,
    reports_rx: Mutex<Option<tokio::sync::mpsc::Receiver<ShadowDisagreement>>>,
}

/// What the worker needs of the registry: its engine, held only while a job
/// runs.
pub(crate) trait EngineRef: Send + Sync {
    fn engine(&self) -> &PolicyEngine;
}

impl ShadowRunner {
    pub(crate) fn new() -> Self {
        let (reports_tx, reports_rx) = tokio::sync::mpsc::channel(REPORT_QUEUE);
        Self {
            jobs: Mutex::new(None),
            reports_tx,
            reports_rx: Mutex::new(Some(reports_rx)),
        }
    }

    /// The disagreements, for the one consumer that records them.
    pub(crate) fn take_reports(&self) -> Option<tokio::sync::mpsc::Receiver<ShadowDisagreement>> {
        self.reports_rx
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Queues a candidate decision; never blocks.
    pub(crate) fn submit(&self, job: ShadowJob, engine: Arc<dyn EngineRef>) {
        let kind = job.kind;
        let mut jobs = self
            .jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let sender = jobs.get_or_insert_with(|| self.spawn_worker());
        match sender.try_send((job, engine)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                metrics::counter!("rrs_policy_shadow_skipped_total", "kind" => kind.as_str())
                    .increment(1);
            }
            Err(TrySendError::Disconnected(_)) => {
                // The worker died (it cannot panic short of a bug); start a
                // new one for the next job.
                *jobs = None;
                metrics::counter!("rrs_policy_shadow_skipped_total", "kind" => kind.as_str())
                    .increment(1);
            }
        }
    }

    fn spawn_worker(&self) -> SyncSender<Queued> {
        let (tx, rx) = mpsc::sync_channel(SHADOW_QUEUE);
        let reports = self.reports_tx.clone();
        let spawned = std::thread::Builder::new()
            .name("rrs-policy-shadow".into())
            .spawn(move || work(&rx, &reports));
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the shadow policy worker; shadow decisions are skipped");
        }
        tx
    }
}

fn work(jobs: &Receiver<Queued>, reports: &tokio::sync::mpsc::Sender<ShadowDisagreement>) {
    while let Ok((job, engine)) = jobs.recv() {
        let candidate = (job.run)(engine.engine());
        drop(engine);
        let kind = job.kind.as_str();
        let differs = disagree(
            job.live.outcome,
            &job.live.output,
            candidate.outcome,
            &candidate.output,
        );
        let result = if differs { "disagree" } else { "agree" };
        metrics::counter!("rrs_policy_shadow_decisions_total", "kind" => kind, "result" => result)
            .increment(1);
        if !differs {
            continue;
        }
        metrics::counter!("rrs_policy_shadow_disagreements_total", "kind" => kind).increment(1);
        tracing::info!(kind, decision_id = %job.decision_id,
            live = %job.live.outcome, candidate = %candidate.outcome,
            candidate_digest = %candidate.policy.digest, "shadow candidate disagrees");
        let report = ShadowDisagreement {
            kind: job.kind,
            decision_id: job.decision_id,
            input: job.input,
            live: job.live,
            candidate,
            decided_at: Utc::now(),
        };
        if reports.try_send(report).is_err() {
            metrics::counter!("rrs_policy_shadow_unrecorded_total", "kind" => kind).increment(1);
        }
    }
}
