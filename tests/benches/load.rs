//! Load test: 16 clients drive the service over HTTP for a bounded time
//! with a mix of ingestion, dry-runs, job creation, execution, operator
//! completion and reads; on SQLite (one in-process server) and, when
//! `RRS_TEST_DATABASE_URL` names a PostgreSQL server, on two replicas of one
//! PostgreSQL database (the clients alternate between them).
//!
//! It reports throughput and p50/p99 per operation, beside `GET /healthz`
//! measured in the same run as the baseline (what HTTP and scheduling cost
//! on this machine under this load), and the count of 5xx answers. Then it
//! checks that every acknowledged write can be read back. A 5xx or a lost
//! write exits non-zero; a missed speed goal is only reported.
//!
//! Run: `cargo bench -p rrs-tests --bench load` (`RRS_LOAD_SECONDS`,
//! default 20; `RRS_LOAD_CLIENTS`, default 16).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use rrs_tests::process::ServerProcess;
use rrs_tests::{Reply, TestContext};
use serde_json::{json, Value};

const SERVER: &str = env!("CARGO_BIN_EXE_rrs-e2e-server");

/// Where the clients send their requests: one or two base URLs.
#[derive(Clone)]
struct Target {
    bases: Vec<String>,
    token: String,
    client: reqwest::Client,
}

impl Target {
    async fn send(&self, n: usize, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let base = &self.bases[n % self.bases.len()];
        let mut request = self
            .client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) => TestContext::reply(response).await,
            Err(e) => Reply {
                status: StatusCode::SERVICE_UNAVAILABLE,
                headers: Default::default(),
                body: json!({"transport_error": e.to_string()}),
            },
        }
    }
}

/// Latencies and statuses per operation, and what was acknowledged.
#[derive(Default)]
struct Tally {
    samples: BTreeMap<&'static str, Vec<Duration>>,
    server_errors: BTreeMap<&'static str, usize>,
    first_errors: BTreeMap<&'static str, String>,
    other: BTreeMap<(&'static str, u16), usize>,
    records: Vec<(String, String)>,
    plans: Vec<String>,
    jobs: Vec<(String, &'static str)>,
}

fn now_text(offset_seconds: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(offset_seconds))
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One client: a table of its own (so its jobs never wait for another
/// client's locks) and a loop over the operation mix until `deadline`.
struct Client {
    target: Target,
    n: usize,
    table: String,
    next_id: usize,
    ready_plan: Option<(String, String)>,
    tally: Arc<Mutex<Tally>>,
}

impl Client {
    async fn run(mut self, deadline: Instant) {
        let mut step = 0usize;
        while Instant::now() < deadline {
            step += 1;
            match step % 6 {
                0 | 1 => self.ingest().await,
                2 => self.dry_run(step).await,
                3 => self.job().await,
                4 => self.read_events().await,
                _ => self.read_plan().await,
            }
            // The baseline, interleaved with the load.
            self.timed("healthz", Method::GET, "/healthz".into(), None)
                .await;
        }
    }

    async fn timed(
        &self,
        op: &'static str,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> Reply {
        let started = Instant::now();
        let reply = self.target.send(self.n, method, &path, body.as_ref()).await;
        record(&self.tally, op, started.elapsed(), &reply);
        reply
    }

    /// Five new records of its table, then a fresh watermark.
    async fn ingest(&mut self) {
        let (table, first) = (self.table.clone(), self.next_id);
        self.next_id += 5;
        let ids: Vec<String> = (first..first + 5).map(|k| format!("{table}-{k}")).collect();
        let records: Vec<Value> = ids
            .iter()
            .zip(first..)
            .map(|(id, offset)| {
                json!({
            "op": "upsert", "tenant_id": "acme", "instance_id": "prod", "table": table,
            "sys_id": id, "event_time": now_text(-2), "topic": format!("load.{table}"),
            "partition": 0, "offset": offset as i64,
            "payload": {"short_description": format!("record {id}")}})
            })
            .collect();
        let body = json!({"records": records});
        let reply = self
            .timed(
                "ingest",
                Method::POST,
                "/v1/index/records".into(),
                Some(body),
            )
            .await;
        if reply.status == StatusCode::OK {
            let mut t = self.tally.lock().unwrap();
            t.records
                .extend(ids.into_iter().map(|id| (table.clone(), id)));
        }
        let wm = json!({"watermarks": [{"tenant_id": "acme", "instance_id": "prod",
            "topic": format!("load.{table}"), "partition": 0, "watermark_time": now_text(0)}]});
        self.timed(
            "watermark",
            Method::POST,
            "/v1/index/watermarks".into(),
            Some(wm),
        )
        .await;
    }

    async fn dry_run(&mut self, step: usize) {
        let plan_id = format!("load-{}-{step}", self.n);
        let body = json!({"plan_id": plan_id, "tenant_id": "acme", "instance_id": "prod",
            "pit": now_text(-1), "scope": {"tables": [{"table": self.table}]}, "chunk_size": 50});
        let reply = self
            .timed(
                "dry_run",
                Method::POST,
                "/v1/plans/dry-run".into(),
                Some(body),
            )
            .await;
        if reply.status == StatusCode::CREATED {
            self.tally.lock().unwrap().plans.push(plan_id.clone());
            if reply.body["gate"]["executability"] == "executable" {
                let hash = reply.body["plan_hash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                self.ready_plan = Some((plan_id, hash));
            }
        }
    }

    /// A job from the last executable plan, executed to the end.
    async fn job(&mut self) {
        let Some((plan_id, plan_hash)) = self.ready_plan.take() else {
            self.timed("read_jobs", Method::GET, "/v1/jobs?limit=20".into(), None)
                .await;
            return;
        };
        let body = json!({"plan_id": plan_id, "plan_hash": plan_hash});
        let reply = self
            .timed("create_job", Method::POST, "/v1/jobs".into(), Some(body))
            .await;
        if reply.status != StatusCode::CREATED {
            return;
        }
        let job_id = reply.body["job_id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/v1/jobs/{job_id}/execution");
        let run = self
            .timed("execute", Method::POST, path, Some(json!({})))
            .await;
        let expected = if run.status == StatusCode::OK {
            "completed"
        } else {
            ""
        };
        self.tally.lock().unwrap().jobs.push((job_id, expected));
    }

    async fn read_events(&self) {
        let job = {
            let t = self.tally.lock().unwrap();
            t.jobs.get(t.jobs.len().saturating_sub(1 + self.n)).cloned()
        };
        match job {
            Some((job_id, _)) => {
                let path = format!("/v1/jobs/{job_id}/events");
                self.timed("read_job", Method::GET, path, None).await;
            }
            None => {
                self.timed("read_jobs", Method::GET, "/v1/jobs?limit=20".into(), None)
                    .await;
            }
        }
    }

    async fn read_plan(&self) {
        let plan = self.tally.lock().unwrap().plans.last().cloned();
        if let Some(plan_id) = plan {
            self.timed(
                "read_plan",
                Method::GET,
                format!("/v1/plans/{plan_id}"),
                None,
            )
            .await;
        }
    }
}

fn record(tally: &Mutex<Tally>, op: &'static str, elapsed: Duration, reply: &Reply) {
    let mut t = tally.lock().unwrap();
    t.samples.entry(op).or_default().push(elapsed);
    if reply.status.is_server_error() {
        *t.server_errors.entry(op).or_default() += 1;
        t.first_errors
            .entry(op)
            .or_insert_with(|| format!("{} {}", reply.status, reply.body));
    } else if !reply.status.is_success() {
        *t.other.entry((op, reply.status.as_u16())).or_default() += 1;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Every acknowledged write, read back: index records in the database,
/// plans and jobs over the API.
async fn lost_writes(ctx: &TestContext, target: &Target, tally: &Tally) -> usize {
    use sea_orm::{ConnectionTrait, Statement};
    let db = ctx.database.connect().await;
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT table_name, sys_id FROM index_records WHERE tenant_id = 'acme'",
        ))
        .await
        .unwrap();
    let stored: std::collections::BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "table_name").unwrap(),
                r.try_get("", "sys_id").unwrap(),
            )
        })
        .collect();
    let mut lost = tally
        .records
        .iter()
        .filter(|r| !stored.contains(*r))
        .count();
    for plan_id in &tally.plans {
        let reply = target
            .send(0, Method::GET, &format!("/v1/plans/{plan_id}"), None)
            .await;
        lost += usize::from(reply.status != StatusCode::OK);
    }
    for (job_id, expected) in &tally.jobs {
        let reply = target
            .send(0, Method::GET, &format!("/v1/jobs/{job_id}"), None)
            .await;
        let status_ok = expected.is_empty() || reply.body["status"] == *expected;
        lost += usize::from(reply.status != StatusCode::OK || !status_ok);
    }
    lost
}

/// A writable target table per client.
async fn set_up(target: &Target) {
    for n in 0..clients() {
        let put = json!({"columns": [{"name": "short_description", "type": "string"}],
            "write_allowed": true});
        let path = format!("/v1/targets/acme/prod/tables/load_{n}");
        let reply = target.send(n, Method::PUT, &path, Some(&put)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
}

async fn run(name: &str, ctx: &TestContext, target: Target) -> bool {
    set_up(&target).await;
    let seconds: u64 = std::env::var("RRS_LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients())
        .map(|n| {
            let client = Client {
                target: target.clone(),
                n,
                table: format!("load_{n}"),
                next_id: 0,
                ready_plan: None,
                tally: Arc::clone(&tally),
            };
            tokio::spawn(client.run(deadline))
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    println!("\n== {name}: {} clients, {wall:.1} s", clients());
    println!(
        "{:<12} {:>8} {:>9} {:>10} {:>10}",
        "operation", "count", "per s", "p50 ms", "p99 ms"
    );
    let mut baseline_p99 = Duration::ZERO;
    let mut read_p99 = Duration::ZERO;
    for (op, samples) in &tally.samples {
        let mut sorted = samples.clone();
        sorted.sort();
        let (p50, p99) = (percentile(&sorted, 0.5), percentile(&sorted, 0.99));
        println!(
            "{op:<12} {:>8} {:>9.1} {:>10.2} {:>10.2}",
            sorted.len(),
            sorted.len() as f64 / wall,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        if *op == "healthz" {
            baseline_p99 = p99;
        } else if op.starts_with("read") {
            read_p99 = read_p99.max(p99);
        }
    }
    let server_errors: usize = tally.server_errors.values().sum();
    println!("5xx answers: {server_errors} {:?}", tally.server_errors);
    for (op, first) in &tally.first_errors {
        println!("  first 5xx of {op}: {first}");
    }
    println!("other non-2xx (expected refusals): {:?}", tally.other);
    let lost = lost_writes(ctx, &target, &tally).await;
    println!(
        "acknowledged writes: {} records, {} plans, {} jobs; lost: {lost}",
        tally.records.len(),
        tally.plans.len(),
        tally.jobs.len()
    );
    let ratio = read_p99.as_secs_f64() / baseline_p99.as_secs_f64().max(1e-9);
    println!(
        "reads p99 {:.2} ms = {ratio:.1}x the healthz baseline p99 {:.2} ms; goal p99 < 50 ms on PostgreSQL: {}",
        read_p99.as_secs_f64() * 1e3,
        baseline_p99.as_secs_f64() * 1e3,
        if read_p99 < Duration::from_millis(50) { "met" } else { "NOT met" }
    );
    server_errors == 0 && lost == 0
}

fn clients() -> usize {
    std::env::var("RRS_LOAD_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ok = runtime.block_on(async {
        let postgres = std::env::var("RRS_TEST_DATABASE_URL").ok();
        // SQLite first: the suite's database choice is an environment
        // variable, so it is cleared for this half.
        std::env::remove_var("RRS_TEST_DATABASE_URL");
        let ctx = TestContext::start_with("[database]\nmax_connections = 16\n").await;
        let target = Target {
            bases: vec![ctx.url("")],
            token: ctx.admin_token.clone(),
            client: reqwest::Client::new(),
        };
        let mut ok = run("SQLite, one server", &ctx, target).await;
        drop(ctx);
        if let Some(url) = postgres {
            std::env::set_var("RRS_TEST_DATABASE_URL", url);
            let ctx = TestContext::start().await;
            let a = ServerProcess::replica_of(SERVER, &ctx, "replica-a").await;
            let b = ServerProcess::replica_of(SERVER, &ctx, "replica-b").await;
            let target = Target {
                bases: vec![a.url(""), b.url("")],
                token: ctx.admin_token.clone(),
                client: reqwest::Client::new(),
            };
            ok &= run("PostgreSQL, two replicas", &ctx, target).await;
            for line in a.log().lines().chain(b.log().lines()) {
                if line.contains("unavailable") || line.contains("ERROR") {
                    println!("  replica log: {line}");
                }
            }
        } else {
            println!("\nPostgreSQL: skipped (set RRS_TEST_DATABASE_URL)");
        }
        ok
    });
    if !ok {
        eprintln!("load test FAILED: 5xx answers or lost writes (see above)");
        std::process::exit(1);
    }
}
