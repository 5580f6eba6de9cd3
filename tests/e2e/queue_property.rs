//! Property test of the lock queue on a real database (SQLite by default,
//! PostgreSQL with `RRS_TEST_DATABASE_URL`): random sequences of job
//! creation and completion over random table sets. After every step the
//! stored state must satisfy the queue's invariants on its own (no tuple
//! with two running jobs; no job waiting while all its tuples are free and
//! no earlier job wants them; first-come-first-served per tuple), match a
//! plain model of the rules exactly (statuses, promotions in order, queue
//! metadata), and every ended job must have exactly one terminal event.

use std::collections::BTreeSet;

use chrono::Utc;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rrs::domain::job_lifecycle;
use rrs::domain::job_states::{JobStatus, QueueInfo};
use rrs::domain::jobs;
use rrs::domain::queue::{self, JobFinish};
use rrs::domain::{DomainError, ReasonCode};
use rrs::store::job_queue::NewJob;
use rrs::store::jobs::JobListFilter;
use rrs::store::Store;
use rrs_tests::queue::{check_invariants, QueuedJob};
use rrs_tests::TestDatabase;

const TABLES: usize = 5;

#[derive(Debug, Clone)]
enum Op {
    Create(Vec<usize>),
    Finish { pick: usize, status: JobStatus },
}

fn op() -> impl Strategy<Value = Op> {
    let terminal = prop_oneof![
        Just(JobStatus::Completed),
        Just(JobStatus::Failed),
        Just(JobStatus::Cancelled)
    ];
    prop_oneof![
        3 => proptest::collection::btree_set(0..TABLES, 1..=3)
            .prop_map(|set| Op::Create(set.into_iter().collect())),
        2 => (any::<usize>(), terminal).prop_map(|(pick, status)| Op::Finish { pick, status }),
    ]
}

/// The rules, stated plainly: jobs in creation order with their status.
#[derive(Debug, Default)]
struct Model {
    jobs: Vec<(String, BTreeSet<String>, JobStatus)>,
}

impl Model {
    fn live_wants(&self, before: usize, tables: &BTreeSet<String>) -> bool {
        self.jobs[..before]
            .iter()
            .any(|(_, t, s)| !s.is_terminal() && !t.is_disjoint(tables))
    }

    fn create(&mut self, id: String, tables: BTreeSet<String>) -> JobStatus {
        let status = if self.live_wants(self.jobs.len(), &tables) {
            JobStatus::Queued
        } else {
            JobStatus::Running
        };
        self.jobs.push((id, tables, status));
        status
    }

    /// Ends job `index`; returns the promoted ids in order.
    fn finish(&mut self, index: usize, status: JobStatus) -> Vec<String> {
        self.jobs[index].2 = status;
        let mut promoted = Vec::new();
        for i in 0..self.jobs.len() {
            if self.jobs[i].2 == JobStatus::Queued && !self.live_wants(i, &self.jobs[i].1) {
                self.jobs[i].2 = JobStatus::Running;
                promoted.push(self.jobs[i].0.clone());
            }
        }
        promoted
    }

    /// (queue_position, blocking ids) of a queued job.
    fn queue_of(&self, index: usize) -> (i64, Vec<String>) {
        let tables = &self.jobs[index].1;
        let ahead: Vec<_> = self.jobs[..index]
            .iter()
            .filter(|(_, t, s)| !s.is_terminal() && !t.is_disjoint(tables))
            .collect();
        let earlier_queued = ahead.iter().filter(|(_, _, s)| *s == JobStatus::Queued);
        (
            1 + earlier_queued.count() as i64,
            ahead.iter().map(|(id, _, _)| id.clone()).collect(),
        )
    }
}

struct Case<'a> {
    store: &'a Store,
    instance: String,
    model: Model,
}

impl Case<'_> {
    async fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Create(picked) => {
                let tables: BTreeSet<String> = picked.iter().map(|t| format!("t{t}")).collect();
                let job_id = format!("job_{}_{}", self.instance, self.model.jobs.len());
                let row = queue::admit(self.store, self.new_job(&job_id, &tables), Utc::now())
                    .await
                    .map_err(fail)?;
                let expected = self.model.create(job_id, tables);
                prop_assert_eq!(row.status.as_str(), expected.as_str());
                prop_assert_eq!(row.started_at.is_some(), expected == JobStatus::Running);
            }
            Op::Finish { pick, status } if !self.model.jobs.is_empty() => {
                let index = pick % self.model.jobs.len();
                self.finish(index, *status).await?;
            }
            Op::Finish { .. } => {}
        }
        self.check().await
    }

    fn new_job(&self, job_id: &str, tables: &BTreeSet<String>) -> NewJob {
        NewJob {
            job_id: job_id.to_owned(),
            plan_id: "plan".into(),
            plan_hash: "hash".into(),
            tenant_id: "acme".into(),
            instance_id: self.instance.clone(),
            tables: tables.iter().cloned().collect(),
            status: String::new(),
            execution_state: String::new(),
            operator_id: "ops".into(),
            created_at: Utc::now(),
        }
    }

    async fn finish(&mut self, index: usize, status: JobStatus) -> Result<(), TestCaseError> {
        let job_id = self.model.jobs[index].0.clone();
        let was_terminal = self.model.jobs[index].2.is_terminal();
        let finish = JobFinish {
            status,
            reason_code: ReasonCode::FailedInternalError,
            actor: "prop".into(),
            details: Default::default(),
            evidence_owed: false,
        };
        let outcome = job_lifecycle::finish(self.store, &job_id, finish, Utc::now()).await;
        match outcome {
            Err(DomainError::Conflict { reason_code, .. }) if was_terminal => {
                prop_assert_eq!(reason_code, ReasonCode::JobAlreadyTerminal);
            }
            Ok(finished) if !was_terminal => {
                let expected = self.model.finish(index, status);
                prop_assert_eq!(&finished.promoted_job_ids, &expected);
                prop_assert_eq!(finished.job.status, status);
                prop_assert_eq!(finished.job.queue, QueueInfo::default());
            }
            other => return Err(fail(format!("finish {job_id}: {other:?}"))),
        }
        self.check_one_terminal_event(&job_id).await
    }

    async fn check_one_terminal_event(&self, job_id: &str) -> Result<(), TestCaseError> {
        let job = self
            .store
            .job(job_id)
            .await
            .map_err(fail)?
            .ok_or_else(|| fail("gone"))?;
        let events = self
            .store
            .job_events(job.job_seq, None, 1000)
            .await
            .map_err(fail)?;
        let terminal = events.iter().filter(|e| e.terminal).count();
        prop_assert_eq!(terminal, 1, "{} has {} terminal events", job_id, terminal);
        let last = events.last().ok_or_else(|| fail("no events"))?;
        prop_assert!(last.terminal, "the terminal event is the last");
        Ok(())
    }

    /// Reads the stored jobs (oldest first) and checks them.
    async fn check(&self) -> Result<(), TestCaseError> {
        let filter = JobListFilter {
            tenant_id: Some("acme".into()),
            instance_id: Some(self.instance.clone()),
            limit: 10_000,
            ..Default::default()
        };
        let rows = self.store.jobs(&filter).await.map_err(fail)?;
        let mut stored = Vec::new();
        for row in rows {
            stored.push(jobs::view(self.store, row).await.map_err(fail)?);
        }
        let snapshot: Vec<QueuedJob> = stored
            .iter()
            .map(|j| QueuedJob {
                job_id: j.job_id.clone(),
                tables: j.tables.iter().cloned().collect(),
                status: j.status.as_str().to_owned(),
            })
            .collect();
        check_invariants(&snapshot).map_err(fail)?;
        prop_assert_eq!(stored.len(), self.model.jobs.len());
        for (index, (job, (id, _, status))) in stored.iter().zip(&self.model.jobs).enumerate() {
            prop_assert_eq!(&job.job_id, id);
            prop_assert_eq!(job.status, *status, "status of {}", id);
            if *status == JobStatus::Queued {
                let (position, blocking) = self.model.queue_of(index);
                prop_assert_eq!(job.queue.queue_position, Some(position));
                let shown = rrs::domain::queue::BLOCKING_JOB_IDS_SHOWN.min(blocking.len());
                prop_assert_eq!(&job.queue.blocking_job_ids, &blocking[..shown].to_vec());
                prop_assert_eq!(job.queue.blocking_job_count, blocking.len() as i64);
                prop_assert_eq!(
                    job.queue.wait_reason_code,
                    Some(ReasonCode::WaitingTableLock)
                );
            } else {
                prop_assert_eq!(&job.queue, &QueueInfo::default());
            }
        }
        Ok(())
    }
}

fn fail(error: impl std::fmt::Debug) -> TestCaseError {
    TestCaseError::fail(format!("{error:?}"))
}

#[test]
fn random_create_and_complete_sequences_keep_the_queue_invariants() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(TestDatabase::create());
    let store = runtime.block_on(async {
        let store = Store::connect(&database.url, &Default::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    });
    let cases = std::env::var("RRS_QUEUE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let ops = proptest::collection::vec(op(), 1..40);
    let result = runner.run(&ops, |ops| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut case = Case {
            store: &store,
            instance: format!("i{n}"),
            model: Model::default(),
        };
        runtime.block_on(async {
            for op in &ops {
                case.step(op).await?;
            }
            Ok(())
        })
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
