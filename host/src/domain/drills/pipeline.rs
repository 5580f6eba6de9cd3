//! One drill, through the real pipeline: choose the point in time just
//! behind the source's watermarks, dry-run a restore of the schedule's
//! scope into the sandbox, create the job and execute it, verify every
//! restored row against the backup, export the evidence package, and put
//! the sandbox back as it was. Nothing here simulates a step: the drill
//! runs the same service methods an operator would call, as a principal
//! that may act on the schedule's two tenants only.
//!
//! The outcome separates a source that may not be restored now (the
//! gate's freshness refusals, a sandbox locked by another job: `skipped`)
//! from a restore that does not work (`failed`).

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::outcome::{after_cleanup, decided, ended, failure_reason, refused, Finding};
use super::{cleanup, verify, DrillOutcome, Schedule};
use crate::domain::execute::view::ExecutionPhase;
use crate::domain::execute::{ExecOutcome, Exercise};
use crate::domain::job_lifecycle::{Completion, CreateJob};
use crate::domain::job_states::JobStatus;
use crate::domain::plan::document::PlanDocument;
use crate::domain::plan::request::{DecisionInput, PlanRequest};
use crate::domain::principal::{Capability, Principal, TenantScope};
use crate::domain::{DomainError, ReasonCode, RestoreService};
use crate::policy::{DeleteDecision, Executability};

/// The operator id drills act as, in jobs, events and evidence.
pub const DRILL_OPERATOR: &str = "rrs-drill-scheduler";

/// The principal a drill acts as: what a restore into the sandbox needs,
/// on the schedule's tenants only.
pub fn drill_principal(schedule: &Schedule) -> Principal {
    let tenants: BTreeSet<String> = [&schedule.source.tenant_id, &schedule.sandbox.tenant_id]
        .into_iter()
        .cloned()
        .collect();
    Principal {
        token_id: format!("drill:{}", schedule.schedule_id),
        operator_id: DRILL_OPERATOR.to_owned(),
        capabilities: [
            Capability::RestoreRead,
            Capability::RestorePlan,
            Capability::RestoreExecute,
            Capability::RestoreDelete,
            Capability::EvidenceExport,
        ]
        .into_iter()
        .collect(),
        tenants: TenantScope::Only(tenants),
        expires_at: None,
    }
}

impl RestoreService {
    /// Runs one drill of `schedule` as of `now`; `seed` picks the sample.
    /// Every error of a step is an outcome, never an error of the call.
    pub async fn drill_once(
        &self,
        schedule: &Schedule,
        run_id: &str,
        seed: i64,
        now: DateTime<Utc>,
    ) -> Finding {
        let principal = drill_principal(schedule);
        let mut finding = Finding {
            outcome: DrillOutcome::Running.as_str().to_owned(),
            ..Finding::default()
        };
        let plan = match self
            .drill_plan(&principal, schedule, seed, now, &mut finding)
            .await
        {
            Ok(Some(plan)) => plan,
            Ok(None) => return finding,
            Err(error) => {
                let reason = failure_reason(&error);
                return refused(finding, reason, format!("dry-run: {error}"));
            }
        };
        let finding = self
            .drill_restore(&principal, schedule, &plan, run_id, finding)
            .await;
        self.drill_finish(&principal, schedule, &plan, finding)
            .await
    }

    /// The PIT, the scope and the executable plan into the sandbox; `None`
    /// (with the finding ended) when the gate refuses it.
    async fn drill_plan(
        &self,
        principal: &Principal,
        schedule: &Schedule,
        seed: i64,
        now: DateTime<Utc>,
        finding: &mut Finding,
    ) -> Result<Option<PlanDocument>, DomainError> {
        let pit = self.drill_pit(schedule, now).await?;
        finding.pit_us = Some(pit.timestamp_micros());
        finding.recovery_point_seconds =
            Some((now - pit).num_microseconds().unwrap_or(0) as f64 / 1e6);
        let tables = self.drill_scope(schedule, pit, seed).await?;
        let mut request = PlanRequest {
            plan_id: None,
            tenant_id: schedule.source.tenant_id.clone(),
            instance_id: schedule.source.instance_id.clone(),
            target: Some(schedule.sandbox.clone()),
            pit,
            tables,
            delete_decisions: Vec::new(),
            include_media: false,
            chunk_size: None,
        };
        let (mut plan, _) = self.dry_run(principal, request.clone(), now).await?;
        if plan.gate.reason_code == Some(ReasonCode::BlockedUnresolvedDeleteCandidates) {
            // Records only the sandbox has go: the sandbox must equal the backup.
            request.delete_decisions = plan
                .delete_candidates
                .iter()
                .map(|c| DecisionInput {
                    candidate_id: c.candidate_id.clone(),
                    decision: DeleteDecision::AllowDeletion,
                })
                .collect();
            plan = self.dry_run(principal, request, now).await?.0;
        }
        finding.plan_id = Some(plan.plan_id.clone());
        if plan.gate.executability == Executability::Executable {
            return Ok(Some(plan));
        }
        let reason = plan
            .gate
            .reason_code
            .unwrap_or(ReasonCode::BlockedPlanNotExecutable);
        *finding = refused(
            finding.clone(),
            reason,
            format!(
                "the gate refused the drill's plan {}: {reason}",
                plan.plan_id
            ),
        );
        Ok(None)
    }
    /// The job and its execution, timed; the finding carries the job id
    /// as soon as it exists.
    async fn drill_restore(
        &self,
        principal: &Principal,
        schedule: &Schedule,
        plan: &PlanDocument,
        run_id: &str,
        mut finding: Finding,
    ) -> Finding {
        // The plan is on the run before its job exists, so a replica taking
        // the run over finds a job created just before this one stopped.
        if let Err(error) = self.store.update_drill_run(run_id, &finding).await {
            tracing::warn!(%error, run_id, "cannot record the drill's plan");
        }
        let started = Instant::now();
        let create = CreateJob {
            plan_id: plan.plan_id.clone(),
            plan_hash: plan.plan_hash.clone(),
        };
        let job = match self.create_job(principal, create, Utc::now()).await {
            Ok(job) => job,
            Err(error) => {
                let reason = failure_reason(&error);
                return refused(finding, reason, format!("job: {error}"));
            }
        };
        finding.job_id = Some(job.job_id.clone());
        if let Err(error) = self.store.update_drill_run(run_id, &finding).await {
            tracing::warn!(%error, run_id, "cannot record the drill's job");
        }
        if job.status == JobStatus::Queued {
            return self
                .drill_give_up_queued(principal, schedule, &job.job_id, finding)
                .await;
        }
        let executed = self
            .execute_job(principal, &job.job_id, Exercise::default(), None)
            .await;
        let elapsed = started.elapsed();
        finding.restore_ms = Some(elapsed.as_millis() as i64);
        let rows = plan.summary.creates
            + plan.summary.updates
            + plan.summary.deletes
            + plan.summary.unchanged;
        finding.rows_per_second = Some(rows as f64 / elapsed.as_secs_f64().max(1e-6));
        match executed {
            Ok(ExecOutcome::Terminal(view)) if view.state == ExecutionPhase::Completed => finding,
            Ok(ExecOutcome::Terminal(view) | ExecOutcome::Paused(view)) => {
                let code = view
                    .status_reason_code
                    .map(ReasonCode::as_str)
                    .unwrap_or("none");
                ended(
                    finding,
                    DrillOutcome::Failed,
                    ReasonCode::DrillRestoreFailed,
                    format!(
                        "the drill's job {} ended {} ({code})",
                        job.job_id,
                        view.state.as_str()
                    ),
                )
            }
            Err(error) => ended(
                finding,
                DrillOutcome::Failed,
                ReasonCode::DrillRestoreFailed,
                format!("execution of job {}: {error}", job.job_id),
            ),
        }
    }

    /// The sandbox is locked by another job: the drill's job is cancelled
    /// and the drill skipped.
    async fn drill_give_up_queued(
        &self,
        principal: &Principal,
        schedule: &Schedule,
        job_id: &str,
        finding: Finding,
    ) -> Finding {
        let completion = Completion {
            status: JobStatus::Cancelled,
            reason_code: None,
            actor: DRILL_OPERATOR.to_owned(),
            note: Some(format!(
                "drill of schedule {} gave way",
                schedule.schedule_id
            )),
        };
        if let Err(error) = self
            .complete_job(principal, job_id, completion, Utc::now())
            .await
        {
            tracing::warn!(%error, job_id, "cannot cancel a queued drill job");
        }
        ended(
            finding,
            DrillOutcome::Skipped,
            ReasonCode::WaitingTableLock,
            "another job holds the sandbox's tables; the drill's job was cancelled".to_owned(),
        )
    }

    /// Verification (when the restore completed), the evidence package,
    /// and the sandbox put back; the outcome if nothing failed before.
    pub(super) async fn drill_finish(
        &self,
        principal: &Principal,
        schedule: &Schedule,
        plan: &PlanDocument,
        mut finding: Finding,
    ) -> Finding {
        let Some(job_id) = finding.job_id.clone() else {
            return finding;
        };
        let restored = finding.outcome == DrillOutcome::Running.as_str();
        if restored {
            match verify::verify(self, schedule, plan).await {
                Ok(checked) => {
                    finding.rows_verified = checked.verified;
                    finding.rows_mismatched = checked.mismatches.len() as i64;
                    finding.mismatches = serde_json::to_value(&checked.mismatches).ok();
                }
                Err(error) => {
                    finding = ended(
                        finding,
                        DrillOutcome::Failed,
                        ReasonCode::DrillRestoreFailed,
                        format!("verification: {error}"),
                    );
                }
            }
            match self.export_evidence(principal, &job_id).await {
                Ok(package) => finding.manifest_sha256 = Some(package.manifest_sha256),
                Err(error) => tracing::warn!(%error, job_id, "the drill's evidence package failed"),
            }
        }
        let put_back = cleanup::put_back(self, &schedule.sandbox, &job_id).await;
        let finding = after_cleanup(finding, put_back, &job_id);
        if finding.outcome != DrillOutcome::Running.as_str() {
            return finding;
        }
        decided(finding)
    }
}
