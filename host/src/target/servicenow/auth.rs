//! How each request proves who it is: HTTP Basic with the configured user,
//! or an OAuth 2 access token from the instance's `/oauth_token.do`
//! (client credentials grant, form-encoded as ServiceNow requires). A
//! token is cached until shortly before its `expires_in` and fetched by one
//! caller at a time; a token the instance refuses early (revoked, expired
//! on the instance's clock) is forgotten so the next attempt fetches a new
//! one (`http` does that once per request).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::{Client, Url};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::answer::Answer;
use super::backoff::retry_after;
use super::secret::{scrub, Secret};
use crate::target::settings::TargetAuth;

/// A token is renewed this long before the instance says it expires, at
/// most (a fifth of its lifetime for short-lived tokens).
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// How the connector authenticates to the instance.
pub(super) enum Credentials {
    Basic {
        user: String,
        password: Secret,
        header: HeaderValue,
    },
    OAuth(OAuth),
}

/// OAuth 2 client credentials and the cached access token.
pub(super) struct OAuth {
    client_id: String,
    client_secret: Secret,
    token_url: Url,
    cached: Mutex<Option<Token>>,
    /// Held while a token is fetched, so concurrent requests wait for one
    /// fetch instead of each starting their own.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Token {
    value: Secret,
    renew_at: Instant,
}

/// The `Authorization` of one request, and the token it carries (to forget
/// it if the instance refuses it).
pub(super) struct Authorization {
    pub header: HeaderValue,
    pub token: Option<Secret>,
}

/// Why no `Authorization` could be had.
#[derive(Debug)]
pub(super) enum AuthFailure {
    /// The token endpoint refused the client's credentials.
    Refused(String),
    /// The token endpoint could not answer now (retry after the delay).
    Transient(String, Option<Duration>),
}

impl Credentials {
    pub fn new(auth: &TargetAuth, secret: String, base: &Url) -> Result<Self, String> {
        match auth {
            TargetAuth::Basic { user, .. } => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
                let mut header = HeaderValue::from_str(&format!("Basic {encoded}"))
                    .map_err(|_| "the basic credentials cannot be sent in a header".to_owned())?;
                header.set_sensitive(true);
                Ok(Self::Basic {
                    user: user.clone(),
                    password: Secret::new(secret),
                    header,
                })
            }
            TargetAuth::OauthClientCredentials { client_id, .. } => {
                let token_url = base
                    .join("/oauth_token.do")
                    .map_err(|e| format!("no token URL for the instance: {e}"))?;
                Ok(Self::OAuth(OAuth {
                    client_id: client_id.clone(),
                    client_secret: Secret::new(secret),
                    token_url,
                    cached: Mutex::new(None),
                    fetching: tokio::sync::Mutex::new(()),
                }))
            }
        }
    }

    /// `basic user <name>` or `oauth client <id>`, for Debug and messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Basic { user, .. } => format!("basic user {user}"),
            Self::OAuth(oauth) => format!("oauth client {}", oauth.client_id),
        }
    }

    /// The header for the next request.
    pub async fn authorization(
        &self,
        client: &Client,
        limiter: &Semaphore,
    ) -> Result<Authorization, AuthFailure> {
        match self {
            Self::Basic { header, .. } => Ok(Authorization {
                header: header.clone(),
                token: None,
            }),
            Self::OAuth(oauth) => {
                let token = oauth.token(client, limiter).await?;
                let mut header = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        AuthFailure::Refused(
                            "the token endpoint answered a token that cannot be sent in a header"
                                .into(),
                        )
                    })?;
                header.set_sensitive(true);
                Ok(Authorization {
                    header,
                    token: Some(token),
                })
            }
        }
    }

    /// Forgets the token `used` carried (the instance refused it), unless
    /// another request already replaced it.
    pub fn forget(&self, used: &Authorization) {
        if let (Self::OAuth(oauth), Some(token)) = (self, &used.token) {
            let mut cached = oauth.cached.lock().unwrap_or_else(|p| p.into_inner());
            if cached.as_ref().is_some_and(|c| &c.value == token) {
                *cached = None;
            }
        }
    }

    /// `text` without the password, client secret or current token.
    pub fn scrub(&self, text: &str) -> String {
        match self {
            Self::Basic { password, .. } => scrub(text, &[password]),
            Self::OAuth(oauth) => {
                let token = oauth.current().map(|t| t.value);
                let mut secrets = vec![&oauth.client_secret];
                secrets.extend(token.as_ref());
                scrub(text, &secrets)
            }
        }
    }
}

impl OAuth {
    fn current(&self) -> Option<Token> {
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        cached.clone()
    }

    fn valid(&self) -> Option<Secret> {
        self.current()
            .filter(|t| Instant::now() < t.renew_at)
            .map(|t| t.value)
    }

    async fn token(&self, client: &Client, limiter: &Semaphore) -> Result<Secret, AuthFailure> {
        if let Some(token) = self.valid() {
            return Ok(token);
        }
        let _one_fetch = self.fetching.lock().await;
        if let Some(token) = self.valid() {
            return Ok(token);
        }
        let token = self.fetch(client, limiter).await?;
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        *cached = Some(token.clone());
        Ok(token.value)
    }

    /// `POST /oauth_token.do` with the client credentials grant.
    async fn fetch(&self, client: &Client, limiter: &Semaphore) -> Result<Token, AuthFailure> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let scrubbed = |text: String| scrub(&text, &[&self.client_secret]);
        let asked_at = Instant::now();
        let answer = {
            let _permit = limiter.acquire().await.map_err(|_| {
                AuthFailure::Transient("the connector is shutting down".into(), None)
            })?;
            let sent = client
                .post(self.token_url.clone())
                .header(ACCEPT, "application/json")
                .form(&form)
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    response.bytes().await.map(|body| Answer {
                        status,
                        headers,
                        body,
                    })
                }
                Err(error) => Err(error),
            }
        };
        let answer = answer.map_err(|e| {
            let text = format!("the token endpoint did not answer: {}", e.without_url());
            AuthFailure::Transient(scrubbed(text), None)
        })?;
        match answer.status {
            200 => token_of(&answer, asked_at).map_err(|e| AuthFailure::Refused(scrubbed(e))),
            429 | 500..=599 => Err(AuthFailure::Transient(
                scrubbed(format!("token endpoint: {}", answer.error_text())),
                retry_after(&answer.headers),
            )),
            _ => Err(AuthFailure::Refused(scrubbed(format!(
                "the token endpoint refused client {}: {}",
                self.client_id,
                answer.error_text()
            )))),
        }
    }
}

/// The token of a `200` answer; `expires_in` may be a number or a string.
/// Without one, the token is kept until the instance refuses it.
fn token_of(answer: &Answer, asked_at: Instant) -> Result<Token, String> {
    let body: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("the token endpoint answered no JSON: {e}"))?;
    let value = body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("the token endpoint answered no access_token")?;
    let expires_in = match body.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let lifetime = expires_in.map_or(Duration::from_secs(86_400), Duration::from_secs);
    let renew_before = RENEW_BEFORE.min(lifetime / 5);
    Ok(Token {
        value: Secret::new(value.to_owned()),
        renew_at: asked_at + lifetime.saturating_sub(renew_before),
    })
}
