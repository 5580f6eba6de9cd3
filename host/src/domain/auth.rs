//! Bearer tokens: authenticating a call, issuing and revoking tokens, and
//! the bootstrap admin token.
//!
//! Tokens are 256-bit random values; only their sha256 is stored, so a
//! leaked database grants nothing. An issuer can only hand out what it
//! holds (capabilities and tenants), so `ops_admin` cannot mint a token
//! broader than its own.

use crate::domain::ReasonCode;
use crate::domain::RestoreService;
use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::principal::{Capability, Principal, TenantScope};
use super::DomainError;
use crate::store::tokens::TokenRow;
use crate::store::Store;
use strum::IntoEnumIterator;

/// The longest TTL a token may be issued with (one year).
pub const MAX_TTL_SECONDS: i64 = 366 * 24 * 3600;

/// What an issuer asks for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub operator_id: String,
    pub capabilities: Vec<Capability>,
    pub tenants: Vec<String>,
    pub ttl_seconds: Option<i64>,
}

/// A freshly issued token; `token` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub token_id: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The hex sha256 under which a token is stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Resolves a bearer token to its principal.
pub async fn authenticate(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Principal, DomainError> {
    let row = store
        .token_by_hash(&hash_token(token))
        .await?
        .ok_or(DomainError::Unauthenticated("unknown token"))?;
    if row.revoked_at.is_some() {
        return Err(DomainError::Unauthenticated("the token was revoked"));
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(DomainError::TokenExpired);
    }
    principal_of(row)
}

fn principal_of(row: TokenRow) -> Result<Principal, DomainError> {
    let capabilities = row
        .capabilities
        .iter()
        .map(|c| super::error::parse_stored("capability", c))
        .collect::<Result<BTreeSet<Capability>, _>>()?;
    Ok(Principal {
        token_id: row.token_id,
        operator_id: row.operator_id,
        capabilities,
        tenants: TenantScope::from_list(&row.tenants),
        expires_at: row.expires_at,
    })
}

impl RestoreService {
    /// Issues a token no broader than the issuer's own grants.
    pub async fn issue_token(
        &self,
        issuer: &Principal,
        request: TokenRequest,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, DomainError> {
        let store = &self.store;
        issuer.require(&[Capability::OpsAdmin])?;
        validate_request(&request)?;
        let beyond: Vec<Capability> = request
            .capabilities
            .iter()
            .copied()
            .filter(|c| !issuer.capabilities.contains(c))
            .collect();
        if !beyond.is_empty() {
            return Err(DomainError::MissingCapability {
                missing: beyond,
                details: serde_json::Map::new(),
            });
        }
        let scope = TenantScope::from_list(&request.tenants);
        if !issuer.tenants.covers(&scope) {
            let outside = request
                .tenants
                .iter()
                .find(|t| !issuer.tenants.contains(t))
                .cloned();
            return Err(DomainError::TenantOutOfScope {
                tenant_id: outside.unwrap_or_else(|| "*".into()),
            });
        }
        let expires_at = request.ttl_seconds.map(|ttl| now + Duration::seconds(ttl));
        let mut capabilities: Vec<String> = request
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        capabilities.sort();
        capabilities.dedup();
        mint(
            store,
            request.operator_id,
            capabilities,
            scope.to_list(),
            expires_at,
            false,
            now,
        )
        .await
    }
}

fn validate_request(request: &TokenRequest) -> Result<(), DomainError> {
    if request.operator_id.is_empty() {
        return Err(DomainError::invalid("operator_id must not be empty"));
    }
    if request.tenants.is_empty() || request.tenants.iter().any(|t| t.is_empty()) {
        return Err(DomainError::invalid(
            "tenants must name at least one tenant (or \"*\"), none empty",
        ));
    }
    match request.ttl_seconds {
        Some(ttl) if !(1..=MAX_TTL_SECONDS).contains(&ttl) => Err(DomainError::invalid(format!(
            "ttl_seconds must be between 1 and {MAX_TTL_SECONDS}"
        ))),
        _ => Ok(()),
    }
}

async fn mint(
    store: &Store,
    operator_id: String,
    capabilities: Vec<String>,
    tenants: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
    is_bootstrap: bool,
    now: DateTime<Utc>,
) -> Result<IssuedToken, DomainError> {
    let token = format!("rrs_{}", random_hex(32));
    let token_id = format!("tok_{}", random_hex(12));
    store
        .insert_token(&TokenRow {
            token_id: token_id.clone(),
            token_sha256: hash_token(&token),
            operator_id,
            capabilities,
            tenants,
            is_bootstrap,
            expires_at,
            revoked_at: None,
            created_at: now,
        })
        .await?;
    Ok(IssuedToken {
        token,
        token_id,
        expires_at,
    })
}

impl RestoreService {
    /// Revokes a token; `404 token_not_found` when unknown or already revoked.
    pub async fn revoke_token(
        &self,
        issuer: &Principal,
        token_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let store = &self.store;
        issuer.require(&[Capability::OpsAdmin])?;
        if store.revoke_token(token_id, now).await? {
            Ok(())
        } else {
            Err(DomainError::not_found(
                ReasonCode::TokenNotFound,
                format!("no live token {token_id}"),
            ))
        }
    }
}

/// Makes sure an admin token exists. A configured token is stored (hashed)
/// if it is not yet; with none configured and no bootstrap token stored, a
/// new one is generated and returned so the caller can print it once.
pub async fn ensure_bootstrap(
    store: &Store,
    configured: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<String>, DomainError> {
    let all_caps: Vec<String> = Capability::iter().map(|c| c.as_str().to_owned()).collect();
    if let Some(token) = configured {
        if store.token_by_hash(&hash_token(token)).await?.is_none() {
            store
                .insert_token(&TokenRow {
                    token_id: format!("tok_{}", random_hex(12)),
                    token_sha256: hash_token(token),
                    operator_id: "bootstrap".into(),
                    capabilities: all_caps,
                    tenants: vec!["*".into()],
                    is_bootstrap: true,
                    expires_at: None,
                    revoked_at: None,
                    created_at: now,
                })
                .await?;
        }
        return Ok(None);
    }
    if store.bootstrap_token().await?.is_some() {
        return Ok(None);
    }
    let issued = mint(
        store,
        "bootstrap".into(),
        all_caps,
        vec!["*".into()],
        None,
        true,
        now,
    )
    .await?;
    Ok(Some(issued.token))
}
