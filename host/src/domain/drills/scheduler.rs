//! The drill scheduler: each replica looks now and then (`tick_seconds`)
//! for schedules whose slot is due, and runs those it manages to claim.
//!
//! The claim (`Store::claim_drill_schedule`) takes the schedule's lease
//! and moves its next slot on in one conditional update, so across
//! replicas a slot runs once and two drills of one schedule never overlap.
//! The next slot is the first after *now*, not after the missed slot: a
//! scheduler that comes back after missing several slots runs one drill,
//! not one per slot. A run left `running` by a replica that stopped (its
//! lease expired unreleased) is taken over by whoever claims the schedule
//! next: its job is ended, the sandbox put back from the job's journal,
//! and the drill re-run under the same run, so it is never left half-done.
//!
//! "Now" comes from the caller: the background loop passes the system
//! clock, tests pass their own to [`RestoreService::drill_tick`].

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::pipeline::{drill_principal, DRILL_OPERATOR};
use super::schedules::visible;
use super::{cleanup, runs, CronSpec, DrillOutcome, DrillRun, DrillTrigger, Schedule};
use crate::domain::job_lifecycle::Completion;
use crate::domain::job_states::JobStatus;
use crate::domain::principal::{Capability, Principal};
use crate::domain::{DomainError, ReasonCode, RestoreService};
use crate::store::drill_runs::{DrillRunRow, DrillRunUpdate, NewDrillRun};
use crate::store::drill_schedules::{DrillClaim, DrillScheduleRow};
use crate::store::jobs::JobListFilter;
use crate::store::StoreError;

/// What a claim is for.
#[derive(Debug, Clone, Copy)]
enum Claim {
    /// The due slot; the next slot moves on.
    Slot,
    /// A run by hand; the next slot stays.
    Manual,
}

impl RestoreService {
    /// One look at the schedules as of `now`: runs every due slot (and
    /// takes over every abandoned run) this replica claims; returns the
    /// runs it finished.
    pub async fn drill_tick(&self, now: DateTime<Utc>) -> Result<Vec<DrillRun>, DomainError> {
        let now_us = now.timestamp_micros();
        let mut done = Vec::new();
        for schedule_id in self.store.due_drill_schedules(now_us).await? {
            let Some(row) = self.store.drill_schedule(&schedule_id).await? else {
                continue;
            };
            done.extend(self.claim_and_run(row, Claim::Slot, now).await?);
        }
        if let Err(error) = self.store.prune_drill_runs(now_us).await {
            tracing::warn!(%error, "cannot prune expired drill runs");
        }
        Ok(done)
    }

    /// `POST /v1/admin/drills/schedules/{schedule_id}/run`: runs a drill
    /// now and answers its run; `409 drill_already_running` while one runs.
    pub async fn run_drill_now(
        &self,
        principal: &Principal,
        schedule_id: &str,
        now: DateTime<Utc>,
    ) -> Result<DrillRun, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let row = visible(&self.store, principal, schedule_id).await?;
        principal.require_tenant(&row.tenant_id)?;
        principal.require_tenant(&row.sandbox_tenant_id)?;
        let runs = self.claim_and_run(row, Claim::Manual, now).await?;
        runs.into_iter().last().ok_or_else(|| {
            DomainError::conflict(
                ReasonCode::DrillAlreadyRunning,
                format!(
                    "a drill of schedule {schedule_id} is running; see GET /v1/admin/drills/runs"
                ),
            )
        })
    }

    /// Claims the schedule and, under its lease, finishes abandoned runs
    /// and runs the slot; nothing when another replica holds it.
    async fn claim_and_run(
        &self,
        row: DrillScheduleRow,
        claim: Claim,
        now: DateTime<Utc>,
    ) -> Result<Vec<DrillRun>, DomainError> {
        let now_us = now.timestamp_micros();
        let due = matches!(claim, Claim::Manual) || row.next_due_us <= now_us;
        let next_due_us = match claim {
            Claim::Slot if due => CronSpec::parse(&row.cron)?
                .next_after(now)?
                .timestamp_micros(),
            _ => row.next_due_us,
        };
        let holder = format!("{}:{}", self.instance_id, uuid::Uuid::new_v4().simple());
        let lease = self.drill_lease();
        let taken = DrillClaim {
            now_us,
            until_us: now_us + lease.as_micros() as i64,
            expected_due_us: row.next_due_us,
            next_due_us,
        };
        if !self
            .store
            .claim_drill_schedule(&row.schedule_id, &holder, taken)
            .await?
        {
            return Ok(Vec::new());
        }
        let renewer = self.renew_while_running(&row.schedule_id, &holder);
        let result = self.run_claimed(&row, claim, due, &holder, now).await;
        renewer.abort();
        if let Err(error) = self
            .store
            .release_drill_lease(&row.schedule_id, &holder)
            .await
        {
            tracing::warn!(%error, schedule_id = row.schedule_id, "cannot release a drill lease");
        }
        result
    }

    async fn run_claimed(
        &self,
        row: &DrillScheduleRow,
        claim: Claim,
        due: bool,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<DrillRun>, DomainError> {
        let schedule = Schedule::try_from(row.clone())?;
        let mut done = Vec::new();
        for abandoned in self.store.running_drill_runs(&row.schedule_id).await? {
            done.push(self.take_over(&schedule, abandoned, holder, now).await?);
        }
        if !due {
            return Ok(done);
        }
        let (trigger, slot_us) = match claim {
            Claim::Slot => (DrillTrigger::Schedule, row.next_due_us),
            Claim::Manual => (DrillTrigger::Manual, now.timestamp_micros()),
        };
        let seed = rand::random::<i64>().abs();
        let new = NewDrillRun {
            run_id: format!("drr_{}", uuid::Uuid::new_v4().simple()),
            schedule_id: row.schedule_id.clone(),
            tenant_id: row.tenant_id.clone(),
            instance_id: row.instance_id.clone(),
            sandbox_tenant_id: row.sandbox_tenant_id.clone(),
            sandbox_instance_id: row.sandbox_instance_id.clone(),
            trigger_kind: trigger.as_str().to_owned(),
            slot_us,
            holder: holder.to_owned(),
            outcome: DrillOutcome::Running.as_str().to_owned(),
            started_at_us: now.timestamp_micros(),
            keep_until_us: (now + chrono::Duration::days(i64::from(schedule.retention_days)))
                .timestamp_micros(),
            sample_seed: schedule.sample_per_table.map(|_| seed),
        };
        match self.store.insert_drill_run(&new).await {
            Ok(()) => {}
            // The slot already has its run.
            Err(StoreError::Duplicate(_)) => return Ok(done),
            Err(error) => return Err(error.into()),
        }
        done.push(
            self.finish_run(&schedule, &new.run_id, seed, now, None)
                .await?,
        );
        Ok(done)
    }

    /// Runs the drill under `run_id` and stores what it found.
    async fn finish_run(
        &self,
        schedule: &Schedule,
        run_id: &str,
        seed: i64,
        now: DateTime<Utc>,
        note: Option<String>,
    ) -> Result<DrillRun, DomainError> {
        let mut finding = self.drill_once(schedule, run_id, seed, now).await;
        finding.finished_at_us = Some(Utc::now().max(now).timestamp_micros());
        if let Some(note) = note {
            let message = finding
                .message
                .take()
                .map_or(note.clone(), |m| format!("{note}; {m}"));
            finding.message = Some(message);
        }
        self.store.update_drill_run(run_id, &finding).await?;
        let stored = self
            .store
            .drill_run(run_id)
            .await?
            .ok_or_else(|| DomainError::Internal(format!("drill run {run_id} vanished")))?;
        let run = DrillRun::try_from(stored)?;
        runs::publish(&run);
        Ok(run)
    }

    /// A run whose replica stopped: its job is ended, whatever it wrote
    /// into the sandbox is put back, and the drill runs again under the
    /// same run (so its slot still has exactly one run).
    async fn take_over(
        &self,
        schedule: &Schedule,
        abandoned: DrillRunRow,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<DrillRun, DomainError> {
        tracing::warn!(
            run_id = abandoned.run_id,
            previous = abandoned.holder,
            holder,
            "taking over a drill run left by a replica that stopped"
        );
        let job_id = match (&abandoned.job_id, &abandoned.plan_id) {
            (Some(job_id), _) => Some(job_id.clone()),
            (None, Some(plan_id)) => self.unended_job_of(schedule, plan_id).await?,
            (None, None) => None,
        };
        if let Some(job_id) = &job_id {
            self.end_abandoned_job(schedule, job_id).await;
            cleanup::put_back(self, &schedule.sandbox, job_id).await?;
        }
        let reset = DrillRunUpdate {
            outcome: DrillOutcome::Running.as_str().to_owned(),
            ..DrillRunUpdate::default()
        };
        self.store
            .update_drill_run(&abandoned.run_id, &reset)
            .await?;
        let seed = abandoned.sample_seed.unwrap_or(0);
        let note = format!(
            "re-run after taking over from {} (its job {} was ended and the sandbox put back)",
            abandoned.holder,
            job_id.as_deref().unwrap_or("none")
        );
        self.finish_run(schedule, &abandoned.run_id, seed, now, Some(note))
            .await
    }

    /// A queued or running job of the sandbox made from `plan_id` (one
    /// created just before its replica stopped, not yet on the run).
    async fn unended_job_of(
        &self,
        schedule: &Schedule,
        plan_id: &str,
    ) -> Result<Option<String>, DomainError> {
        for status in [JobStatus::Running, JobStatus::Queued] {
            let filter = JobListFilter {
                status: Some(status.as_str().to_owned()),
                tenant_id: Some(schedule.sandbox.tenant_id.clone()),
                instance_id: Some(schedule.sandbox.instance_id.clone()),
                limit: 1000,
                ..JobListFilter::default()
            };
            let jobs = self.store.jobs(&filter).await?;
            if let Some(job) = jobs.into_iter().find(|j| j.plan_id == plan_id) {
                return Ok(Some(job.job_id));
            }
        }
        Ok(None)
    }

    /// Cancels the abandoned job if it has not ended, so its locks on the
    /// sandbox go.
    async fn end_abandoned_job(&self, schedule: &Schedule, job_id: &str) {
        let completion = Completion {
            status: JobStatus::Cancelled,
            reason_code: None,
            actor: DRILL_OPERATOR.to_owned(),
            note: Some("its drill was taken over by another replica".to_owned()),
        };
        let principal = drill_principal(schedule);
        match self
            .complete_job(&principal, job_id, completion, Utc::now())
            .await
        {
            Ok(_) => {}
            Err(DomainError::Conflict {
                reason_code: ReasonCode::JobAlreadyTerminal,
                ..
            }) => {}
            Err(error) => tracing::warn!(%error, job_id, "cannot end an abandoned drill job"),
        }
    }

    fn drill_lease(&self) -> Duration {
        Duration::from_secs(self.config.drills.lease_seconds.max(1))
    }

    /// Extends the lease every third of its life while the drill runs.
    fn renew_while_running(&self, schedule_id: &str, holder: &str) -> tokio::task::JoinHandle<()> {
        let (store, lease) = (self.store.clone(), self.drill_lease());
        let (schedule_id, holder) = (schedule_id.to_owned(), holder.to_owned());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = (Utc::now() + lease).timestamp_micros();
                if let Err(error) = store.renew_drill_lease(&schedule_id, &holder, until).await {
                    tracing::warn!(%error, schedule_id, "cannot renew a drill lease");
                }
            }
        })
    }

    /// Looks for due drills every `drills.tick_seconds` (never when 0)
    /// until the task is aborted.
    pub fn spawn_drill_scheduler(&self) -> tokio::task::JoinHandle<()> {
        runs::describe();
        let svc = self.clone();
        tokio::spawn(async move {
            let every = svc.config.drills.tick_seconds;
            if every == 0 {
                return;
            }
            let mut ticker = tokio::time::interval(Duration::from_secs(every));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = svc.drill_tick(Utc::now()).await {
                    tracing::warn!(%error, "the drill scheduler's tick failed");
                }
            }
        })
    }
}
