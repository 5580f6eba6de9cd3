//! One dry-run of a whole table on the embedded default (a SQLite file in a
//! temporary directory, the state `rrs::prepare` builds, the domain's
//! `dry_run`), beside a plain SQL scan of the same index versions in the
//! same run. Prints rows/s, seconds, the plan/scan ratio and the peak
//! memory of the planning phase. Goal (issue 4): 100,000 records with
//! 1,000,000 versions planned in under 10 s, within 5x of the scan, peak
//! memory under 300 MB.
//!
//! Data: `RRS_BENCH_RECORDS` records (default 100,000) of table `incident`
//! with `RRS_BENCH_VERSIONS` versions each (default 10) over four
//! partitions; 10% end deleted at the PIT, 5% are deleted and re-created,
//! 10% have a last version after the PIT. Every payload references one of
//! 1,000 `sys_user` rows of the target. The target holds half of the
//! records (half of those equal to the PIT version, half edited) plus rows
//! for 2% of the deleted ones (undecided delete candidates). Loading goes
//! through `Store::insert_index_records` in large batches and is not timed.
//!
//! Peak memory: VmHWM is reset (`/proc/self/clear_refs` 5) right before the
//! dry-run, so the peak printed is the planning phase's own; VmRSS before it
//! is printed too (the delta is what planning added).
//!
//! `RRS_BENCH_KEEP=1` keeps the data directory (to inspect query plans).
//!
//! Run: `cargo bench -p rrs --bench plan_dry_run` (release), or quickly:
//! `RRS_BENCH_RECORDS=10000 cargo bench -p rrs --profile dev --bench plan_dry_run`.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use rrs::domain::canonical::canonical_sha256;
use rrs::domain::plan::request::{PlanRequest, ScopeTable};
use rrs::domain::principal::{Capability, Principal, TenantScope};
use rrs::domain::target::{Column, ColumnType};
use rrs::domain::RestoreService;
use rrs::store::connection::connect_options;
use rrs::store::index::{IndexRecordRow, WatermarkRow};
use rrs::store::target::{put_record, TargetRecordRow};
use rrs::store::Store;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, Statement, StreamTrait, TransactionTrait, Value,
};
use serde_json::json;

const TENANT: &str = "acme";
const INSTANCE: &str = "prod";
const TABLE: &str = "incident";
const PARTITIONS: i32 = 4;
const USERS: usize = 1_000;
const LOAD_BATCH: usize = 50_000;

/// The shape of the data set.
#[derive(Clone, Copy)]
struct Shape {
    records: usize,
    versions: usize,
    /// Version times: `t0 + k * step + i ms`; the PIT falls before the
    /// last version of every tenth record.
    t0: DateTime<Utc>,
    pit: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl Shape {
    fn new(records: usize, versions: usize) -> Self {
        let now = Utc::now();
        Self {
            records,
            versions,
            t0: now - chrono::Duration::hours(3),
            pit: now - chrono::Duration::minutes(30),
            now,
        }
    }

    /// `(op, event_time)` of version `k` of record `i`.
    fn version(&self, i: usize, k: usize) -> (&'static str, DateTime<Utc>) {
        let last = k + 1 == self.versions;
        let at = if last && i.is_multiple_of(10) {
            self.now - chrono::Duration::minutes(10)
        } else {
            self.t0
                + chrono::Duration::minutes(10 * k as i64)
                + chrono::Duration::milliseconds((i % 60_000) as i64)
        };
        let deleted_at_pit = last && i % 10 == 1;
        let deleted_then_recreated = k == self.versions / 2 && i % 20 == 2 && !last;
        let op = if deleted_at_pit || deleted_then_recreated {
            "delete"
        } else {
            "upsert"
        };
        (op, at)
    }

    /// The plan summary the generated data calls for: `[creates, updates,
    /// unchanged, deletes, skipped_deletes, undecided_deletes, rows_total]`
    /// (see `load_target`: records `i % 4 == 0` are in the target as at the
    /// PIT, `i % 4 == 2` edited, the others absent; a record deleted at the
    /// PIT with `i % 50 == 1` is still in the target, an undecided delete).
    fn expected_summary(&self) -> [i64; 7] {
        let (mut creates, mut updates, mut unchanged, mut undecided) = (0i64, 0i64, 0i64, 0i64);
        for i in 0..self.records {
            match (self.at_pit(i).1, i % 4) {
                ("upsert", 0) => unchanged += 1,
                ("upsert", 2) => updates += 1,
                ("upsert", _) => creates += 1,
                (_, _) if i % 50 == 1 => undecided += 1,
                _ => {}
            }
        }
        let total = creates + updates + unchanged + undecided;
        [creates, updates, unchanged, 0, 0, undecided, total]
    }

    /// The index version of record `i` at the PIT: `k` and op.
    fn at_pit(&self, i: usize) -> (usize, &'static str) {
        let k = (0..self.versions)
            .rev()
            .find(|&k| self.version(i, k).1 <= self.pit)
            .unwrap_or(0);
        (k, self.version(i, k).0)
    }
}

fn sys_id(i: usize) -> String {
    format!("INC{i:09}")
}

fn payload(i: usize, k: usize) -> serde_json::Value {
    json!({"short_description": format!("record {i} version {k}"), "state": k as i64,
        "caller_id": format!("U{:04}", (i * 7 + k) % USERS), "priority": (i % 5) as i64})
}

fn main() -> anyhow::Result<()> {
    let records = env_usize("RRS_BENCH_RECORDS", 100_000)?;
    let versions = env_usize("RRS_BENCH_VERSIONS", 10)?.max(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(Shape::new(records, versions)))
}

fn env_usize(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

async fn run(shape: Shape) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().to_path_buf();
    let config = rrs::config::Config::from_toml_str(&format!(
        "data_dir = {:?}\n",
        data_dir.display().to_string()
    ))?;
    let app = rrs::prepare(config.clone()).await?;
    let store = Store::connect(&config.database_url(), &config.database).await?;
    // The target's rows and the baseline scan use a connection of their
    // own, set up like the service's.
    let db = Database::connect(connect_options(&config.database_url(), &config.database)).await?;
    let principal = admin();
    let loading = Instant::now();
    let loaded = load_index(&store, &shape).await?;
    load_target(&app.service, &db, &principal, &shape).await?;
    println!(
        "plan_dry_run: {} records, {loaded} index versions, loaded in {:.1}s (not measured)",
        shape.records,
        loading.elapsed().as_secs_f64()
    );

    // Warm the page cache once, then time the baseline (again after the
    // dry-run; the faster of the two is the baseline, so a busy machine
    // during one of them does not flatter the ratio).
    scan(&db, &shape).await?;
    let (scanned, scan_before) = timed_scan(&db, &shape).await?;

    let rss_before = proc_status_kb("VmRSS")?;
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let request = PlanRequest {
        plan_id: Some("bench".into()),
        tenant_id: TENANT.into(),
        instance_id: INSTANCE.into(),
        target: None,
        pit: shape.pit,
        tables: vec![ScopeTable {
            table: TABLE.into(),
            sys_ids: None,
        }],
        delete_decisions: Vec::new(),
        include_media: true,
        chunk_size: Some(500),
    };
    println!("dry-run of the whole table...");
    let plan_started = Instant::now();
    let (plan, created) = app.service.dry_run(&principal, request, Utc::now()).await?;
    let plan_time = plan_started.elapsed();
    let peak = proc_status_kb("VmHWM")?;
    anyhow::ensure!(created, "the plan was not created by this run");
    let (_, scan_after) = timed_scan(&db, &shape).await?;
    println!(
        "SQL scan before the dry-run {:.2} s, after it {:.2} s; load average {}",
        scan_before.as_secs_f64(),
        scan_after.as_secs_f64(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let scan_time = scan_before.min(scan_after);
    check_results(&shape, &plan.summary, loaded, scanned)?;

    report(&Report {
        shape,
        loaded,
        scanned,
        scan_time,
        plan_time,
        rows: plan.summary.rows_total,
        summary: serde_json::to_string(&plan.summary)?,
        gate: plan
            .gate
            .reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(","),
        rss_before,
        peak,
        reset,
    });
    if std::env::var_os("RRS_BENCH_KEEP").is_some() {
        println!("data kept in {}", dir.keep().display());
    }
    Ok(())
}

/// The bench's own results checked against the data it generated: a
/// wrong plan or scan fails the run (exit non-zero), whatever its speed.
fn check_results(
    shape: &Shape,
    summary: &rrs::domain::plan::document::SummaryDoc,
    loaded: u64,
    scanned: u64,
) -> anyhow::Result<()> {
    let expected = shape.expected_summary();
    let got = summary;
    let actual = [
        got.creates,
        got.updates,
        got.unchanged,
        got.deletes,
        got.skipped_deletes,
        got.undecided_deletes,
        got.rows_total,
    ];
    anyhow::ensure!(
        actual == expected,
        "wrong plan summary: [creates, updates, unchanged, deletes, skipped_deletes, \
         undecided_deletes, rows_total] = {actual:?}, the generated data gives {expected:?}"
    );
    let generated = (shape.records * shape.versions) as u64;
    let before_pit = (0..shape.records)
        .flat_map(|i| (0..shape.versions).map(move |k| (i, k)))
        .filter(|&(i, k)| shape.version(i, k).1 <= shape.pit)
        .count() as u64;
    anyhow::ensure!(
        loaded == generated && scanned == before_pit,
        "loaded {loaded} index versions of {generated} generated; the scan read \
         {scanned}, {before_pit} are at or before the PIT"
    );
    Ok(())
}

fn admin() -> Principal {
    Principal {
        token_id: "bench".into(),
        operator_id: "bench".into(),
        capabilities: <Capability as strum::IntoEnumIterator>::iter().collect(),
        tenants: TenantScope::All,
        expires_at: None,
    }
}

/// The index versions and a fresh watermark on every partition.
async fn load_index(store: &Store, shape: &Shape) -> anyhow::Result<u64> {
    let now = Utc::now();
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    let mut loaded = 0;
    let mut offset = 0i64;
    for i in 0..shape.records {
        for k in 0..shape.versions {
            let (op, at) = shape.version(i, k);
            let (payload, sha) = match op {
                "upsert" => {
                    let p = payload(i, k);
                    let sha = canonical_sha256(&p)?;
                    (Some(p), Some(sha))
                }
                _ => (None, None),
            };
            let partition = (i % PARTITIONS as usize) as i32;
            batch.push(IndexRecordRow {
                tenant_id: TENANT.into(),
                instance_id: INSTANCE.into(),
                table: TABLE.into(),
                sys_id: sys_id(i),
                op: op.into(),
                event_time_us: at.timestamp_micros(),
                topic: format!("sn.{TENANT}.{INSTANCE}.{TABLE}"),
                partition,
                offset,
                payload,
                payload_sha256: sha,
            });
            offset += 1;
            if batch.len() == LOAD_BATCH {
                loaded += store.insert_index_records(&batch, now).await?;
                batch.clear();
            }
        }
    }
    loaded += store.insert_index_records(&batch, now).await?;
    for partition in 0..PARTITIONS {
        store
            .upsert_watermark(&WatermarkRow {
                tenant_id: TENANT.into(),
                instance_id: INSTANCE.into(),
                topic: format!("sn.{TENANT}.{INSTANCE}.{TABLE}"),
                partition,
                watermark_time_us: (shape.now - chrono::Duration::minutes(1)).timestamp_micros(),
                published_at: now,
            })
            .await?;
    }
    Ok(loaded)
}

/// The target tables, the referenced users and the share of records present.
async fn load_target(
    service: &RestoreService,
    db: &DatabaseConnection,
    principal: &Principal,
    shape: &Shape,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let string = |name: &str| Column {
        name: name.into(),
        column_type: ColumnType::String,
        reference_table: None,
    };
    let mut columns = vec![string("short_description"), string("state")];
    columns.push(Column {
        name: "caller_id".into(),
        column_type: ColumnType::Reference,
        reference_table: Some("sys_user".into()),
    });
    service
        .put_target_table(principal, (TENANT, INSTANCE, TABLE), columns, true, now)
        .await?;
    let users = vec![string("name")];
    service
        .put_target_table(principal, (TENANT, INSTANCE, "sys_user"), users, true, now)
        .await?;
    let users = (0..USERS).map(|u| (format!("U{u:04}"), json!({"name": format!("user {u}")})));
    write_target(db, "sys_user", users).await?;
    let rows = (0..shape.records).filter_map(|i| {
        let (k, op) = shape.at_pit(i);
        match (op, i % 4) {
            ("upsert", 0) => Some((sys_id(i), payload(i, k))),
            ("upsert", 2) => Some((sys_id(i), json!({"short_description": "edited"}))),
            ("delete", _) if i % 50 == 1 => Some((sys_id(i), payload(i, 0))),
            _ => None,
        }
    });
    write_target(db, TABLE, rows).await
}

async fn write_target(
    db: &DatabaseConnection,
    table: &str,
    rows: impl Iterator<Item = (String, serde_json::Value)>,
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    for (sys_id, payload) in rows {
        let row = TargetRecordRow {
            sys_id,
            payload_sha256: canonical_sha256(&payload)?,
            payload,
            updated_at: Utc::now(),
        };
        put_record(&txn, TENANT, INSTANCE, table, &row).await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn timed_scan(db: &DatabaseConnection, shape: &Shape) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let rows = scan(db, shape).await?;
    Ok((rows, started.elapsed()))
}

/// The baseline: every version at or before the PIT, in the planner's
/// order, streamed to the end with the same column types decoded.
async fn scan(db: &DatabaseConnection, shape: &Shape) -> anyhow::Result<u64> {
    let sql = "SELECT sys_id, op, payload, payload_sha256 FROM index_records WHERE tenant_id = ? \
               AND instance_id = ? AND table_name = ? AND event_time_us <= ? \
               ORDER BY sys_id, event_time_us DESC";
    let values: Vec<Value> = vec![
        TENANT.into(),
        INSTANCE.into(),
        TABLE.into(),
        shape.pit.timestamp_micros().into(),
    ];
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    let mut stream = db.stream(statement).await?;
    let mut rows = 0u64;
    let mut bytes = 0usize;
    while let Some(row) = stream.next().await {
        let row = row?;
        let sys_id: String = row.try_get("", "sys_id")?;
        let op: String = row.try_get("", "op")?;
        let payload: Option<serde_json::Value> = row.try_get("", "payload")?;
        let sha: Option<String> = row.try_get("", "payload_sha256")?;
        bytes += sys_id.len() + op.len() + sha.map_or(0, |s| s.len());
        bytes += usize::from(payload.is_some());
        rows += 1;
    }
    std::hint::black_box(bytes);
    Ok(rows)
}

fn proc_status_kb(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}

struct Report {
    shape: Shape,
    loaded: u64,
    scanned: u64,
    scan_time: Duration,
    plan_time: Duration,
    rows: i64,
    summary: String,
    gate: String,
    rss_before: u64,
    peak: u64,
    reset: bool,
}

fn report(r: &Report) {
    let plan_s = r.plan_time.as_secs_f64();
    let scan_s = r.scan_time.as_secs_f64();
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "scope: whole table {TABLE}, {} records, {} versions ({} at or before the PIT)",
        r.shape.records, r.loaded, r.scanned
    );
    println!("plan summary: {}; gate reasons: [{}]", r.summary, r.gate);
    println!(
        "dry-run: {plan_s:.2} s, {:.0} plan rows/s, {:.0} versions/s",
        r.rows as f64 / plan_s,
        r.scanned as f64 / plan_s
    );
    println!(
        "SQL scan (baseline, the faster of the two): {scan_s:.2} s, {:.0} versions/s",
        r.scanned as f64 / scan_s
    );
    println!("ratio plan/scan: {:.2}x", plan_s / scan_s);
    let how = if r.reset {
        "VmHWM reset before the dry-run"
    } else {
        "VmHWM could not be reset: whole-process peak"
    };
    println!(
        "peak memory during the dry-run: {:.0} MB ({how}); RSS before it {:.0} MB, delta {:.0} MB",
        mb(r.peak),
        mb(r.rss_before),
        mb(r.peak.saturating_sub(r.rss_before))
    );
    let goal = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "goals: < 10 s {}; < 5x scan {}; peak < 300 MB {}",
        goal(plan_s < 10.0),
        goal(plan_s < 5.0 * scan_s),
        goal(r.peak < 300 * 1024)
    );
}
