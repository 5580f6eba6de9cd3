//! One restore of `RRS_BENCH_ROWS` rows (default 100,000) through the real
//! execution engine (`rrs::domain::execute::execute` with the
//! `ExecContext` that `rrs::prepare` builds), beside raw batched inserts of
//! the same rows into the same database in the same run. Prints rows/s of
//! both, their ratio and the memory the restore added. Goal (issue 6): the
//! restore runs at no less than a third of the raw insert rate, and its
//! peak memory stays under 300 MB whatever the size.
//!
//! Backends: the embedded default (a SQLite file in a temporary directory)
//! always; PostgreSQL too when `RRS_BENCH_DATABASE_URL` (or
//! `RRS_TEST_DATABASE_URL`) names a server: a fresh database is created for
//! the run and dropped afterwards. The PostgreSQL half runs in a child
//! process of its own, so its memory figures start from a fresh heap.
//!
//! Set-up, not timed: the index versions (one `upsert` per record, loaded
//! with `Store::insert_index_records` in big batches), a fresh watermark, a
//! writable, empty target table, a dry-run plan with `chunk_size` 500 (every
//! row a `create`) and a running job; on PostgreSQL an `ANALYZE` after
//! loading and after planning. Timed: the `execute` call from the
//! first check to the terminal answer (every chunk: the read of the
//! current target hashes, the journal, mirror, outcome and target writes,
//! the checkpoint, the chunk events; then the lease release, the job's end
//! and the answer). Afterwards (not timed) the target, journal, mirror and
//! applied outcomes are counted: one each per restored row.
//!
//! Baseline: the same rows (same payloads and hashes) as multi-row INSERTs
//! of 500 rows, one transaction each, into a scratch table with the shape
//! of `target_records` (its DDL copied); only the database calls are timed.
//!
//! Memory: VmHWM is reset (`/proc/self/clear_refs` 5) right before the
//! restore; the growth printed is VmHWM after it minus VmHWM before it.
//!
//! Undo (issue 18): once the restore's evidence package exists (the
//! service makes it in the background when a job ends; an undo timed
//! while it is made would share the machine with it), the restore is
//! undone through the real undo path
//! (`RestoreService::undo_plan`, a job, `execute_job`): every restored row
//! is deleted again. Timed: the undo plan with its delete decisions and
//! its execution, against the restore's dry-run and execution in the same
//! run (the first undo plan, which lists the delete candidates to decide,
//! is not timed, nor is the restore's dry-run that did the same). Goal: the
//! undo takes no longer than the restore.
//!
//! `RRS_BENCH_KEEP=1` keeps the data directory (to inspect query plans).
//!
//! Run: `cargo bench -p rrs --bench restore` (release), or
//! `RRS_BENCH_ROWS=25000 cargo bench -p rrs --profile dev --bench restore`.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use chrono::{DateTime, Utc};
use rrs::domain::canonical::canonical_sha256;
use rrs::domain::execute::view::{ChunkStatus, ExecutionPhase};
use rrs::domain::execute::{ExecOutcome, Exercise};
use rrs::domain::job_lifecycle::CreateJob;
use rrs::domain::plan::request::{DecisionInput, PlanRequest, ScopeTable};
use rrs::domain::plan::undo::UndoRequest;
use rrs::domain::principal::{Capability, Principal, TenantScope};
use rrs::domain::target::{Column, ColumnType};
use rrs::domain::RestoreService;
use rrs::policy::{DeleteDecision, ElevatedConfirmation, Executability};
use rrs::store::connection::connect_options;
use rrs::store::index::{IndexRecordRow, WatermarkRow};
use rrs::store::sql::{rows_placeholders, statement};
use rrs::store::Store;
use sea_orm::{
    ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement, TransactionTrait,
    Value,
};
use serde_json::json;

const TENANT: &str = "acme";
const INSTANCE: &str = "prod";
const TABLE: &str = "incident";
const PARTITIONS: usize = 4;
const LOAD_BATCH: usize = 20_000;
const CHUNK: usize = 500;
const SCRATCH: &str = "bench_raw_records";
/// Set in the child process that runs the PostgreSQL half.
const POSTGRES_ONLY: &str = "RRS_BENCH_POSTGRES_ONLY";

fn main() -> anyhow::Result<()> {
    let rows = match std::env::var("RRS_BENCH_ROWS") {
        Ok(v) => v.parse().with_context(|| format!("RRS_BENCH_ROWS={v:?}"))?,
        Err(_) => 100_000,
    };
    let postgres = ["RRS_BENCH_DATABASE_URL", "RRS_TEST_DATABASE_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .filter(|url| url.starts_with("postgres"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // PostgreSQL runs in a process of its own: the heap the SQLite run's
    // undo and evidence used is freed but kept by the allocator, and would
    // count as the PostgreSQL restore's memory.
    let child = std::env::var_os(POSTGRES_ONLY).is_some();
    if !child {
        runtime.block_on(async { run(None, rows).await })?.print();
    }
    let Some(admin_url) = postgres else {
        return Ok(());
    };
    if child {
        return runtime
            .block_on(async { on_postgres(&admin_url, rows).await })
            .map(|pg| pg.print());
    }
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env(POSTGRES_ONLY, "1")
        .status()?;
    ensure!(status.success(), "the PostgreSQL run failed: {status}");
    Ok(())
}

/// A fresh PostgreSQL database for the run, dropped afterwards whatever happened.
async fn on_postgres(admin_url: &str, rows: usize) -> anyhow::Result<Report> {
    let name = format!("rrs_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .context("connect to the PostgreSQL server")?;
    let backend = admin.get_database_backend();
    admin
        .execute(Statement::from_string(
            backend,
            format!("CREATE DATABASE {name}"),
        ))
        .await?;
    let result = run(Some(replace_database(admin_url, &name)), rows).await;
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    admin.execute(Statement::from_string(backend, drop)).await?;
    admin.close().await?;
    result
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, String::new()), |(b, q)| (b, format!("?{q}")));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    match base[scheme_end..].find('/') {
        Some(slash) => format!("{}/{name}{query}", &base[..scheme_end + slash]),
        None => format!("{base}/{name}{query}"),
    }
}

/// Set-up, baseline and restore on one database.
async fn run(database_url: Option<String>, rows: usize) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let mut toml = format!("data_dir = {:?}\n", dir.path().display().to_string());
    if let Some(url) = &database_url {
        // One process: its media directory is as shared as it needs to be.
        toml.push_str(&format!(
            "[database]\nurl = {url:?}\n[media]\nshared_directory = true\n"
        ));
    }
    let config = rrs::config::Config::from_toml_str(&toml)?;
    let app = rrs::prepare(config.clone()).await?;
    let store = Store::connect(&config.database_url(), &config.database).await?;
    // The baseline and the checks use a connection of their own, set up
    // like the service's.
    let db = Database::connect(connect_options(&config.database_url(), &config.database)).await?;
    let principal = admin();
    let data = Data::new(rows);
    let setup_started = Instant::now();
    load_index(&store, &data)
        .await
        .context("loading the index")?;
    analyze(&db).await?;
    let (job_id, dry_run) = plan_and_job(&app.service, &principal, &data)
        .await
        .context("plan and job")?;
    analyze(&db).await?;
    let setup = setup_started.elapsed();

    let raw = raw_inserts(&db, &data).await.context("raw inserts")?;
    checkpoint(&db).await;

    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let hwm_before = proc_status_kb("VmHWM")?;
    let started = Instant::now();
    let outcome = app
        .service
        .execute_job(&principal, &job_id, Exercise::default(), None)
        .await
        .context("restore")?;
    let restore = started.elapsed();
    let hwm_after = proc_status_kb("VmHWM")?;
    verify(&db, &job_id, rows, outcome).await?;
    let evidence = evidence_made(&store, &job_id).await?;
    analyze(&db).await?;
    checkpoint(&db).await;
    let undo = undo(&app.service, &principal, &db, &job_id, rows)
        .await
        .context("undo")?;
    // Nothing of this run may go on in the background into the next one.
    evidence_made(&store, &undo.job_id).await?;
    if std::env::var_os("RRS_BENCH_KEEP").is_some() {
        println!("data kept in {}", dir.keep().display());
    }
    let backend = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (embedded default)"
    };
    Ok(Report {
        backend,
        rows,
        setup,
        raw,
        restore,
        dry_run,
        evidence,
        undo,
        hwm_before,
        hwm_after,
        reset,
    })
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

/// The rows: deterministic payloads of about 400 bytes, as the index, the
/// plan and the baseline all see them.
struct Data {
    rows: usize,
    /// Every version is at `event_time`; the plan's PIT is later, the
    /// watermark later still.
    event_time: DateTime<Utc>,
    pit: DateTime<Utc>,
    watermark: DateTime<Utc>,
}

impl Data {
    fn new(rows: usize) -> Self {
        let now = Utc::now();
        Self {
            rows,
            event_time: now - chrono::Duration::minutes(30),
            pit: now - chrono::Duration::minutes(5),
            watermark: now - chrono::Duration::minutes(1),
        }
    }
}

fn sys_id(i: usize) -> String {
    format!("{:032x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15)
}

fn payload(i: usize) -> serde_json::Value {
    json!({"number": format!("INC{i:07}"),
        "short_description": format!("Printer {} on floor {} is on fire again", i % 97, i % 12),
        "description": format!("Caller reports that the printer next to room {} smells of smoke; ticket {i} restored.", i % 400),
        "state": (i % 7) as i64, "priority": (i % 5) as i64 + 1, "impact": (i % 3) as i64 + 1,
        "caller_id": format!("U{:06}", i % 5_000), "assignment_group": format!("group-{:02}", i % 25),
        "category": "hardware", "active": !i.is_multiple_of(3), "opened_at": "2026-11-20T09:00:00Z"})
}

/// One `upsert` version per row, in big batches, and a fresh watermark on
/// every partition.
async fn load_index(store: &Store, data: &Data) -> anyhow::Result<()> {
    let now = Utc::now();
    let topic = format!("sn.{TENANT}.{INSTANCE}.{TABLE}");
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    for i in 0..data.rows {
        let p = payload(i);
        batch.push(IndexRecordRow {
            tenant_id: TENANT.into(),
            instance_id: INSTANCE.into(),
            table: TABLE.into(),
            sys_id: sys_id(i),
            op: "upsert".into(),
            event_time_us: data.event_time.timestamp_micros() + (i % 1_000) as i64,
            topic: topic.clone(),
            partition: (i % PARTITIONS) as i32,
            offset: i as i64,
            payload_sha256: Some(canonical_sha256(&p)?),
            payload: Some(p),
        });
        if batch.len() == LOAD_BATCH || i + 1 == data.rows {
            store.insert_index_records(&batch, now).await?;
            batch.clear();
        }
    }
    for partition in 0..PARTITIONS as i32 {
        let watermark = WatermarkRow {
            tenant_id: TENANT.into(),
            instance_id: INSTANCE.into(),
            topic: topic.clone(),
            partition,
            watermark_time_us: data.watermark.timestamp_micros(),
            published_at: now,
        };
        store.upsert_watermark(&watermark).await?;
    }
    Ok(())
}

/// The writable target table, an executable plan of creates (and how long
/// its dry-run took), a running job.
async fn plan_and_job(
    service: &RestoreService,
    principal: &Principal,
    data: &Data,
) -> anyhow::Result<(String, Duration)> {
    let column = |name: &str, column_type| Column {
        name: name.into(),
        column_type,
        reference_table: None,
    };
    let mut columns: Vec<Column> = [
        "number",
        "short_description",
        "description",
        "caller_id",
        "assignment_group",
    ]
    .into_iter()
    .map(|name| column(name, ColumnType::String))
    .collect();
    columns.extend(["state", "priority", "impact"].map(|name| column(name, ColumnType::Integer)));
    columns.push(column("active", ColumnType::Boolean));
    columns.push(column("opened_at", ColumnType::Datetime));
    service
        .put_target_table(
            principal,
            (TENANT, INSTANCE, TABLE),
            columns,
            true,
            Utc::now(),
        )
        .await?;
    let request = PlanRequest {
        plan_id: Some(format!("bench-{}", uuid::Uuid::new_v4().simple())),
        tenant_id: TENANT.into(),
        instance_id: INSTANCE.into(),
        target: None,
        pit: data.pit,
        tables: vec![ScopeTable {
            table: TABLE.into(),
            sys_ids: None,
        }],
        delete_decisions: Vec::new(),
        include_media: false,
        chunk_size: Some(CHUNK as u32),
    };
    let started = Instant::now();
    let (plan, _) = service.dry_run(principal, request, Utc::now()).await?;
    let dry_run = started.elapsed();
    ensure!(
        plan.gate.executability == Executability::Executable,
        "plan not executable: {:?}",
        plan.gate.reasons
    );
    ensure!(
        plan.summary.creates == data.rows as i64,
        "plan summary {:?}",
        plan.summary
    );
    let create = CreateJob {
        plan_id: plan.plan_id,
        plan_hash: plan.plan_hash,
    };
    let job = service.create_job(principal, create, Utc::now()).await?;
    ensure!(
        job.status.as_str() == "running",
        "job is {}",
        job.status.as_str()
    );
    Ok((job.job_id, dry_run))
}

/// Waits for the restore's evidence package, which the service makes in
/// the background once the job ends (hashing every artifact, 100,000
/// journal and outcome rows among them): an undo timed while it is being
/// made would share the machine and the database with it, as the
/// restore never does. Returns how long it took to appear.
async fn evidence_made(store: &Store, job_id: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while store.evidence_package(job_id, None).await?.is_none() {
        ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the restore's evidence package did not appear within 300 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(started.elapsed())
}

/// How long the undo's plan and execution took.
struct UndoTimes {
    job_id: String,
    plan: Duration,
    execute: Duration,
}

/// Undoes the restore: an undo plan listing the delete candidates (not
/// timed), the plan with every one allowed (timed), a job, its execution
/// (timed); then the target must be empty again and the undo journaled.
async fn undo(
    service: &RestoreService,
    principal: &Principal,
    db: &DatabaseConnection,
    job_id: &str,
    rows: usize,
) -> anyhow::Result<UndoTimes> {
    let request = UndoRequest {
        chunk_size: Some(CHUNK as u32),
        ..UndoRequest::default()
    };
    let (listed, _) = service
        .undo_plan(principal, job_id, request.clone(), Utc::now())
        .await?;
    let decided = UndoRequest {
        delete_decisions: listed
            .delete_candidates
            .iter()
            .map(|c| DecisionInput {
                candidate_id: c.candidate_id.clone(),
                decision: DeleteDecision::AllowDeletion,
            })
            .collect(),
        ..request
    };
    let started = Instant::now();
    let (plan, _) = service
        .undo_plan(principal, job_id, decided, Utc::now())
        .await?;
    let planned = started.elapsed();
    ensure!(
        plan.gate.executability == Executability::Executable && plan.summary.deletes == rows as i64,
        "undo plan {:?} {:?}",
        plan.gate.reasons,
        plan.summary
    );
    let create = CreateJob {
        plan_id: plan.plan_id,
        plan_hash: plan.plan_hash,
    };
    let job = service.create_job(principal, create, Utc::now()).await?;
    // Deleting every restored row is high-risk for the capability policy:
    // the operator confirms it, as the API would have them.
    let confirmed = Exercise {
        elevated_confirmation: Some(ElevatedConfirmation {
            confirmed: true,
            confirmation: format!("{TENANT}/{INSTANCE}"),
            reason: "bench: undo the restore".into(),
        }),
        ..Exercise::default()
    };
    let started = Instant::now();
    let outcome = service
        .execute_job(principal, &job.job_id, confirmed, None)
        .await?;
    let executed = started.elapsed();
    let ExecOutcome::Terminal(view) = outcome else {
        anyhow::bail!("the undo paused");
    };
    ensure!(
        view.state == ExecutionPhase::Completed,
        "undo ended {}",
        view.state.as_str()
    );
    let sql = "SELECT COUNT(*) AS n FROM target_records WHERE tenant_id = ? AND instance_id = ? AND table_name = ?";
    let left = count(db, sql, vec![TENANT.into(), INSTANCE.into(), TABLE.into()]).await?;
    let sql = "SELECT COUNT(*) AS n FROM rollback_journal WHERE job_id = ?";
    let journal = count(db, sql, vec![job.job_id.clone().into()]).await?;
    ensure!(
        left == 0 && journal == rows as i64,
        "after the undo: {left} target rows left, {journal} journal rows"
    );
    Ok(UndoTimes {
        job_id: job.job_id,
        plan: planned,
        execute: executed,
    })
}

/// A scratch table with the DDL of `target_records` (primary key included).
async fn scratch_table(db: &DatabaseConnection) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let ddl: Vec<String> = match backend {
        DatabaseBackend::Postgres => vec![format!(
            "CREATE TABLE {SCRATCH} (LIKE target_records INCLUDING ALL)"
        )],
        _ => {
            let sql = "SELECT sql FROM sqlite_master WHERE tbl_name = 'target_records' AND sql IS NOT NULL ORDER BY type DESC";
            let rows = db.query_all(Statement::from_string(backend, sql)).await?;
            let mut ddl = Vec::new();
            for row in rows {
                ddl.push(
                    row.try_get::<String>("", "sql")?
                        .replace("target_records", SCRATCH),
                );
            }
            ddl
        }
    };
    for sql in ddl {
        db.execute(Statement::from_string(backend, sql)).await?;
    }
    Ok(())
}

/// The baseline: the same rows, 500 per multi-row INSERT and transaction.
async fn raw_inserts(db: &DatabaseConnection, data: &Data) -> anyhow::Result<Duration> {
    scratch_table(db).await?;
    checkpoint(db).await;
    let sql = format!(
        "INSERT INTO {SCRATCH} (tenant_id, instance_id, table_name, sys_id, payload, payload_sha256, updated_at) VALUES {}",
        rows_placeholders(CHUNK, 7)
    );
    let mut timed = Duration::ZERO;
    for start in (0..data.rows).step_by(CHUNK) {
        let end = (start + CHUNK).min(data.rows);
        let mut values: Vec<Value> = Vec::with_capacity((end - start) * 7);
        for i in start..end {
            let p = payload(i);
            let sha = canonical_sha256(&p)?;
            values.extend([
                TENANT.into(),
                INSTANCE.into(),
                TABLE.into(),
                sys_id(i).into(),
                Some(p).into(),
                Some(sha).into(),
            ]);
            values.push(Utc::now().into());
        }
        let sql = if end - start == CHUNK {
            sql.clone()
        } else {
            sql.replacen(
                &rows_placeholders(CHUNK, 7),
                &rows_placeholders(end - start, 7),
                1,
            )
        };
        let started = Instant::now();
        let txn = db.begin().await?;
        txn.execute(statement(db.get_database_backend(), &sql, values))
            .await?;
        txn.commit().await?;
        timed += started.elapsed();
    }
    let count = count(db, &format!("SELECT COUNT(*) AS n FROM {SCRATCH}"), vec![]).await?;
    ensure!(count == data.rows as i64, "raw inserts wrote {count} rows");
    Ok(timed)
}

/// PostgreSQL: fresh statistics, as autovacuum would have them in service
/// (without them the planner picks nested loops over freshly loaded tables
/// and the dry-run's PIT query runs past the statement timeout).
async fn analyze(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let sql = Statement::from_string(db.get_database_backend(), "ANALYZE");
        db.execute(sql).await.context("ANALYZE")?;
    }
    Ok(())
}

/// Flushes the write-ahead log so neither phase pays for the other's.
async fn checkpoint(db: &DatabaseConnection) {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => "CHECKPOINT",
        _ => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    // Best effort: a refused checkpoint changes only the noise.
    let _ = db
        .execute(Statement::from_string(db.get_database_backend(), sql))
        .await;
}

async fn count(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> anyhow::Result<i64> {
    let row = db
        .query_one(statement(db.get_database_backend(), sql, values))
        .await?
        .context("no count")?;
    Ok(row.try_get("", "n")?)
}

/// The job completed and every row is in the target and the journal.
async fn verify(
    db: &DatabaseConnection,
    job_id: &str,
    rows: usize,
    outcome: ExecOutcome,
) -> anyhow::Result<()> {
    let ExecOutcome::Terminal(view) = outcome else {
        anyhow::bail!("the execution paused");
    };
    ensure!(
        view.state == ExecutionPhase::Completed,
        "execution ended {} ({:?})",
        view.state.as_str(),
        view.status_reason_code
    );
    ensure!(
        view.chunks.iter().all(|c| c.status == ChunkStatus::Applied),
        "a chunk fell back"
    );
    let sql = "SELECT COUNT(*) AS n FROM target_records WHERE tenant_id = ? AND instance_id = ? AND table_name = ?";
    let target = count(db, sql, vec![TENANT.into(), INSTANCE.into(), TABLE.into()]).await?;
    let sql = "SELECT COUNT(*) AS n FROM rollback_journal WHERE job_id = ?";
    let journal = count(db, sql, vec![job_id.into()]).await?;
    let sql = "SELECT COUNT(*) AS n FROM sn_mirror WHERE job_id = ?";
    let mirror = count(db, sql, vec![job_id.into()]).await?;
    let sql = "SELECT COUNT(*) AS n FROM row_outcomes WHERE job_id = ? AND outcome = 'applied' \
               AND journal_id IS NOT NULL";
    let outcomes = count(db, sql, vec![job_id.into()]).await?;
    ensure!(
        [target, journal, mirror, outcomes] == [rows as i64; 4],
        "target {target}, journal {journal}, mirror {mirror}, applied outcomes {outcomes} of {rows}"
    );
    Ok(())
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
    backend: &'static str,
    rows: usize,
    setup: Duration,
    raw: Duration,
    restore: Duration,
    dry_run: Duration,
    /// How long after the restore its evidence package appeared.
    evidence: Duration,
    undo: UndoTimes,
    hwm_before: u64,
    hwm_after: u64,
    reset: bool,
}

impl Report {
    fn print(&self) {
        let rate = |d: Duration| self.rows as f64 / d.as_secs_f64().max(f64::EPSILON);
        let (restore, raw) = (rate(self.restore), rate(self.raw));
        let ratio = restore / raw;
        let mb = |kb: u64| kb as f64 / 1024.0;
        let growth = mb(self.hwm_after.saturating_sub(self.hwm_before));
        let goal = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "restore bench on {}: {} rows, chunk_size {CHUNK} (set-up {:.1} s, not timed)",
            self.backend,
            self.rows,
            self.setup.as_secs_f64()
        );
        println!(
            "  restore (execute to completion)   {:>8.2} s  {restore:>9.0} rows/s",
            self.restore.as_secs_f64()
        );
        println!(
            "  raw 500-row INSERT transactions   {:>8.2} s  {raw:>9.0} rows/s",
            self.raw.as_secs_f64()
        );
        println!(
            "  ratio restore/raw {ratio:.2} (goal >= 0.33: {})",
            goal(ratio >= 1.0 / 3.0)
        );
        let secs = |d: Duration| d.as_secs_f64();
        let restore_total = self.dry_run + self.restore;
        let undo_total = self.undo.plan + self.undo.execute;
        println!(
            "  undo of the restore (issue 18): plan {:.2} s + execute {:.2} s = {:.2} s; \
             restore: dry-run {:.2} s + execute {:.2} s = {:.2} s",
            secs(self.undo.plan),
            secs(self.undo.execute),
            secs(undo_total),
            secs(self.dry_run),
            secs(self.restore),
            secs(restore_total)
        );
        println!(
            "  (the restore's evidence package, made in the background, appeared {:.2} s after \
             it ended; the undo starts after it)",
            secs(self.evidence)
        );
        let speed = secs(restore_total) / secs(undo_total).max(f64::EPSILON);
        println!(
            "  ratio undo/restore speed {speed:.2} (execute alone {:.2}; goal >= 1.0: {})",
            secs(self.restore) / secs(self.undo.execute).max(f64::EPSILON),
            goal(speed >= 1.0)
        );
        let how = if self.reset {
            "VmHWM reset before the restore"
        } else {
            "VmHWM NOT reset: whole-process peak"
        };
        println!(
            "  memory: VmHWM {:.0} MB before, {:.0} MB after ({how}); growth {growth:.1} MB (goal < 300 MB: {})",
            mb(self.hwm_before),
            mb(self.hwm_after),
            goal(growth < 300.0 && mb(self.hwm_after) < 300.0)
        );
    }
}
