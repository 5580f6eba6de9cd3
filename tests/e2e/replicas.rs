//! Two server processes on one database take concurrent job creations and
//! completions; the lock queue must behave as if there were one. After
//! every round the jobs (read from either replica) satisfy the queue's
//! invariants; every job is promoted at most once and exactly the promoted
//! ones say so in their events; a job completed at both replicas at once
//! ends once; every ended job has exactly one terminal event.
//!
//! Replicas normally share PostgreSQL (`RRS_TEST_DATABASE_URL`); on the
//! default SQLite the processes share the database file, which SQLite's
//! file locking also serialises.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::{join_all, BoxFuture};
use futures::FutureExt;
use reqwest::StatusCode;
use rrs_tests::process::ServerProcess;
use rrs_tests::queue::{check_invariants, QueuedJob};
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

const SERVER: &str = env!("CARGO_BIN_EXE_rrs-e2e-server");
const TABLE_SETS: [&[&str]; 6] = [
    &["t0"],
    &["t1"],
    &["t0", "t1"],
    &["t1", "t2"],
    &["t2"],
    &["t0", "t2", "t3"],
];

/// A small deterministic generator (splitmix64), so a failure replays.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

enum Sent {
    Created(Reply),
    Completed(String, Reply),
}

#[derive(Default)]
struct Tally {
    /// Job id -> how many completion responses promoted it.
    promoted: BTreeMap<String, usize>,
    created: Vec<String>,
}

impl Tally {
    fn record(&mut self, sent: Sent) {
        match sent {
            Sent::Created(reply) => {
                assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
                self.created
                    .push(reply.body["job_id"].as_str().unwrap().to_owned());
            }
            Sent::Completed(_, reply) if reply.status == StatusCode::OK => {
                for id in reply.body["promoted_job_ids"].as_array().unwrap() {
                    *self
                        .promoted
                        .entry(id.as_str().unwrap().to_owned())
                        .or_default() += 1;
                }
            }
            Sent::Completed(job_id, reply) => {
                assert_eq!(
                    reply.status,
                    StatusCode::CONFLICT,
                    "{job_id}: {:?}",
                    reply.body
                );
                assert_eq!(reply.reason(), "job_already_terminal");
            }
        }
    }
}

fn create<'a>(replica: &'a ServerProcess, plan: &'a (String, String)) -> BoxFuture<'a, Sent> {
    async move {
        let body = json!({"plan_id": plan.0, "plan_hash": plan.1});
        Sent::Created(replica.post("/v1/jobs", &body).await)
    }
    .boxed()
}

fn complete<'a>(
    replica: &'a ServerProcess,
    job_id: String,
    status: &'static str,
) -> BoxFuture<'a, Sent> {
    async move {
        let body = json!({"status": status, "actor": "replica-test"});
        let reply = replica
            .post(&format!("/v1/jobs/{job_id}/complete"), &body)
            .await;
        Sent::Completed(job_id, reply)
    }
    .boxed()
}

async fn snapshot(replica: &ServerProcess) -> Vec<QueuedJob> {
    let reply = replica.get("/v1/jobs?limit=1000").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(QueuedJob::from_json)
        .collect()
}

async fn plans(ctx: &TestContext) -> Vec<(String, String)> {
    let mut plans = Vec::new();
    for tables in TABLE_SETS {
        let plan = ctx.executable_plan(tables, 1, json!({})).await;
        let field = |name: &str| plan[name].as_str().unwrap().to_owned();
        plans.push((field("plan_id"), field("plan_hash")));
    }
    plans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_keep_the_queue_invariants_under_concurrent_calls() {
    let ctx = TestContext::start().await;
    let plans = plans(&ctx).await;
    let a = ServerProcess::replica_of(SERVER, &ctx, "replica-a").await;
    let b = ServerProcess::replica_of(SERVER, &ctx, "replica-b").await;
    let replicas = [&a, &b];
    let mut dice = Dice(7);
    let mut tally = Tally::default();
    for _round in 0..8 {
        let live: Vec<String> = snapshot(&a)
            .await
            .into_iter()
            .filter(|j| j.status == "queued" || j.status == "running")
            .map(|j| j.job_id)
            .collect();
        let mut calls: Vec<BoxFuture<'_, Sent>> = Vec::new();
        for _ in 0..8 {
            let plan = &plans[dice.below(plans.len())];
            calls.push(create(replicas[dice.below(2)], plan));
        }
        for job_id in &live {
            if dice.below(2) == 0 {
                continue;
            }
            let status = ["failed", "cancelled"][dice.below(2)];
            calls.push(complete(replicas[dice.below(2)], job_id.clone(), status));
            if dice.below(3) == 0 {
                // The same job ended at both replicas at once.
                calls.push(complete(
                    replicas[dice.below(2)],
                    job_id.clone(),
                    "cancelled",
                ));
            }
        }
        for sent in join_all(calls).await {
            tally.record(sent);
        }
        for replica in replicas {
            check_invariants(&snapshot(replica).await).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    drain(&a, &b, &mut tally).await;
    check_histories(&a, &tally).await;
}

/// Ends every live job, two at a time at alternating replicas, checking
/// the invariants after each pair, until none is left.
async fn drain(a: &ServerProcess, b: &ServerProcess, tally: &mut Tally) {
    for round in 0.. {
        assert!(
            round < 10_000,
            "jobs still running after 10,000 rounds of completes"
        );
        let live: Vec<String> = snapshot(a)
            .await
            .into_iter()
            .filter(|j| j.status == "running")
            .map(|j| j.job_id)
            .collect();
        if live.is_empty() {
            break;
        }
        let mut calls = Vec::new();
        for (i, job_id) in live.into_iter().take(2).enumerate() {
            calls.push(complete([a, b][i % 2], job_id, "failed"));
        }
        for sent in join_all(calls).await {
            tally.record(sent);
        }
        check_invariants(&snapshot(b).await).unwrap_or_else(|e| panic!("{e}"));
    }
    let left = snapshot(a).await;
    assert!(left
        .iter()
        .all(|j| j.status == "failed" || j.status == "cancelled"));
    assert_eq!(left.len(), tally.created.len());
}

/// Every job: promoted at most once, its `job_started` event says so iff
/// it was promoted, and exactly one terminal event, the last.
async fn check_histories(replica: &ServerProcess, tally: &Tally) {
    assert!(
        tally.promoted.values().all(|n| *n == 1),
        "{:?}",
        tally.promoted
    );
    assert!(!tally.promoted.is_empty(), "the test promoted nothing");
    let mut promoted_by_events = BTreeSet::new();
    for job_id in &tally.created {
        let reply = replica.get(&format!("/v1/jobs/{job_id}/events")).await;
        let events = reply.body["events"].as_array().unwrap();
        let of_type = |t: &str| events.iter().filter(|e| e["event_type"] == t).count();
        assert!(of_type("job_started") <= 1, "{job_id}: {events:?}");
        let terminal = of_type("job_failed") + of_type("job_cancelled") + of_type("job_completed");
        assert_eq!(terminal, 1, "{job_id}: {events:?}");
        let last = &events[events.len() - 1]["event_type"];
        assert!(
            last == "job_failed" || last == "job_cancelled",
            "{job_id}: {events:?}"
        );
        let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
        let promoted = events.iter().any(|e| {
            e["event_type"] == "job_started" && e["details"]["promoted"] == Value::Bool(true)
        });
        if promoted {
            promoted_by_events.insert(job_id.clone());
        }
    }
    let promoted: BTreeSet<String> = tally.promoted.keys().cloned().collect();
    assert_eq!(promoted, promoted_by_events);
}

/// Replicas starting together on a new PostgreSQL database all come up:
/// migrations run one process at a time (an advisory lock), so none fails
/// creating a table another is creating.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only (RRS_TEST_DATABASE_URL, run with --include-ignored): replicas share a database"]
async fn replicas_starting_together_on_a_new_database_all_start() {
    rrs_tests::database::require_postgres("several replicas share a database");
    let database = rrs_tests::TestDatabase::create().await;
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let media_dir = tempfile::tempdir().unwrap();
    let media = media_dir.path().display().to_string();
    let starts = dirs.iter().map(|dir| {
        let toml = format!(
            "data_dir = {:?}\n[database]\nurl = {:?}\n\
             [media]\ndirectory = {media:?}\nshared_directory = true\n",
            dir.path().display().to_string(),
            database.url
        );
        async move { rrs::prepare(rrs::config::Config::from_toml_str(&toml).unwrap()).await }
    });
    let started = futures::future::join_all(starts).await;
    assert_eq!(started.len(), 4);
    for app in started {
        let app = app.unwrap_or_else(|e| panic!("a replica did not start: {e:#}"));
        assert!(app.service.readiness().await.migrations);
    }
}
