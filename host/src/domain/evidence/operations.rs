//! The evidence operations callers use: paying the automatic package a
//! job is owed when it becomes terminal (see [`super::owed`]), exporting
//! one on request, reading the latest (or a
//! given version) with a fresh verification, streaming the package file
//! for offline verification, and listing the keyring.

use crate::domain::ReasonCode;
use crate::domain::RestoreService;
use std::io::Write;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures::channel::mpsc;
use futures::{SinkExt, Stream};

use super::artifact::Output;
use super::manifest::Origin;
use super::offline::write_package_file;
use super::owed::Paying;
use super::service::{self, not_terminal, signed_parts, PackageView};
use super::sources::{ArtifactScope, EvidenceSources, JobFacts};
use super::store_sources::StoreSources;
use super::verify::parse_manifest;
use crate::domain::paging::{Page, PageRequest};
use crate::domain::principal::{Capability, Principal};
use crate::domain::DomainError;
use crate::store::evidence::{EvidencePackageRow, SignerKeyRow};
use crate::store::Store;

/// A keyring entry; `current` when it is this process's signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerKey {
    pub signer_key_id: String,
    pub algorithm: String,
    pub public_key_pem: String,
    pub fingerprint_sha256: String,
    /// `configured` or `development`.
    pub source: String,
    pub registered_at: chrono::DateTime<Utc>,
    pub current: bool,
}

impl SignerKey {
    fn of(row: SignerKeyRow, current_key_id: &str) -> Self {
        Self {
            current: row.signer_key_id == current_key_id,
            signer_key_id: row.signer_key_id,
            algorithm: row.algorithm,
            public_key_pem: row.public_key_pem,
            fingerprint_sha256: row.public_key_sha256,
            source: row.source,
            registered_at: row.registered_at,
        }
    }
}

impl RestoreService {
    /// How this replica pays the automatic packages owed.
    pub(crate) fn paying(&self) -> Paying {
        Paying::new(
            self.store.clone(),
            self.evidence.clone(),
            self.instance_id.clone(),
            &self.config.evidence,
        )
    }
}

impl RestoreService {
    /// `POST /v1/jobs/{job_id}/evidence/export`: a new package version,
    /// verified as stored.
    pub async fn export_evidence(
        &self,
        principal: &Principal,
        job_id: &str,
    ) -> Result<PackageView, DomainError> {
        principal.require(&[Capability::EvidenceExport])?;
        let store = &self.store;
        let evidence = &*self.evidence;
        let sources = StoreSources::new(store.clone());
        let job = terminal_job(&sources, principal, job_id).await?;
        let row = service::create(
            store,
            &sources,
            evidence,
            &job,
            Origin::Export,
            &principal.operator_id,
            Utc::now(),
        )
        .await?;
        record_event(store, &row, &principal.operator_id).await?;
        let verification = service::verify_row(store, &sources, &row, Utc::now()).await?;
        Ok(service::view(&row, verification))
    }

    /// `GET /v1/jobs/{job_id}/evidence`: the latest package (or `version`),
    /// verified afresh from the stored artifacts.
    pub async fn evidence(
        &self,
        principal: &Principal,
        job_id: &str,
        version: Option<i64>,
    ) -> Result<PackageView, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let store = &self.store;
        let sources = StoreSources::new(store.clone());
        let row = stored_package(store, &sources, principal, job_id, version).await?;
        let verification = service::verify_row(store, &sources, &row, Utc::now()).await?;
        Ok(service::view(&row, verification))
    }
}

/// The package file to download and a name for it.
pub struct PackageDownload {
    pub file_name: String,
    /// The file's bytes, produced while they are sent.
    pub body: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl PackageDownload {
    /// The body as a stream of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
        self.body
    }
}

impl RestoreService {
    /// `GET /v1/jobs/{job_id}/evidence/package`: the self-contained package
    /// file, its artifacts streamed from the store page by page.
    pub async fn download_evidence(
        &self,
        principal: &Principal,
        job_id: &str,
        version: Option<i64>,
    ) -> Result<PackageDownload, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let store = &self.store;
        let sources = StoreSources::new(store.clone());
        let row = stored_package(store, &sources, principal, job_id, version).await?;
        let public_key_pem = store
            .signer_key(&row.signer_key_id)
            .await?
            .map(|k| k.public_key_pem);
        let parts = signed_parts(&row);
        let scope = match parse_manifest(&parts.manifest) {
            Ok(m) => ArtifactScope {
                job_id: m.job_id,
                plan_id: m.plan_id,
                events_through_seq: m.job_events_through_seq,
            },
            Err(_) => ArtifactScope {
                job_id: row.job_id.clone(),
                plan_id: row.plan_id.clone(),
                events_through_seq: 0,
            },
        };
        let (tx, body) = mpsc::channel(4);
        let file_name = format!("evidence-{}-v{}.json", row.job_id, row.package_version);
        tokio::spawn(async move {
            let mut out = ChannelOutput {
                buffer: Vec::new(),
                tx,
            };
            let written = write_package_file(
                &sources,
                &scope,
                &parts,
                public_key_pem.as_deref(),
                &mut out,
            )
            .await;
            let last = match written {
                Ok(()) => out.send_buffer().await,
                Err(error) => {
                    tracing::error!(job_id = %row.job_id, %error, "evidence package download failed");
                    Err(error)
                }
            };
            if let Err(error) = last {
                let _ = out
                    .tx
                    .send(Err(std::io::Error::other(error.to_string())))
                    .await;
            }
        });
        Ok(PackageDownload { file_name, body })
    }

    /// The keyring, oldest key first.
    pub async fn evidence_keys(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<SignerKey>, DomainError> {
        principal.require(&[Capability::RestoreRead])?;
        let current = self.evidence.signer.key_id();
        let keys = self.store.signer_keys().await?.into_iter().enumerate();
        let rows: Vec<(i64, SignerKey)> = keys
            .map(|(index, row)| (index as i64 + 1, SignerKey::of(row, current)))
            .skip(usize::try_from(page.after).unwrap_or(0))
            .take(page.fetch() as usize)
            .collect();
        Ok(Page::of(rows, page, |(position, _)| *position).map(|(_, key)| key))
    }

    /// `POST /v1/admin/journal/prune`: removes the before-images of every
    /// job past retention whose evidence was exported.
    pub async fn prune_journal(
        &self,
        principal: &Principal,
        actor: &str,
        dry_run: bool,
    ) -> Result<super::retention::PruneReport, DomainError> {
        principal.require(&[Capability::OpsAdmin])?;
        let days = self.config.evidence.retention_days;
        super::retention::prune(&self.store, days, actor, dry_run, Utc::now()).await
    }
}

fn job_not_found(job_id: &str) -> DomainError {
    DomainError::not_found(ReasonCode::JobNotFound, format!("no job {job_id}"))
}

async fn terminal_job(
    sources: &StoreSources,
    principal: &Principal,
    job_id: &str,
) -> Result<JobFacts, DomainError> {
    match sources.job(job_id).await? {
        Some(job) if principal.sees_tenant(&job.tenant_id) => {
            if job.is_terminal() {
                Ok(job)
            } else {
                Err(not_terminal(&job.job_id, &job.status))
            }
        }
        _ => Err(job_not_found(job_id)),
    }
}

async fn stored_package(
    store: &Store,
    sources: &StoreSources,
    principal: &Principal,
    job_id: &str,
    version: Option<i64>,
) -> Result<EvidencePackageRow, DomainError> {
    terminal_job(sources, principal, job_id).await?;
    if let Some(row) = store.evidence_package(job_id, version).await? {
        return Ok(row);
    }
    let message = match version {
        Some(v) => format!("job {job_id} has no evidence package version {v}"),
        None if store.evidence_owed(job_id).await? => format!(
            "job {job_id} has no evidence package yet: its automatic package is being \
             generated; retry shortly"
        ),
        None => format!("job {job_id} has no evidence package"),
    };
    Err(DomainError::not_found(
        ReasonCode::EvidenceNotFound,
        message,
    ))
}

async fn record_event(
    store: &Store,
    row: &EvidencePackageRow,
    actor: &str,
) -> Result<(), DomainError> {
    let Some(job) = store.job(&row.job_id).await? else {
        return Ok(());
    };
    let event = service::exported_event(row, actor, Utc::now());
    store.append_job_event(job.job_seq, &event).await?;
    Ok(())
}

/// Bytes handed to the response in chunks of about 64 KiB.
struct ChannelOutput {
    buffer: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

const CHUNK_BYTES: usize = 64 * 1024;

impl ChannelOutput {
    async fn send_buffer(&mut self) -> Result<(), DomainError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.tx
            .send(Ok(chunk))
            .await
            .map_err(|_| DomainError::Internal("the client went away".to_owned()))
    }
}

impl Write for ChannelOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Output for ChannelOutput {
    async fn page_done(&mut self) -> Result<(), DomainError> {
        if self.buffer.len() >= CHUNK_BYTES {
            self.send_buffer().await?;
        }
        Ok(())
    }
}
