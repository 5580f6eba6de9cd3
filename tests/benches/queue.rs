//! Latency of the lock queue with 10,000 queued jobs, beside a baseline
//! measured in the same run on the same database: a plain single-row
//! insert.
//!
//! `cargo bench -p rrs-tests --bench queue` (SQLite in a temp dir);
//! with `RRS_TEST_DATABASE_URL=postgres://...` on a fresh PostgreSQL
//! database. `RRS_BENCH_QUEUED` changes the queue depth (default 10000).
//!
//! Two shapes of queue: `hot`, every job on one table (the longest queue a
//! tuple can have: a new job's document lists 10,000 blocking jobs), and
//! `mixed`, every job on 1-3 of 20 tables. Each sample is one call of the
//! domain function the HTTP handler calls: `create` (plan checks,
//! admission in the guarded transaction, and the job document with its
//! queue metadata) and a `complete` that promotes (release, promotion and
//! events in one transaction, then the ended job's document). Each
//! completion is paired with a creation, so the depth stays constant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use rrs::domain::job_lifecycle::{Completion, CreateJob};
use rrs::domain::job_states::JobStatus;
use rrs::domain::principal::{Capability, Principal, TenantScope};
use rrs::domain::queue;
use rrs::store::connection::connect_options;
use rrs::store::entities::plan;
use rrs::store::job_queue::NewJob;
use rrs::store::Store;
use rrs_tests::queue::{check_invariants, QueuedJob};
use rrs_tests::TestDatabase;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, Set, Statement};

const SAMPLES: usize = 300;
const TENANT: &str = "acme";

struct Bench {
    service: rrs::domain::RestoreService,
    store: Store,
    /// A connection of the bench's own, for set-up and the baseline.
    db: DatabaseConnection,
    principal: Principal,
    dice: u64,
}

impl Bench {
    fn below(&mut self, n: usize) -> usize {
        self.dice ^= self.dice << 13;
        self.dice ^= self.dice >> 7;
        self.dice ^= self.dice << 17;
        (self.dice % n as u64) as usize
    }

    /// Stores an executable plan over `tables`; returns `(plan_id, plan_hash)`.
    async fn plan(&self, instance: &str, tables: &BTreeSet<String>) -> (String, String) {
        let plan_id = format!("plan_{}", uuid::Uuid::new_v4().simple());
        let plan_hash = "a".repeat(64);
        plan::ActiveModel {
            plan_id: Set(plan_id.clone()),
            tenant_id: Set(TENANT.into()),
            instance_id: Set(instance.into()),
            plan_hash: Set(plan_hash.clone()),
            plan_checksum: Set("b".repeat(64)),
            pit: Set(Utc::now()),
            executability: Set("executable".into()),
            gate_reason_code: Set(None),
            tables: Set(serde_json::json!(tables)),
            rows_total: Set(1),
            total_chunks: Set(1),
            document: Set(serde_json::json!({})),
            target_tenant_id: Set(None),
            target_instance_id: Set(None),
            created_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await
        .unwrap();
        (plan_id, plan_hash)
    }

    /// Fills the queue without reading documents back (setup only).
    async fn fill(&self, instance: &str, table_sets: &[BTreeSet<String>]) {
        for (i, tables) in table_sets.iter().enumerate() {
            let new = NewJob {
                job_id: format!("job_{instance}_{i}"),
                plan_id: "setup".into(),
                plan_hash: "a".repeat(64),
                tenant_id: TENANT.into(),
                instance_id: instance.into(),
                tables: tables.iter().cloned().collect(),
                status: String::new(),
                execution_state: String::new(),
                operator_id: "bench".into(),
                created_at: Utc::now(),
            };
            queue::admit(&self.store, new, Utc::now()).await.unwrap();
        }
    }

    async fn create(&self, plan: &(String, String)) -> Duration {
        let request = CreateJob {
            plan_id: plan.0.clone(),
            plan_hash: plan.1.clone(),
        };
        let started = Instant::now();
        self.service
            .create_job(&self.principal, request, Utc::now())
            .await
            .unwrap();
        started.elapsed()
    }

    /// Completes a job; the time and how many jobs it promoted.
    async fn complete(&self, job_id: &str) -> (Duration, usize) {
        let completion = Completion {
            status: JobStatus::Failed,
            reason_code: None,
            actor: "bench".into(),
            note: None,
        };
        let started = Instant::now();
        let finished = self
            .service
            .complete_job(&self.principal, job_id, completion, Utc::now())
            .await
            .unwrap();
        (started.elapsed(), finished.promoted_job_ids.len())
    }

    /// Fails the bench when the queue of `instance` breaks an invariant
    /// of `rrs_tests::queue` (the ones the property tests check): a wrong
    /// queue is a wrong result, whatever its speed.
    async fn check_queue(&self, instance: &str, when: &str) {
        let filter = rrs::store::jobs::JobListFilter {
            tenant_id: Some(TENANT.into()),
            instance_id: Some(instance.into()),
            limit: 1_000_000,
            ..Default::default()
        };
        let rows = self.store.jobs(&filter).await.unwrap();
        let snapshot: Vec<QueuedJob> = rows
            .into_iter()
            .map(|r| QueuedJob {
                job_id: r.job_id,
                tables: r.tables.into_iter().collect(),
                status: r.status,
            })
            .collect();
        let live = snapshot
            .iter()
            .filter(|j| j.status == "running" || j.status == "queued")
            .count();
        assert!(live > 0, "{instance} {when}: no live job in the queue");
        if let Err(broken) = check_invariants(&snapshot) {
            panic!("{instance} {when}: queue invariant broken: {broken}");
        }
        println!("{instance} {when}: queue invariants hold over {live} live jobs");
    }

    async fn running(&self, instance: &str) -> Vec<String> {
        let filter = rrs::store::jobs::JobListFilter {
            status: Some("running".into()),
            tenant_id: Some(TENANT.into()),
            instance_id: Some(instance.into()),
            limit: 100_000,
            ..Default::default()
        };
        let rows = self.store.jobs(&filter).await.unwrap();
        rows.into_iter().map(|r| r.job_id).collect()
    }
}

#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
        sorted[index].as_secs_f64() * 1000.0
    }

    fn line(&self, name: &str, baseline: &Samples) {
        let (p50, p99) = (self.quantile(0.50), self.quantile(0.99));
        println!(
            "{name:<34} n={:<4} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  ({:>5.1}x / {:>5.1}x baseline)",
            self.0.len(),
            p50 / baseline.quantile(0.50),
            p99 / baseline.quantile(0.99),
        );
    }
}

async fn baseline(db: &DatabaseConnection) -> Samples {
    let backend = db.get_database_backend();
    let sql = |s: &str| Statement::from_string(backend, s.to_owned());
    db.execute(sql(
        "CREATE TABLE bench_baseline (id BIGINT PRIMARY KEY, note VARCHAR NOT NULL)",
    ))
    .await
    .unwrap();
    let mut samples = Samples::default();
    for i in 0..SAMPLES {
        let insert = sql(&format!(
            "INSERT INTO bench_baseline (id, note) VALUES ({i}, 'row {i}')"
        ));
        let started = Instant::now();
        db.execute(insert).await.unwrap();
        samples.0.push(started.elapsed());
    }
    samples
}

/// One queue shape: fill to `depth`, then alternate a measured creation
/// and a measured completion of a running job until both have `SAMPLES`
/// (only completions that promoted are counted).
async fn scenario(
    bench: &mut Bench,
    base: &Samples,
    name: &str,
    depth: usize,
    sets: Vec<BTreeSet<String>>,
) {
    let started = Instant::now();
    let picks: Vec<BTreeSet<String>> = (0..depth)
        .map(|_| sets[bench.below(sets.len())].clone())
        .collect();
    bench.fill(name, &picks).await;
    let mut plans = Vec::new();
    for set in &sets {
        plans.push(bench.plan(name, set).await);
    }
    println!(
        "{name}: {depth} jobs admitted in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    bench.check_queue(name, "after the fill").await;
    let (mut creates, mut completes) = (Samples::default(), Samples::default());
    let mut promotions = 0;
    while creates.0.len() < SAMPLES || completes.0.len() < SAMPLES {
        let plan = plans[bench.below(plans.len())].clone();
        creates.0.push(bench.create(&plan).await);
        let running = bench.running(name).await;
        let victim = running[bench.below(running.len())].clone();
        let (took, promoted) = bench.complete(&victim).await;
        if promoted > 0 {
            completes.0.push(took);
            promotions += promoted;
        }
    }
    bench.check_queue(name, "after the samples").await;
    println!("{name}: {promotions} promotions");
    creates.line(&format!("{name}: create"), base);
    completes.line(&format!("{name}: complete that promotes"), base);
}

fn table_sets(tables: usize, max: usize, dice: &mut Bench) -> Vec<BTreeSet<String>> {
    (0..64)
        .map(|_| {
            let size = 1 + dice.below(max);
            (0..size)
                .map(|_| format!("t{}", dice.below(tables)))
                .collect()
        })
        .collect()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let database = TestDatabase::create().await;
        let data_dir = tempfile::tempdir().unwrap();
        let config = rrs::config::Config::from_toml_str(&format!(
            // One process: its media directory is as shared as it needs to be.
            "data_dir = {:?}\n[database]\nurl = {:?}\n[media]\nshared_directory = true\n",
            data_dir.path().display().to_string(),
            database.url
        ))
        .unwrap();
        let service = rrs::prepare(config).await.unwrap().service;
        let store = Store::connect(&database.url, &Default::default())
            .await
            .unwrap();
        let depth = std::env::var("RRS_BENCH_QUEUED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        println!(
            "lock queue bench on {:?}, {depth} queued jobs",
            store.backend()
        );
        let db = Database::connect(connect_options(&database.url, &Default::default()))
            .await
            .unwrap();
        let base = baseline(&db).await;
        base.line("baseline: single-row insert", &base);
        let principal = Principal {
            token_id: "bench".into(),
            operator_id: "bench".into(),
            capabilities: <Capability as strum::IntoEnumIterator>::iter().collect(),
            tenants: TenantScope::All,
            expires_at: None,
        };
        let mut bench = Bench {
            service,
            store,
            db,
            principal,
            dice: 0x2545_F491_4F6C_DD1D,
        };
        let hot = vec![BTreeSet::from(["t0".to_owned()])];
        scenario(&mut bench, &base, "hot", depth, hot).await;
        let mixed = table_sets(20, 3, &mut bench);
        scenario(&mut bench, &base, "mixed", depth, mixed).await;
    });
}
