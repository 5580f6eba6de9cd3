//! Evidence of a real 100,000-row job (`RRS_BENCH_ROWS`), read from the
//! database: the job is planned and restored by the real engine on the
//! embedded SQLite (set-up, not timed), then a package is exported (every
//! artifact streamed from the store in RFC 8785 form and hashed, report,
//! manifest, ed25519) and verified afresh as `GET .../evidence` does,
//! beside sha256 alone over the very same canonical bytes, in the same run.
//! `evidence_export` measures the same without a database.
//!
//! Run: `cargo bench -p rrs --bench evidence_store` (release), or
//! `RRS_BENCH_ROWS=20000 cargo bench -p rrs --profile dev --bench evidence_store`.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use chrono::Utc;
use rrs::domain::canonical::canonical_sha256;
use rrs::domain::evidence::artifact;
use rrs::domain::evidence::manifest::Origin;
use rrs::domain::evidence::package::scope_of;
use rrs::domain::evidence::service::{create, load, verify_row};
use rrs::domain::evidence::store_sources::StoreSources;
use rrs::domain::evidence::{ArtifactKind, EvidenceSources};
use rrs::domain::execute::view::ExecutionPhase;
use rrs::domain::execute::{ExecOutcome, Exercise};
use rrs::domain::job_lifecycle::CreateJob;
use rrs::domain::plan::request::{PlanRequest, ScopeTable};
use rrs::domain::principal::{Capability, Principal, TenantScope};
use rrs::domain::target::{Column, ColumnType};
use rrs::domain::RestoreService;
use rrs::policy::Executability;
use rrs::store::index::{IndexRecordRow, WatermarkRow};
use rrs::store::Store;
use serde_json::json;
use sha2::{Digest, Sha256};

const TENANT: &str = "acme";
const INSTANCE: &str = "prod";
const TABLE: &str = "incident";
const SAMPLES: usize = 3;

fn main() -> anyhow::Result<()> {
    let rows = std::env::var("RRS_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(rows))
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

fn payload(i: usize) -> serde_json::Value {
    json!({"number": format!("INC{i:07}"), "short_description": format!("Printer {} on fire", i % 97),
        "priority": (i % 5) as i64 + 1, "caller_id": format!("U{:06}", i % 5_000)})
}

/// The index, a writable target table, an executable plan of creates, a
/// running job; then the restore.
async fn restored_job(
    service: &RestoreService,
    store: &Store,
    rows: usize,
) -> anyhow::Result<String> {
    let (principal, now) = (admin(), Utc::now());
    let topic = format!("sn.{TENANT}.{INSTANCE}.{TABLE}");
    let mut batch = Vec::new();
    for i in 0..rows {
        let p = payload(i);
        batch.push(IndexRecordRow {
            tenant_id: TENANT.into(),
            instance_id: INSTANCE.into(),
            table: TABLE.into(),
            sys_id: format!("{:032x}", i + 1),
            op: "upsert".into(),
            event_time_us: (now - chrono::Duration::minutes(30)).timestamp_micros(),
            topic: topic.clone(),
            partition: 0,
            offset: i as i64,
            payload_sha256: Some(canonical_sha256(&p)?),
            payload: Some(p),
        });
        if batch.len() == 20_000 || i + 1 == rows {
            store.insert_index_records(&batch, now).await?;
            batch.clear();
        }
    }
    let watermark = (now - chrono::Duration::minutes(1)).timestamp_micros();
    store
        .upsert_watermark(&WatermarkRow {
            tenant_id: TENANT.into(),
            instance_id: INSTANCE.into(),
            topic,
            partition: 0,
            watermark_time_us: watermark,
            published_at: now,
        })
        .await?;
    let column = |name: &str, column_type| Column {
        name: name.into(),
        column_type,
        reference_table: None,
    };
    let columns = vec![
        column("number", ColumnType::String),
        column("short_description", ColumnType::String),
        column("priority", ColumnType::Integer),
        column("caller_id", ColumnType::String),
    ];
    service
        .put_target_table(&principal, (TENANT, INSTANCE, TABLE), columns, true, now)
        .await?;
    let request = PlanRequest {
        plan_id: None,
        tenant_id: TENANT.into(),
        instance_id: INSTANCE.into(),
        target: None,
        pit: now - chrono::Duration::minutes(5),
        tables: vec![ScopeTable {
            table: TABLE.into(),
            sys_ids: None,
        }],
        delete_decisions: Vec::new(),
        include_media: false,
        chunk_size: Some(500),
    };
    let (plan, _) = service.dry_run(&principal, request, now).await?;
    ensure!(
        plan.gate.executability == Executability::Executable,
        "plan: {:?}",
        plan.gate.reasons
    );
    let create = CreateJob {
        plan_id: plan.plan_id,
        plan_hash: plan.plan_hash,
    };
    let job = service.create_job(&principal, create, now).await?;
    let outcome = service
        .execute_job(&principal, &job.job_id, Exercise::default(), None)
        .await?;
    completed(outcome)?;
    Ok(job.job_id)
}

/// The restore ran to the end: terminal, completed, every chunk applied.
fn completed(outcome: ExecOutcome) -> anyhow::Result<()> {
    let ExecOutcome::Terminal(view) = outcome else {
        anyhow::bail!("the restore paused: {outcome:?}");
    };
    ensure!(
        view.state == ExecutionPhase::Completed
            && view.checkpoint.next_chunk_index == view.checkpoint.total_chunks,
        "the restore did not complete: {:?} at chunk {} of {}",
        view.state,
        view.checkpoint.next_chunk_index,
        view.checkpoint.total_chunks
    );
    Ok(())
}

/// Waits for the automatic package the engine makes in the background;
/// fails after 600 s.
async fn automatic_package(store: &Store, job_id: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while store.evidence_package(job_id, None).await?.is_none() {
        ensure!(
            Instant::now() < deadline,
            "no automatic evidence package for {job_id} 600 s after the restore"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn run(rows: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let toml = format!("data_dir = {:?}\n", dir.path().display().to_string());
    let app = rrs::prepare(rrs::config::Config::from_toml_str(&toml)?).await?;
    let config = app.service.config();
    let store = &Store::connect(&config.database_url(), &config.database).await?;
    let evidence = load(store, &config.evidence, &config.data_dir, Utc::now()).await?;
    let started = Instant::now();
    let job_id = restored_job(&app.service, store, rows)
        .await
        .context("set-up")?;
    // The engine made the automatic package in the background: let it finish.
    automatic_package(store, &job_id).await?;
    println!(
        "set-up (index, plan, restore of {rows} rows): {:.1?}",
        started.elapsed()
    );

    let sources = StoreSources::new(store.clone());
    let job = sources.job(&job_id).await?.context("the job")?;
    let scope = scope_of(&job);
    let mut bytes = Vec::new();
    for kind in ArtifactKind::ALL {
        artifact::stream(sources.artifact(&scope, kind).as_ref(), &mut bytes).await?;
    }
    let (mut export, mut verify, mut read, mut baseline) = (vec![], vec![], vec![], vec![]);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        let row = create(
            store,
            &sources,
            &evidence,
            &job,
            Origin::Export,
            "bench",
            Utc::now(),
        )
        .await?;
        export.push(t.elapsed());
        let t = Instant::now();
        let verdict = verify_row(store, &sources, &row, Utc::now()).await?;
        verify.push(t.elapsed());
        ensure!(verdict.verified, "the package did not verify: {verdict:?}");
        let t = Instant::now();
        let mut sink = std::io::sink();
        for kind in ArtifactKind::ALL {
            artifact::stream(sources.artifact(&scope, kind).as_ref(), &mut sink).await?;
        }
        read.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(Sha256::digest(std::hint::black_box(&bytes)));
        baseline.push(t.elapsed());
    }
    let (export, verify, read, baseline) = (
        median(export),
        median(verify),
        median(read),
        median(baseline),
    );
    println!(
        "evidence of a {rows}-row job on SQLite: {} canonical bytes in four artifacts",
        bytes.len()
    );
    println!("median of {SAMPLES} runs:");
    println!("  export (read + RFC 8785 + sha256 + report + manifest + ed25519 + insert) {export:>10.2?}");
    println!("  verify (re-read + re-hash + checks + signature)                          {verify:>10.2?}");
    println!(
        "    of which: reading the rows and writing RFC 8785, no hashing            {read:>10.2?}"
    );
    println!("  baseline: sha256 alone over the same bytes                               {baseline:>10.2?}");
    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64().max(f64::EPSILON);
    println!(
        "ratio export/sha256 {:.1}x, verify/sha256 {:.1}x",
        ratio(export),
        ratio(verify)
    );
    Ok(())
}
