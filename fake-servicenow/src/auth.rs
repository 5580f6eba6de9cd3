//! Who a request acts as: HTTP Basic against configured users, or a Bearer
//! token from `/oauth_token.do` (client credentials, plus the password and
//! refresh-token grants). Revoking a user or a client makes its password or
//! secret and every token issued for it stop working at once, which is how
//! a test simulates an administrator rotating or disabling the integration
//! account mid-restore.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::config::{Config, OAuthClient};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    client_id: String,
    user: String,
    /// Client-credential tokens are reused while valid; others are not.
    client_credentials: bool,
}

#[derive(Debug)]
struct Token {
    grant: Grant,
    expires: Instant,
    scope: String,
}

/// An OAuth error answer: status and `{"error", "error_description"}`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub status: u16,
    pub body: Value,
}

#[derive(Debug)]
pub(crate) struct AuthState {
    users: BTreeMap<String, String>,
    clients: BTreeMap<String, OAuthClient>,
    revoked_users: BTreeSet<String>,
    revoked_clients: BTreeSet<String>,
    tokens: HashMap<String, Token>,
    refresh_tokens: HashMap<String, Grant>,
    lifetime: Duration,
}

impl AuthState {
    pub fn new(config: &Config) -> Self {
        Self {
            users: config
                .users
                .iter()
                .map(|u| (u.user.clone(), u.password.clone()))
                .collect(),
            clients: config
                .oauth_clients
                .iter()
                .map(|c| (c.client_id.clone(), c.clone()))
                .collect(),
            revoked_users: BTreeSet::new(),
            revoked_clients: BTreeSet::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            lifetime: Duration::from_secs(config.token_lifetime_secs.max(1)),
        }
    }

    /// The user an `Authorization` header authenticates, if any.
    pub fn authenticate(&self, header: Option<&str>) -> Option<String> {
        let (scheme, credentials) = header?.trim().split_once(' ')?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            return self.password_ok(user, password).then(|| user.to_owned());
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            let token = self.tokens.get(credentials)?;
            let live = token.expires > Instant::now() && self.grant_live(&token.grant);
            return live.then(|| token.grant.user.clone());
        }
        None
    }

    fn password_ok(&self, user: &str, password: &str) -> bool {
        !self.revoked_users.contains(user) && self.users.get(user).is_some_and(|p| p == password)
    }

    fn grant_live(&self, grant: &Grant) -> bool {
        !self.revoked_clients.contains(&grant.client_id)
            && !self.revoked_users.contains(&grant.user)
    }

    /// Makes a user's password and all tokens acting as it stop working.
    pub fn revoke_user(&mut self, user: &str) -> bool {
        let known = self.users.contains_key(user) || self.clients.values().any(|c| c.user == user);
        self.revoked_users.insert(user.to_owned());
        known
    }

    /// Makes a client's secret and all its tokens stop working.
    pub fn revoke_client(&mut self, client_id: &str) -> bool {
        self.revoked_clients.insert(client_id.to_owned());
        self.clients.contains_key(client_id)
    }

    /// Expires every access token now (refresh tokens stay valid).
    pub fn expire_tokens(&mut self) {
        let now = Instant::now();
        for token in self.tokens.values_mut() {
            token.expires = now;
        }
    }

    /// `POST /oauth_token.do` with its form fields.
    pub fn token(&mut self, form: &[(String, String)]) -> Result<Value, OAuthError> {
        let get = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        let client = self
            .clients
            .get(get("client_id"))
            .filter(|c| c.client_secret == get("client_secret"))
            .filter(|c| !self.revoked_clients.contains(&c.client_id))
            .cloned()
            .ok_or_else(access_denied)?;
        let scope = match get("scope") {
            "" => "useraccount".to_owned(),
            scope => scope.to_owned(),
        };
        match get("grant_type") {
            "client_credentials" => self.client_credentials(&client, scope),
            "password" => self.password_grant(&client, get("username"), get("password"), scope),
            "refresh_token" => self.refresh(&client, get("refresh_token"), scope),
            other => Err(OAuthError {
                status: 400,
                body: json!({"error": "unsupported_grant_type",
                    "error_description": format!("grant_type {other:?} is not supported")}),
            }),
        }
    }

    fn client_credentials(
        &mut self,
        client: &OAuthClient,
        scope: String,
    ) -> Result<Value, OAuthError> {
        let grant = Grant {
            client_id: client.client_id.clone(),
            user: client.user.clone(),
            client_credentials: true,
        };
        if !self.grant_live(&grant) {
            return Err(access_denied());
        }
        let now = Instant::now();
        let existing = self
            .tokens
            .iter()
            .find(|(_, t)| t.grant == grant && t.expires > now && t.scope == scope);
        if let Some((access, token)) = existing {
            let left = token.expires.saturating_duration_since(now);
            return Ok(token_body(access, &token.scope, left, None));
        }
        Ok(self.issue(grant, scope, None))
    }

    fn password_grant(
        &mut self,
        client: &OAuthClient,
        user: &str,
        password: &str,
        scope: String,
    ) -> Result<Value, OAuthError> {
        if !self.password_ok(user, password) {
            return Err(access_denied());
        }
        let grant = Grant {
            client_id: client.client_id.clone(),
            user: user.to_owned(),
            client_credentials: false,
        };
        let refresh = random_token();
        self.refresh_tokens.insert(refresh.clone(), grant.clone());
        Ok(self.issue(grant, scope, Some(refresh)))
    }

    fn refresh(
        &mut self,
        client: &OAuthClient,
        refresh: &str,
        scope: String,
    ) -> Result<Value, OAuthError> {
        let grant = self
            .refresh_tokens
            .get(refresh)
            .filter(|g| g.client_id == client.client_id && self.grant_live(g))
            .cloned()
            .ok_or_else(access_denied)?;
        Ok(self.issue(grant, scope, Some(refresh.to_owned())))
    }

    fn issue(&mut self, grant: Grant, scope: String, refresh: Option<String>) -> Value {
        let access = random_token();
        let body = token_body(&access, &scope, self.lifetime, refresh.as_deref());
        let expires = Instant::now() + self.lifetime;
        self.tokens.insert(
            access,
            Token {
                grant,
                expires,
                scope,
            },
        );
        body
    }
}

/// ServiceNow reports one second less than the lifetime (1799 for 1800).
fn token_body(access: &str, scope: &str, left: Duration, refresh: Option<&str>) -> Value {
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": left.as_secs().saturating_sub(1),
        "scope": scope,
    });
    if let (Some(refresh), Some(map)) = (refresh, body.as_object_mut()) {
        map.insert("refresh_token".to_owned(), Value::from(refresh));
    }
    body
}

fn access_denied() -> OAuthError {
    OAuthError {
        status: 401,
        body: json!({"error": "server_error", "error_description": "access_denied"}),
    }
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn state() -> AuthState {
        AuthState::new(
            &Config::new()
                .basic_user("admin", "pw")
                .oauth_client("c", "s", "svc"),
        )
    }

    #[test]
    fn basic_and_bearer() {
        let mut auth = state();
        let basic = base64::engine::general_purpose::STANDARD.encode("admin:pw");
        assert_eq!(
            auth.authenticate(Some(&format!("Basic {basic}")))
                .as_deref(),
            Some("admin")
        );
        assert_eq!(auth.authenticate(Some("Basic YWRtaW46bm8=")), None);
        let body = auth
            .token(&form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "c"),
                ("client_secret", "s"),
            ]))
            .unwrap();
        let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
        assert_eq!(auth.authenticate(Some(&bearer)).as_deref(), Some("svc"));
        auth.expire_tokens();
        assert_eq!(auth.authenticate(Some(&bearer)), None);
    }

    #[test]
    fn refresh_grant_issues_a_new_access_token() {
        let mut auth = state();
        let base = [("client_id", "c"), ("client_secret", "s")];
        let mut password = form(&base);
        password.extend(form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "pw"),
        ]));
        let first = auth.token(&password).unwrap();
        let refresh_token = first["refresh_token"].as_str().unwrap();
        let mut refresh = form(&base);
        refresh.extend(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]));
        let second = auth.token(&refresh).unwrap();
        assert_ne!(first["access_token"], second["access_token"]);
        auth.revoke_user("admin");
        assert_eq!(auth.token(&refresh).unwrap_err().status, 401);
    }
}
