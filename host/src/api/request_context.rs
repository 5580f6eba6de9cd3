//! Per-request middleware: a request id (taken from `X-Request-Id` or
//! generated, echoed back), a tracing span carrying it, the body size
//! limit, `Retry-After` on every `503`, and request metrics labelled by
//! operation and status.

use std::time::Instant;

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::OperationId;
use tracing::Instrument;

use super::error::framework_error;

/// Wraps the whole app.
pub struct RequestContext {
    /// Largest accepted body, in bytes.
    pub body_limit: usize,
    /// `Retry-After` seconds sent with every `503`.
    pub retry_after_seconds: u64,
    /// Methods per path, for the `Allow` header of a `405`.
    pub routes: std::sync::Arc<super::allow::RouteMethods>,
}

impl<E: Endpoint> Middleware<E> for RequestContext {
    type Output = RequestContextEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestContextEndpoint {
            inner,
            body_limit: self.body_limit,
            retry_after: self.retry_after_seconds.into(),
            routes: self.routes.clone(),
        }
    }
}

/// The endpoint produced by [`RequestContext`].
pub struct RequestContextEndpoint<E> {
    inner: E,
    body_limit: usize,
    retry_after: HeaderValue,
    routes: std::sync::Arc<super::allow::RouteMethods>,
}

impl<E: Endpoint> Endpoint for RequestContextEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let span = tracing::info_span!("request", request_id = %request_id, method = %req.method(), path = %req.uri().path());
        let started = Instant::now();
        let path = req.uri().path().to_owned();
        let mut response = async {
            let req = match limit_body(req, self.body_limit).await {
                Ok(req) => req,
                Err(response) => return response,
            };
            match self.inner.call(req).await {
                Ok(output) => output.into_response(),
                Err(error) => into_response(error).await,
            }
        }
        .instrument(span.clone())
        .await;
        let operation = response
            .data::<OperationId>()
            .map(|id| id.0)
            .unwrap_or("unmatched");
        let status = response.status();
        record(operation, status, started.elapsed().as_secs_f64());
        span.in_scope(|| tracing::debug!(status = status.as_u16(), operation, "request finished"));
        if status == StatusCode::METHOD_NOT_ALLOWED {
            if let Ok(allow) = HeaderValue::from_str(&self.routes.allow(&path)) {
                response
                    .headers_mut()
                    .insert(poem::http::header::ALLOW, allow);
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(poem::http::header::RETRY_AFTER, self.retry_after.clone());
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        Ok(response)
    }
}

async fn into_response(error: poem::Error) -> Response {
    let operation = error.data::<OperationId>().copied();
    let mut response = if error.is_from_response() {
        error.into_response()
    } else {
        framework_error(error).await
    };
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    response
}

/// Refuses a body over the limit with `413 payload_too_large`, whether or
/// not the client sent `Content-Length` (chunked bodies are counted).
async fn limit_body(mut req: Request, limit: usize) -> std::result::Result<Request, Response> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(framework_error(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)).await);
    }
    if declared.is_none()
        && req
            .headers()
            .contains_key(poem::http::header::TRANSFER_ENCODING)
    {
        match req.take_body().into_bytes_limit(limit).await {
            Ok(bytes) => req.set_body(bytes),
            Err(_) => {
                return Err(framework_error(poem::Error::from_status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                ))
                .await)
            }
        }
    }
    Ok(req)
}

fn record(operation: &'static str, status: StatusCode, seconds: f64) {
    let status = status.as_u16().to_string();
    metrics::counter!("rrs_http_requests_total", "operation" => operation, "status" => status.clone()).increment(1);
    metrics::histogram!("rrs_http_request_duration_seconds", "operation" => operation, "status" => status)
        .record(seconds);
}
