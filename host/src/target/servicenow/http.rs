//! One instance's HTTP client: the base URL, the credentials, a limiter
//! shared by every call (at most `concurrency` requests in flight against
//! the instance, whichever table, batch or scan they serve), per-request
//! timeouts, and the retry rules.
//!
//! Retries, with [`Backoff`](super::backoff::Backoff), at most `retries`
//! times per request:
//! - `429` and `503`: the instance turned the request away before doing
//!   anything (rate limit, node busy), for reads and writes alike.
//! - A connection that could not be established (nothing was sent).
//! - For reads only: every other 5xx, and a connection lost or timed out
//!   after the request was sent (a read has no effect to repeat).
//!
//! Never retried: a write whose request reached the instance and whose
//! answer was lost (connection dropped, timeout) or was `500`, `502`,
//! `504` or another 5xx than `503`: it may have been applied (ServiceNow
//! can fail after committing, in a business rule or while rendering the
//! answer; a gateway error says nothing of what the node behind it did),
//! so it is reported [`Failure::Unknown`] and the domain reads the record
//! back. A `401` is retried once with a new token when the request carried
//! an OAuth token, and is otherwise [`Failure::Unauthorized`].

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, Method, Url};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::answer::Answer;
use super::auth::{AuthFailure, Authorization, Credentials};
use super::backoff::{retry_after, Backoff};
use crate::target::settings::TargetSettings;
use crate::target::TargetError;

/// Whether losing the answer leaves the instance unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Read,
    Write,
}

/// A request body.
#[derive(Debug)]
pub(super) enum Body {
    Json(Value),
    Bytes {
        content_type: String,
        bytes: bytes::Bytes,
    },
}

/// One request, as often as it is tried.
#[derive(Debug)]
pub(super) struct Call<'a> {
    pub method: Method,
    /// Path segments below the base URL (`["api", "now", "table", "incident"]`).
    pub path: &'a [&'a str],
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Body>,
    pub effect: Effect,
}

/// Why a request has no answer to interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// The instance refuses the credentials (after a token refresh, with
    /// OAuth).
    Unauthorized(String),
    /// The instance could not take the request within the retries; nothing
    /// was done by it.
    Unavailable(String),
    /// A write reached the instance and its outcome is unknown.
    Unknown(String),
}

impl From<Failure> for TargetError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unauthorized(m) => TargetError::Unauthorized(m),
            Failure::Unavailable(m) | Failure::Unknown(m) => TargetError::Unavailable(m),
        }
    }
}

/// What to do after one attempt.
enum Step {
    Done(Result<Answer, Failure>),
    Retry(String, Option<Duration>),
    /// The instance refused an OAuth token: fetch a new one and try again.
    NewToken,
}

/// One configured instance.
pub(super) struct Instance {
    client: Client,
    base: Url,
    credentials: Credentials,
    limiter: Semaphore,
    backoff: Backoff,
    pub page_size: usize,
    pub concurrency: usize,
}

impl Instance {
    pub fn new(settings: &TargetSettings, secret: String) -> Result<Self, String> {
        let url = settings.url.as_deref().unwrap_or_default();
        let base = Url::parse(url).map_err(|e| format!("url is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err("url must be the instance's http(s) URL".into());
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err("url must not hold credentials: use auth".into());
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err("url must not have a query or fragment".into());
        }
        let auth = settings
            .auth
            .as_ref()
            .ok_or("auth is required for a servicenow target")?;
        let credentials = Credentials::new(auth, secret, &base)?;
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A write must never be replayed by a redirect to another URL.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rrs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let concurrency = settings.concurrency.max(1);
        Ok(Self {
            client,
            base,
            credentials,
            limiter: Semaphore::new(concurrency),
            backoff: Backoff::new(settings.retries, settings.max_backoff_ms),
            page_size: settings.page_size.max(1),
            concurrency,
        })
    }

    /// The base URL and who the connector authenticates as (no secret).
    pub fn describe(&self) -> String {
        format!("{} as {}", self.base, self.credentials.describe())
    }

    /// `text` without any secret of this instance.
    pub fn scrub(&self, text: &str) -> String {
        self.credentials.scrub(text)
    }

    /// `"<status> <message>: <detail>"` of a failed answer, scrubbed.
    pub fn error_text(&self, answer: &Answer) -> String {
        self.scrub(&answer.error_text())
    }

    /// Sends `call`, retrying as the module documents; an `Ok` answer may be
    /// any status but `401`, `429` and those retried.
    pub async fn call(&self, call: &Call<'_>) -> Result<Answer, Failure> {
        let mut retried = 0;
        let mut new_token = false;
        loop {
            match self.attempt(call, new_token).await {
                Step::Done(outcome) => return outcome.map_err(|f| self.scrubbed(f)),
                Step::NewToken => new_token = true,
                Step::Retry(why, _) if retried >= self.backoff.retries => {
                    let why = self.scrub(&why);
                    return Err(Failure::Unavailable(format!(
                        "{why} (after {retried} retries)"
                    )));
                }
                Step::Retry(why, after) => {
                    let wait = self.backoff.delay(retried, after);
                    tracing::debug!(
                        instance = %self.base,
                        retry = retried + 1,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        why = %self.scrub(&why),
                        "retrying a request to a ServiceNow instance"
                    );
                    tokio::time::sleep(wait).await;
                    retried += 1;
                }
            }
        }
    }

    fn scrubbed(&self, failure: Failure) -> Failure {
        match failure {
            Failure::Unauthorized(m) => Failure::Unauthorized(self.scrub(&m)),
            Failure::Unavailable(m) => Failure::Unavailable(self.scrub(&m)),
            Failure::Unknown(m) => Failure::Unknown(self.scrub(&m)),
        }
    }

    async fn attempt(&self, call: &Call<'_>, had_new_token: bool) -> Step {
        let authorization = match self
            .credentials
            .authorization(&self.client, &self.limiter)
            .await
        {
            Ok(a) => a,
            Err(AuthFailure::Refused(why)) => return Step::Done(Err(Failure::Unauthorized(why))),
            Err(AuthFailure::Transient(why, after)) => return Step::Retry(why, after),
        };
        let answer = match self.send(call, &authorization).await {
            Ok(answer) => answer,
            Err(error) => return lost(call, error),
        };
        let retry = |answer: &Answer| {
            let why = format!(
                "{} {}: {}",
                call.method,
                call.path.join("/"),
                answer.error_text()
            );
            Step::Retry(why, retry_after(&answer.headers))
        };
        match (answer.status, call.effect) {
            (401, _) if authorization.token.is_some() && !had_new_token => {
                self.credentials.forget(&authorization);
                Step::NewToken
            }
            (401, _) => Step::Done(Err(Failure::Unauthorized(format!(
                "{} is refused: {}",
                self.credentials.describe(),
                answer.error_text()
            )))),
            (429 | 503, _) | (500..=599, Effect::Read) => retry(&answer),
            (500..=599, Effect::Write) => Step::Done(Err(Failure::Unknown(format!(
                "{} {} answered {}: it may or may not have been applied",
                call.method,
                call.path.join("/"),
                answer.error_text()
            )))),
            _ => Step::Done(Ok(answer)),
        }
    }

    async fn send(
        &self,
        call: &Call<'_>,
        authorization: &Authorization,
    ) -> Result<Answer, reqwest::Error> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(call.path);
        }
        let mut request = self
            .client
            .request(call.method.clone(), url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, authorization.header.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        request = match &call.body {
            Some(Body::Json(value)) => request.json(value),
            Some(Body::Bytes {
                content_type,
                bytes,
            }) => request
                .header(CONTENT_TYPE, content_type.as_str())
                .body(bytes.clone()),
            None => request,
        };
        // The permit covers the request and its answer, not the waits
        // between retries.
        // (The limiter is never closed; were it, the request would go
        // unlimited rather than fail.)
        let _permit = self.limiter.acquire().await.ok();
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// A request that got no answer: retried when nothing can have happened
/// (no connection) or nothing would (a read); otherwise unknown.
fn lost(call: &Call<'_>, error: reqwest::Error) -> Step {
    let retry = error.is_connect() || call.effect == Effect::Read;
    let error = error.without_url();
    let mut why = format!("{} {}: {error}", call.method, call.path.join("/"));
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        why.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if retry {
        Step::Retry(why, None)
    } else {
        Step::Done(Err(Failure::Unknown(format!(
            "{why}: the answer was lost, the write may or may not have been applied"
        ))))
    }
}
