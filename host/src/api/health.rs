//! Liveness, readiness and metrics: open endpoints for load balancers and
//! Prometheus, no token needed.

use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::error::{ApiError, ErrorBody};
use super::ApiTags;
use crate::domain::service::Readiness as DomainReadiness;
use crate::domain::{ReasonCode, RestoreService};

/// Health endpoints.
pub struct HealthApi;

/// The process is up.
#[derive(Debug, Object)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

/// Every readiness check passed.
#[derive(Debug, Object)]
pub struct Readiness {
    /// Always `ready`.
    pub status: String,
    /// The database answered a query.
    pub database: bool,
    /// No migration is pending.
    pub migrations: bool,
}

#[derive(ApiResponse)]
enum LiveResponse {
    /// The process is up.
    #[oai(status = 200)]
    Ok(Json<Liveness>),
}

#[derive(ApiResponse)]
enum MetricsResponse {
    /// Prometheus text exposition format.
    #[oai(status = 200, content_type = "text/plain; version=0.0.4")]
    Ok(PlainText<String>),
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// Ready to serve.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// Not ready: the database is unreachable or migrations are pending
    /// (`not_ready`, with the failed checks in `details`).
    #[oai(status = 503)]
    NotReady(
        Json<ErrorBody>,
        /// Seconds to wait before asking again.
        #[oai(header = "Retry-After")]
        String,
    ),
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness
    ///
    /// Answers 200 while the process runs.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> LiveResponse {
        LiveResponse::Ok(Json(Liveness {
            status: "ok".to_owned(),
        }))
    }

    /// Readiness
    ///
    /// Answers 200 when the database is reachable and every migration is
    /// applied, 503 otherwise.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, svc: Data<&RestoreService>) -> Result<ReadyResponse, ApiError> {
        let DomainReadiness {
            database,
            migrations,
        } = svc.readiness().await;
        if database && migrations {
            return Ok(ReadyResponse::Ready(Json(Readiness {
                status: "ready".into(),
                database,
                migrations,
            })));
        }
        let mut body = ErrorBody::new(ReasonCode::NotReady, "the service is not ready");
        body.details = Some(serde_json::json!({ "database": database, "migrations": migrations }));
        Ok(ReadyResponse::NotReady(
            Json(body),
            svc.config().database.retry_after_seconds.to_string(),
        ))
    }

    /// Prometheus metrics
    ///
    /// Request counts and latencies by operation and status, policy
    /// decisions and restore figures, in Prometheus text format.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, svc: Data<&RestoreService>) -> MetricsResponse {
        MetricsResponse::Ok(PlainText(svc.render_metrics()))
    }
}
