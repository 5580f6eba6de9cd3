//! Evidence endpoints: a job's package (latest or a version) verified
//! afresh on every read, a new export, the package file for offline
//! verification, and the keyring of signer public keys.

use poem::web::Data;
use poem::Body;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi};

use super::body::JsonBody;
use super::error::ApiResult;
use super::evidence_types::{
    EvidencePackageBody, PruneJournalBody, PruneJournalRequest, SignerKeyBody, SignerKeyPage,
};
use super::paging;
use super::security::BearerAuth;
use super::ApiTags;
use crate::domain::RestoreService;

/// Evidence endpoints.
pub struct EvidenceApi;

#[derive(ApiResponse)]
enum EvidenceResponse {
    /// The package with a fresh verification; a failed verification is
    /// still `200`, with `verification.signature_verification = failed`
    /// and its `reason_code`.
    #[oai(status = 200)]
    Ok(Json<EvidencePackageBody>),
}

#[derive(ApiResponse)]
enum ExportResponse {
    /// A new package version, verified as stored.
    #[oai(status = 201)]
    Created(Json<EvidencePackageBody>),
}

#[derive(ApiResponse)]
enum PackageFileResponse {
    /// The self-contained package file (canonical JSON): the four
    /// artifacts in full, the manifest, its hash and signature, the report
    /// and the signer's public key. `rrs evidence verify FILE
    /// --public-key KEY.pem` verifies it offline.
    #[oai(status = 200, content_type = "application/octet-stream")]
    Ok(
        Binary<Body>,
        /// `attachment; filename="evidence-<job_id>-v<version>.json"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

#[derive(ApiResponse)]
enum KeysResponse {
    /// A page of the keyring.
    #[oai(status = 200)]
    Ok(Json<SignerKeyPage>),
}

#[derive(ApiResponse)]
enum PruneResponse {
    /// What was pruned (or would be, in a dry run) and what was left alone.
    #[oai(status = 200)]
    Ok(Json<PruneJournalBody>),
}

#[OpenApi(tag = "ApiTags::Evidence")]
impl EvidenceApi {
    /// Read a job's evidence package
    ///
    /// The latest package of a terminal job (or `package_version`),
    /// verified afresh: artifact hashes recomputed from the stored plan,
    /// execution, rollback journal and events, the report hash, and the
    /// ed25519 signature with the keyring's key for `signer_key_id`. Each
    /// failed verification is counted for the SLO. Needs `restore_read`.
    /// `404 job_not_found` (also for another tenant's job), `409
    /// evidence_job_not_terminal` before the job ended, `404
    /// evidence_not_found` for a terminal job without that package.
    #[oai(
        path = "/v1/jobs/:job_id/evidence",
        method = "get",
        operation_id = "get_evidence"
    )]
    async fn get_evidence(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        /// A specific version (default: the latest).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        package_version: Query<Option<i64>>,
    ) -> ApiResult<EvidenceResponse> {
        let principal = bearer.principal(&svc).await?;
        let package = svc
            .evidence(&principal, &job_id.0, package_version.0)
            .await?;
        Ok(EvidenceResponse::Ok(Json(package.into())))
    }

    /// Export a new evidence package
    ///
    /// Generates a new package version for a terminal job (earlier
    /// versions are kept, never changed), records an `evidence_exported`
    /// event and returns the package verified as stored. Needs
    /// `evidence_export`. `404 job_not_found`, `409
    /// evidence_job_not_terminal`.
    #[oai(
        path = "/v1/jobs/:job_id/evidence/export",
        method = "post",
        operation_id = "export_evidence"
    )]
    async fn export_evidence(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
    ) -> ApiResult<ExportResponse> {
        let principal = bearer.principal(&svc).await?;
        let package = svc.export_evidence(&principal, &job_id.0).await?;
        Ok(ExportResponse::Created(Json(package.into())))
    }

    /// Download an evidence package file
    ///
    /// The package as one self-contained file for auditors, streamed:
    /// verify it offline with `rrs evidence verify FILE --public-key
    /// KEY.pem` (the key from `GET /v1/evidence/keys`). Needs
    /// `restore_read`; the same `404`/`409` answers as reading the package.
    #[oai(
        path = "/v1/jobs/:job_id/evidence/package",
        method = "get",
        operation_id = "download_evidence_package"
    )]
    async fn download_evidence_package(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// The job's id.
        job_id: Path<String>,
        /// A specific version (default: the latest).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        package_version: Query<Option<i64>>,
    ) -> ApiResult<PackageFileResponse> {
        let principal = bearer.principal(&svc).await?;
        let download = svc
            .download_evidence(&principal, &job_id.0, package_version.0)
            .await?;
        let disposition = format!("attachment; filename=\"{}\"", download.file_name);
        let body = Body::from_bytes_stream(download.into_stream());
        Ok(PackageFileResponse::Ok(Binary(body), disposition))
    }

    /// List evidence signer keys
    ///
    /// The keyring: the public key of every signer key id that signed
    /// packages here, including keys rotated out, so old packages still
    /// verify. `current` marks the key new packages are signed with. Needs
    /// `restore_read`.
    #[oai(
        path = "/v1/evidence/keys",
        method = "get",
        operation_id = "list_evidence_keys"
    )]
    async fn list_evidence_keys(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        /// Page size (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = r"^[0-9]{1,18}$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<KeysResponse> {
        let principal = bearer.principal(&svc).await?;
        let page = paging::request(limit.0, cursor.as_deref(), paging::DEFAULT_LIMIT);
        let keys = svc.evidence_keys(&principal, page).await?;
        Ok(KeysResponse::Ok(Json(SignerKeyPage {
            next_cursor: paging::cursor(keys.next_after),
            items: keys.items.into_iter().map(SignerKeyBody::from).collect(),
        })))
    }

    /// Prune journal before-images
    ///
    /// Removes the rollback journal's before-images of every job whose
    /// retention window (`evidence.retention_days` after it ended) has
    /// passed and whose evidence was exported, and nothing else: every
    /// journal row, linkage id and hash stays, and the job's evidence
    /// still verifies. A job whose latest package fails verification is
    /// left alone. Recorded in the prune audit trail unless `dry_run`.
    /// Needs `ops_admin`.
    #[oai(
        path = "/v1/admin/journal/prune",
        method = "post",
        operation_id = "prune_journal"
    )]
    async fn prune_journal(
        &self,
        svc: Data<&RestoreService>,
        bearer: BearerAuth,
        body: JsonBody<PruneJournalRequest>,
    ) -> ApiResult<PruneResponse> {
        let principal = bearer.principal(&svc).await?;
        let body = body.0;
        let report = svc
            .prune_journal(&principal, &body.actor, body.dry_run.unwrap_or(false))
            .await?;
        Ok(PruneResponse::Ok(Json(report.into())))
    }
}
