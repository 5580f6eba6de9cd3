//! Evidence of a 100,000-row job: export (hash the four artifacts in
//! streamed RFC 8785 form, write the report and manifest, sign) and
//! verify (re-hash everything, check hashes and signature), beside the
//! baseline of sha256 alone over the very same canonical bytes, measured
//! in the same run. Prints medians and the ratios.
//!
//! Rows come from a deterministic generator page by page (as the store
//! pages them), so the figures are the cost of evidence, not of a database.
//!
//! Run: `cargo bench -p rrs --bench evidence_export` (release), or for a
//! quick look `cargo bench -p rrs --profile dev --bench evidence_export`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use rrs::domain::canonical::sha256_hex;
use rrs::domain::evidence::artifact;
use rrs::domain::evidence::keys::{generate_key_pair, parse_public_key_pem, Signer};
use rrs::domain::evidence::manifest::{Origin, ResumeMetadata};
use rrs::domain::evidence::package::{digest_artifacts, scope_of, seal, verify_parts, SealRequest};
use rrs::domain::evidence::verify::SignedParts;
use rrs::domain::evidence::{
    ArtifactKind, ArtifactScope, ArtifactSource, Evidence, EvidenceSources, JobFacts, Keyring,
    Page, RetainedBeforeImage, Retention,
};
use rrs::domain::DomainError;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

const ROWS: u64 = 100_000;
const SAMPLES: usize = 5;

/// One artifact whose long list is `rows` generated rows.
struct Generated {
    kind: ArtifactKind,
    rows: u64,
}

fn sha(seed: &str) -> String {
    sha256_hex(seed.as_bytes())
}

/// A 64-hex-digit value standing in for a stored hash (cheap to make).
fn hex64(tag: u64, i: u64) -> String {
    format!("{tag:032x}{i:032x}")
}

fn row(kind: ArtifactKind, i: u64) -> Value {
    let sys_id = format!("{:032x}", i * 7919);
    match kind {
        ArtifactKind::Plan => {
            json!({"plan_row_id": i + 1, "chunk_index": i / 500, "table": "incident",
            "sys_id": sys_id, "action": "update", "before_sha256": hex64(0xb, i),
            "after_sha256": hex64(0xa, i),
            "after_payload": {"short_description": format!("printer {i} on fire"), "caller_id": "u1", "priority": 2}})
        }
        ArtifactKind::Execution => {
            json!({"plan_row_id": i + 1, "chunk_id": format!("chunk-{}", i / 500),
            "table": "incident", "sys_id": sys_id, "action": "update", "outcome": "applied",
            "reason_code": null, "used_row_fallback": false, "row_attempt": 1, "journal_id": format!("jr-{i}")})
        }
        ArtifactKind::RollbackJournal => {
            json!({"journal_id": format!("jr-{i}"), "plan_hash": hex64(0, 0),
            "plan_row_id": i + 1, "chunk_id": format!("chunk-{}", i / 500), "row_attempt": 1,
            "table": "incident", "sys_id": sys_id, "action": "update",
            "before_image_sha256": hex64(0xb, i), "after_image_sha256": hex64(0xa, i),
            "created_at": "2026-11-20T10:00:00.000000Z"})
        }
        ArtifactKind::JobEvents => json!({"seq": i + 1, "event_type": "chunk_applied",
            "at": "2026-11-20T10:00:00.000000Z", "actor": "ops-7", "reason_code": null,
            "details": {"chunk_index": i}}),
    }
}

#[async_trait]
impl ArtifactSource for Generated {
    async fn header(&self) -> Result<Map<String, Value>, DomainError> {
        Ok(Map::from_iter([
            ("job_id".to_owned(), json!("job-bench")),
            ("kind".to_owned(), json!(self.kind.as_str())),
        ]))
    }
    fn lists(&self) -> Vec<&'static str> {
        vec!["rows"]
    }
    async fn page(&self, _: &str, after: Option<&str>, limit: u64) -> Result<Page, DomainError> {
        let start = after.and_then(|a| a.parse::<u64>().ok()).unwrap_or(0);
        let end = (start + limit).min(self.rows);
        Ok(Page {
            items: (start..end).map(|i| row(self.kind, i)).collect(),
            next: (end < self.rows).then(|| end.to_string()),
        })
    }
}

struct Job(JobFacts);

#[async_trait]
impl EvidenceSources for Job {
    async fn job(&self, _: &str) -> Result<Option<JobFacts>, DomainError> {
        Ok(Some(self.0.clone()))
    }
    fn artifact<'a>(
        &'a self,
        _: &'a ArtifactScope,
        kind: ArtifactKind,
    ) -> Box<dyn ArtifactSource + 'a> {
        // A 100,000-row job: 100,000 plan rows, outcomes and journal rows,
        // and one event per 500-row chunk.
        let rows = if kind == ArtifactKind::JobEvents {
            ROWS / 500 + 3
        } else {
            ROWS
        };
        Box::new(Generated { kind, rows })
    }
    async fn retained_before_images(
        &self,
        _: &str,
        _: i64,
        _: u64,
    ) -> Result<Vec<RetainedBeforeImage>, DomainError> {
        // Images pruned: the artifacts alone are measured.
        Ok(Vec::new())
    }
}

struct OneKey(ed25519_dalek::VerifyingKey);

#[async_trait]
impl Keyring for OneKey {
    async fn public_key(
        &self,
        _: &str,
    ) -> Result<Option<ed25519_dalek::VerifyingKey>, DomainError> {
        Ok(Some(self.0))
    }
}

fn facts() -> JobFacts {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
        .single()
        .unwrap_or_default();
    JobFacts {
        job_id: "job-bench".into(),
        plan_id: "plan-bench".into(),
        plan_hash: sha("plan"),
        tenant_id: "acme".into(),
        instance_id: "prod".into(),
        source: None,
        tables: vec!["incident".into()],
        status: "completed".into(),
        status_reason_code: None,
        operator_id: "ops-7".into(),
        created_at: at,
        started_at: Some(at),
        finished_at: Some(at),
        pit_algorithm_version: Some("pit-v1".into()),
        resume_metadata: ResumeMetadata::default(),
        policy_decisions: vec![],
        last_event_seq: (ROWS / 500 + 3) as i64,
        outcome_summary: json!({"applied": ROWS}),
        undo_of: None,
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

// The bench reads top to bottom: set up, measure, report.
#[allow(clippy::too_many_lines)]
async fn run() -> anyhow::Result<()> {
    let (private, public) = generate_key_pair()?;
    let evidence = Evidence {
        signer: Signer::from_pem("bench", &private, Some(&public))?,
        retention: Retention {
            retention_class: "standard".into(),
            retention_days: 365,
            worm_enabled: true,
        },
    };
    let keyring = OneKey(parse_public_key_pem(&public)?);
    let job = Job(facts());
    let scope = scope_of(&job.0);

    // The same canonical bytes, materialised once for the baseline.
    let mut bytes = Vec::new();
    for kind in ArtifactKind::ALL {
        artifact::stream(job.artifact(&scope, kind).as_ref(), &mut bytes).await?;
    }
    let started = Instant::now();
    let mut built = 0usize;
    for kind in ArtifactKind::ALL {
        let source = job.artifact(&scope, kind);
        let mut after = None;
        loop {
            let page = source.page("rows", after.as_deref(), 1000).await?;
            built += black_box(&page.items).len();
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    let generation = started.elapsed();
    let started = Instant::now();
    let mut sink = std::io::sink();
    for kind in ArtifactKind::ALL {
        artifact::stream(job.artifact(&scope, kind).as_ref(), &mut sink).await?;
    }
    let canonical = started.elapsed();
    let (mut export, mut verify, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    let mut parts = None;
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let digests = digest_artifacts(&job, &scope).await?;
        let request = SealRequest {
            job: &job.0,
            package_version: 1,
            origin: Origin::Export,
            generated_by: "bench",
            now: Utc::now(),
        };
        let sealed = seal(&evidence, request, &digests)?;
        export.push(started.elapsed());
        let signed = SignedParts {
            manifest: serde_json::from_str(&sealed.manifest_json)?,
            manifest_sha256: sealed.manifest_sha256.clone(),
            signature: sealed.signature.clone(),
            report: serde_json::from_str(&sealed.report_json)?,
            report_hash: sealed.report_hash.clone(),
        };
        let started = Instant::now();
        let verdict = verify_parts(&job, &keyring, &signed, Utc::now()).await?;
        verify.push(started.elapsed());
        anyhow::ensure!(verdict.verified, "the package did not verify: {verdict:?}");
        let started = Instant::now();
        black_box(Sha256::digest(black_box(&bytes)));
        baseline.push(started.elapsed());
        parts = Some(signed);
    }
    let rows = parts
        .map(|p| p.manifest["artifact_sizes"].clone())
        .unwrap_or_default();
    let (export, verify, baseline) = (median(export), median(verify), median(baseline));
    println!(
        "evidence of a {ROWS}-row job: {} canonical bytes over four artifacts ({rows})",
        bytes.len()
    );
    println!("median of {SAMPLES} runs:");
    println!(
        "  export (stream + RFC 8785 + sha256 + report + manifest + ed25519)  {export:>12.2?}"
    );
    println!(
        "  verify (re-stream + re-hash + checks + signature)                  {verify:>12.2?}"
    );
    println!(
        "  baseline: sha256 alone over the same bytes                          {baseline:>12.2?}"
    );
    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64().max(f64::EPSILON);
    println!("  of which: building the {built} rows (what a store read costs here)   {generation:>12.2?}");
    println!(
        "  of which: rows + RFC 8785 serialisation, no hashing                 {canonical:>12.2?}"
    );
    println!(
        "ratio export/sha256 {:.1}x, verify/sha256 {:.1}x, export+verify/sha256 {:.1}x",
        ratio(export),
        ratio(verify),
        ratio(export + verify)
    );
    Ok(())
}
