//! A restore of `RRS_BENCH_ROWS` records (default 10,000) into the fake
//! ServiceNow instance with `RRS_BENCH_LATENCY_MS` (default 20) of latency
//! injected into every request, beside the floor that latency and the
//! target's configured concurrency (`RRS_BENCH_CONCURRENCY`, default 16)
//! allow in the same run: one request per row, so at best
//! `concurrency / latency` rows per second. Goal: at least 70% of the
//! floor's rate, and memory flat (the service's resident set does not grow
//! with the rows written).
//!
//! The service executing the restore is its own process (the release
//! `rrs-e2e-server`, the real HTTP server and ServiceNow connector) on an
//! embedded SQLite database (or PostgreSQL with `RRS_TEST_DATABASE_URL`);
//! the set-up goes through an in-process server on the same database. The
//! instance is `rrs-fake-servicenow` in this process, the stand-in for
//! ServiceNow's documented Table API (not ServiceNow itself). Set-up, not timed: the instance seeded with every record in a
//! damaged state, the backup holding the right version, a dry-run plan of
//! `chunk_size` 500 (every record an update) and a job. Timed: the
//! `POST /v1/jobs/{id}/execution` call, from request to the terminal
//! answer: per chunk the read of the records' current state, the intents,
//! one PATCH per record, the outcomes, journal and checkpoint. Afterwards
//! (not timed) every record is checked to hold its restored content.
//!
//! Memory: the service process's resident set is sampled every 100 ms
//! during the execution; the report gives it after the first tenth of the
//! chunks and at the end (flat: the difference does not scale with the
//! rows).
//!
//! Run: `cargo bench -p rrs-tests --bench remote_restore`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rrs_tests::process::ServerProcess;
use rrs_tests::servicenow::{ago, damaged_incidents, incident, restored, SnInstance};
use rrs_tests::TestContext;
use serde_json::{json, Value};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident set of process `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What the run is made of.
struct Settings {
    rows: usize,
    latency_ms: u64,
    concurrency: u64,
    chunk_size: usize,
}

/// The instance, the service's set-up context and a job ready to execute.
struct World {
    sn: SnInstance,
    ctx: TestContext,
    ids: Vec<String>,
    job_id: String,
    total_chunks: u64,
}

/// Seeds the instance with damaged records and the backup with their
/// restored versions; plans and creates the job (not timed).
async fn world(s: &Settings) -> World {
    let sn = SnInstance::start(vec![incident(&["short_description", "state"])]).await;
    let toml = sn.target_toml(&format!("concurrency = {}", s.concurrency));
    let ctx = TestContext::start_with(&toml).await;
    let ids = damaged_incidents(&sn, &ctx, s.rows).await;
    let plan = ctx
        .dry_run(&["incident"], &ago(5), json!({"chunk_size": s.chunk_size}))
        .await;
    assert_eq!(plan.status.as_u16(), 201, "{:?}", plan.body);
    assert_eq!(
        plan.body["summary"]["updates"], s.rows,
        "{:?}",
        plan.body["summary"]
    );
    let total_chunks = plan.body["chunking"]["total_chunks"].as_u64().unwrap();
    let job = ctx
        .post(
            "/v1/jobs",
            &json!({"plan_id": plan.body["plan_id"], "plan_hash": plan.body["plan_hash"]}),
        )
        .await;
    assert_eq!(job.status.as_u16(), 201, "{:?}", job.body);
    let job_id = job.body["job_id"].as_str().unwrap().to_owned();
    World {
        sn,
        ctx,
        ids,
        job_id,
        total_chunks,
    }
}

/// The service process that executes, on the set-up's database.
async fn executor(w: &World, s: &Settings) -> ServerProcess {
    let data = w.ctx.data_path("executor");
    std::fs::create_dir_all(&data).unwrap();
    let config = data.join("rrs.toml");
    let toml =
        w.sn.target_toml(&format!("concurrency = {}", s.concurrency));
    std::fs::write(&config, toml).unwrap();
    ServerProcess::start_configured(
        env!("CARGO_BIN_EXE_rrs-e2e-server"),
        &w.ctx.database.url,
        &data,
        &w.ctx.admin_token,
        &[],
        Some(&config),
    )
    .await
}

/// Samples `(next chunk, RSS of pid)` every 100 ms until `done`.
fn sample(
    url: String,
    token: String,
    pid: u32,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(u64, f64)>> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut samples: Vec<(u64, f64)> = Vec::new();
        while !done.load(Ordering::SeqCst) {
            let next = match client.get(&url).bearer_auth(&token).send().await {
                Ok(r) => r.json::<Value>().await.ok(),
                Err(_) => None,
            };
            let chunk = next
                .and_then(|v| v["next_chunk_index"].as_u64())
                .unwrap_or(0);
            samples.push((chunk, rss_mib(pid)));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        samples
    })
}

#[tokio::main]
async fn main() {
    let s = Settings {
        rows: env_or("RRS_BENCH_ROWS", 10_000) as usize,
        latency_ms: env_or("RRS_BENCH_LATENCY_MS", 20),
        concurrency: env_or("RRS_BENCH_CONCURRENCY", 16),
        chunk_size: 500,
    };
    let w = world(&s).await;
    let server = executor(&w, &s).await;
    let pid = server.pid().unwrap();

    w.sn.fake
        .handle
        .set_latency(Duration::from_millis(s.latency_ms));
    w.sn.fake.handle.clear_requests();
    let done = Arc::new(AtomicBool::new(false));
    let checkpoint = server.url(&format!("/v1/jobs/{}/checkpoint", w.job_id));
    let sampler = sample(checkpoint, w.ctx.admin_token.clone(), pid, done.clone());
    let rss_before = rss_mib(pid);
    let started = Instant::now();
    let answer = server
        .post(&format!("/v1/jobs/{}/execution", w.job_id), &json!({}))
        .await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let samples = sampler.await.unwrap();
    assert_eq!(answer.status.as_u16(), 200, "{:?}", answer.body);
    assert_eq!(answer.body["state"], "completed");
    w.sn.fake.handle.set_latency(Duration::ZERO);
    for (n, id) in w.ids.iter().enumerate() {
        assert_eq!(
            w.sn.content("incident", id),
            Some(restored(n)),
            "record {n}"
        );
    }
    let requests = w.sn.fake.handle.requests().len();

    let (rows, secs) = (s.rows as f64, elapsed.as_secs_f64());
    let floor = s.concurrency as f64 / (s.latency_ms as f64 / 1000.0);
    let tenth = samples
        .iter()
        .find(|(chunk, _)| *chunk * 10 >= w.total_chunks)
        .map_or(rss_before, |s| s.1);
    let peak = samples.iter().map(|s| s.1).fold(rss_before, f64::max);
    let end = samples.last().map_or(rss_before, |s| s.1);
    println!("remote restore into the fake ServiceNow instance");
    println!(
        "  rows {}, latency {} ms per request, concurrency {}, chunk_size {} ({} chunks), \
         {requests} requests",
        s.rows, s.latency_ms, s.concurrency, s.chunk_size, w.total_chunks
    );
    println!(
        "  floor (concurrency / latency): {floor:.0} rows/s = {:.2} s",
        rows / floor
    );
    println!("  restore: {:.0} rows/s = {secs:.2} s", rows / secs);
    println!(
        "  ratio to the floor: {:.2} (goal >= 0.70)",
        rows / secs / floor
    );
    println!(
        "  service memory (RSS): {rss_before:.0} MiB before, {tenth:.0} MiB after a tenth of \
         the chunks, {end:.0} MiB at the end, peak {peak:.0} MiB; growth over the last nine \
         tenths {:+.1} MiB",
        end - tenth
    );
}
