//! Which instance is which: the `[[targets]]` of the configuration map a
//! `tenant_id/instance_id` to a connector, its URL and where its
//! credentials come from (an environment variable or a file, never the
//! configuration itself, so they stay out of files that get shared and out
//! of every log and answer). An instance not listed is the embedded one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One configured target instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    pub tenant_id: String,
    pub instance_id: String,
    /// `embedded` or `servicenow`.
    pub kind: TargetKind,
    /// The instance's base URL (`https://acme.service-now.com`).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub auth: Option<TargetAuth>,
    /// Tables declared here instead of read from the instance's
    /// dictionary (`sys_dictionary`).
    #[serde(default)]
    pub tables: BTreeMap<String, DeclaredTable>,
    /// Requests that may run at once against the instance.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Records per page when listing a table.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// How long one request may take.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries of a request the instance answered `429` or `503` (or, for a
    /// read, that lost its connection), with jittered backoff that honours
    /// `Retry-After`.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The longest backoff between retries.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
}

fn default_concurrency() -> usize {
    4
}
fn default_page_size() -> usize {
    1000
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_retries() -> u32 {
    5
}
fn default_max_backoff_ms() -> u64 {
    30_000
}

/// Which connector serves an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Tables in the service's own database.
    Embedded,
    /// A ServiceNow instance over its REST Table and Attachment APIs.
    Servicenow,
}

/// How the service authenticates to the instance. Secrets are read from the
/// named environment variable or file at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum TargetAuth {
    /// HTTP Basic with a user of the instance.
    Basic {
        user: String,
        #[serde(default)]
        password_env: Option<String>,
        #[serde(default)]
        password_file: Option<PathBuf>,
    },
    /// OAuth 2 client credentials against the instance's `/oauth_token.do`.
    OauthClientCredentials {
        client_id: String,
        #[serde(default)]
        client_secret_env: Option<String>,
        #[serde(default)]
        client_secret_file: Option<PathBuf>,
    },
}

/// A table's columns and write permission, declared in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredTable {
    pub columns: Vec<DeclaredColumn>,
    #[serde(default = "yes")]
    pub write_allowed: bool,
}

fn yes() -> bool {
    true
}

/// A declared column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredColumn {
    pub name: String,
    /// `string`, `integer`, `boolean`, `datetime`, `reference` or `json`.
    #[serde(rename = "type", default = "string")]
    pub column_type: String,
    #[serde(default)]
    pub reference_table: Option<String>,
}

fn string() -> String {
    "string".to_owned()
}

impl TargetSettings {
    /// The configuration key of this entry, for messages.
    pub fn key(&self, index: usize) -> String {
        format!("targets[{index}] ({}/{})", self.tenant_id, self.instance_id)
    }

    /// Checks what start-up needs: a URL and credentials for a remote
    /// instance, and that the credentials' source can be read. Returns the
    /// secret, which the caller hands to the connector and nowhere else.
    pub fn check(&self, index: usize) -> Result<Option<String>, String> {
        let key = self.key(index);
        if self.tenant_id.is_empty() || self.instance_id.is_empty() {
            return Err(format!(
                "{key}: tenant_id and instance_id must not be empty"
            ));
        }
        if self.concurrency == 0 || self.page_size == 0 {
            return Err(format!(
                "{key}: concurrency and page_size must be at least 1"
            ));
        }
        match self.kind {
            TargetKind::Embedded => Ok(None),
            TargetKind::Servicenow => {
                let url = self.url.as_deref().unwrap_or_default();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("{key}.url must be the instance's http(s) URL"));
                }
                let auth = self
                    .auth
                    .as_ref()
                    .ok_or_else(|| format!("{key}.auth is required for a servicenow target"))?;
                secret(auth)
                    .map(Some)
                    .map_err(|e| format!("{key}.auth: {e}"))
            }
        }
    }
}

/// The password or client secret, from its environment variable or file.
fn secret(auth: &TargetAuth) -> Result<String, String> {
    let (env, file, what) = match auth {
        TargetAuth::Basic {
            password_env,
            password_file,
            ..
        } => (password_env, password_file, "password"),
        TargetAuth::OauthClientCredentials {
            client_secret_env,
            client_secret_file,
            ..
        } => (client_secret_env, client_secret_file, "client_secret"),
    };
    match (env, file) {
        (Some(name), None) => {
            std::env::var(name).map_err(|_| format!("{what}_env names {name}, which is not set"))
        }
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
            .map_err(|e| format!("{what}_file {}: {e}", path.display())),
        _ => Err(format!("set exactly one of {what}_env and {what}_file")),
    }
}
