//! Service configuration, layered with figment: built-in defaults, then
//! `rrs.toml` (or `--config PATH`), then `RRS_*` environment variables.
//!
//! Each module owns its section as a struct with defaults, so a new setting
//! is added next to the code that reads it. The contract's flat environment
//! names (`RRS_DATABASE_URL`, `RRS_LISTEN_ADDR`, ...) are mapped onto those
//! sections; any other setting is reachable as `RRS_SECTION__KEY`.
//! Unknown keys in a file are refused, so a typo stops start-up with a
//! message naming the key instead of being silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The whole configuration of one service process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory for the embedded database, media store, caches and dev keys.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub policies: PoliciesConfig,
    pub auth: AuthConfig,
    pub evidence: EvidenceConfig,
    pub log: LogConfig,
    pub slo: SloConfig,
    pub execution: ExecutionConfig,
    /// The instances restores write into, when not the embedded target.
    #[serde(default)]
    pub targets: Vec<crate::target::settings::TargetSettings>,
}

/// HTTP listener settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on; port 0 picks any free port.
    pub listen_addr: SocketAddr,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_grace_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 10 * 1024 * 1024,
            shutdown_grace_seconds: 30,
        }
    }
}

/// Database connection and pool settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://...` or `postgres://...`; empty means the SQLite file
    /// `rrs.db` in the data directory.
    pub url: Option<String>,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a request waits for a pooled connection before it answers
    /// `503 database_unavailable`.
    pub acquire_timeout_ms: u64,
    /// How long opening a new connection may take.
    pub connect_timeout_ms: u64,
    /// PostgreSQL only: longest a statement may run before it is cancelled
    /// and answered `503 database_unavailable`.
    pub statement_timeout_ms: u64,
    /// `Retry-After` seconds sent with `503 database_unavailable`.
    pub retry_after_seconds: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
            min_connections: 1,
            acquire_timeout_ms: 3000,
            connect_timeout_ms: 3000,
            statement_timeout_ms: 30_000,
            retry_after_seconds: 2,
        }
    }
}

/// Where the policy configuration lives.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// The policy configuration file; relative wasm paths in it are
    /// resolved against its directory. Unset: the repository's
    /// `policies/default.toml`, embedded in the binary with its plugins.
    pub path: Option<PathBuf>,
    /// Where compiled plugins are cached (keyed by wasm digest and engine);
    /// unset: `policy-cache` in the data directory.
    pub cache_dir: Option<PathBuf>,
}

/// Authentication settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// An admin token with every capability and tenant; stored only hashed.
    /// When absent, the first start creates one and prints it once.
    pub bootstrap_token: Option<String>,
}

/// Evidence signing and retention settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// Identifier of the current signing key.
    pub signer_key_id: Option<String>,
    /// The current ed25519 private key, PKCS#8 PEM.
    pub signing_private_key_pem: Option<String>,
    /// Its public key, SPKI PEM; must match the private key when given.
    pub signing_public_key_pem: Option<String>,
    /// Retention class written into every evidence package.
    pub retention_class: String,
    /// Days an evidence package and its journal are retained.
    pub retention_days: u32,
    /// Whether the evidence store is write-once.
    pub worm_enabled: bool,
    /// Seconds between a replica's sweeps for automatic packages still
    /// owed (after a crash, or a failed generation); it also sweeps at
    /// start-up. Zero: at start-up only.
    pub generation_sweep_seconds: u64,
    /// Seconds a replica generating an owed package holds it before
    /// another may take over (a replica that died mid-generation), and
    /// that a failed generation waits before it is retried.
    pub generation_claim_seconds: u64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        Self {
            signer_key_id: None,
            signing_private_key_pem: None,
            signing_public_key_pem: None,
            retention_class: "standard".to_owned(),
            retention_days: 365,
            worm_enabled: true,
            generation_sweep_seconds: 30,
            generation_claim_seconds: 120,
        }
    }
}

/// The operations view's SLO (`[slo]`): the measurement window and the
/// target of every check of `GET /v1/admin/ops/slo`, and the windows of the
/// error-budget burn rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SloConfig {
    /// The window every check is measured over, in seconds (30 days).
    pub window_seconds: u64,
    /// Lowest share of executions ending `completed` (the SLO objective;
    /// one minus it is the error budget).
    pub execute_success_rate_min: f64,
    /// Most stale or unknown source partitions tolerated.
    pub stale_source_count_max: u64,
    /// Most evidence verification failures tolerated in the window.
    pub evidence_verification_failed_max: u64,
    /// Highest tolerated p95 of queue waits (job created to started).
    pub queue_wait_p95_seconds_max: f64,
    /// Highest tolerated p95 of execution durations.
    pub execute_duration_p95_seconds_max: f64,
    /// Highest tolerated share of executions paused by an expired token.
    pub auth_pause_rate_max: f64,
    /// Long window of the multi-window burn rate (one hour).
    pub burn_rate_long_window_seconds: u64,
    /// Short window of the multi-window burn rate (five minutes).
    pub burn_rate_short_window_seconds: u64,
    /// Burn rate that both windows must exceed to signal a fast burn
    /// (14.4 for an hour spends 2% of a 30-day budget).
    pub burn_rate_threshold: f64,
    /// Watermark lag beyond which a source is stale, used when the gate
    /// policy's settings carry no `max_lag_seconds`.
    pub max_lag_seconds: u64,
    /// Seconds between refreshes of the SLO and GA gauges on `/metrics`;
    /// 0 refreshes them only when the endpoints are read.
    pub metrics_refresh_seconds: u64,
}

impl Default for SloConfig {
    fn default() -> Self {
        Self {
            window_seconds: 30 * 24 * 3600,
            execute_success_rate_min: 0.99,
            stale_source_count_max: 0,
            evidence_verification_failed_max: 0,
            queue_wait_p95_seconds_max: 300.0,
            execute_duration_p95_seconds_max: 1800.0,
            auth_pause_rate_max: 0.05,
            burn_rate_long_window_seconds: 3600,
            burn_rate_short_window_seconds: 300,
            burn_rate_threshold: 14.4,
            max_lag_seconds: 900,
            metrics_refresh_seconds: 60,
        }
    }
}

impl SloConfig {
    fn validate(&self) -> Result<(), String> {
        let rates = [
            ("execute_success_rate_min", self.execute_success_rate_min),
            ("auth_pause_rate_max", self.auth_pause_rate_max),
        ];
        if let Some((key, _)) = rates.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Err(format!("slo.{key} must lie between 0 and 1"));
        }
        let positive = [
            (
                "queue_wait_p95_seconds_max",
                self.queue_wait_p95_seconds_max,
            ),
            (
                "execute_duration_p95_seconds_max",
                self.execute_duration_p95_seconds_max,
            ),
            ("burn_rate_threshold", self.burn_rate_threshold),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            return Err(format!("slo.{key} must be a finite number >= 0"));
        }
        if self.window_seconds == 0 || self.burn_rate_short_window_seconds == 0 {
            return Err(
                "slo.window_seconds and the burn-rate windows must be at least 1".to_owned(),
            );
        }
        if self.burn_rate_short_window_seconds >= self.burn_rate_long_window_seconds {
            return Err(
                "slo.burn_rate_short_window_seconds must be below the long window".to_owned(),
            );
        }
        Ok(())
    }
}

/// Execution settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutionConfig {
    /// Seconds an execution lease lives without renewal; a crashed
    /// holder's job can be resumed once it expires.
    pub lease_seconds: u64,
    /// Media store reads per attachment before `failed_media_retry_exhausted`.
    pub media_attempts: u32,
    /// Milliseconds between media retries (times the attempt number).
    pub media_backoff_ms: u64,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        Self {
            lease_seconds: 30,
            media_attempts: 3,
            media_backoff_ms: 50,
        }
    }
}

/// Log output settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `rrs=debug,info`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            policies: PoliciesConfig::default(),
            auth: AuthConfig::default(),
            evidence: EvidenceConfig::default(),
            log: LogConfig::default(),
            slo: SloConfig::default(),
            execution: ExecutionConfig::default(),
            targets: Vec::new(),
        }
    }
}

/// The contract's flat environment names and the keys they set.
const FLAT_ENV: &[(&str, &str)] = &[
    ("LISTEN_ADDR", "server.listen_addr"),
    ("DATA_DIR", "data_dir"),
    ("DATABASE_URL", "database.url"),
    ("POLICIES", "policies.path"),
    ("AUTH_BOOTSTRAP_TOKEN", "auth.bootstrap_token"),
    ("EVIDENCE_SIGNER_KEY_ID", "evidence.signer_key_id"),
    (
        "EVIDENCE_SIGNING_PRIVATE_KEY_PEM",
        "evidence.signing_private_key_pem",
    ),
    (
        "EVIDENCE_SIGNING_PUBLIC_KEY_PEM",
        "evidence.signing_public_key_pem",
    ),
    ("LOG_FORMAT", "log.format"),
    ("LOG", "log.filter"),
];

/// A configuration that could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads defaults, then the file (explicit `--config` must exist;
    /// `./rrs.toml` is optional), then the environment.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match explicit_file {
            Some(path) if !path.exists() => {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )))
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("rrs.toml")),
        }
        Self::extract(figment.merge(environment()))
    }

    /// Loads defaults overlaid with a TOML document (used by tests and tools).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_toml_layers(&[text])
    }

    /// Loads defaults overlaid with several TOML documents, later ones
    /// winning key by key.
    pub fn from_toml_layers(layers: &[&str]) -> Result<Self, ConfigError> {
        let figment = layers.iter().fold(
            Figment::from(Serialized::defaults(Config::default())),
            |f, text| f.merge(Toml::string(text)),
        );
        Self::extract(figment)
    }

    fn extract(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|error| ConfigError(describe(error)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database.url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(ConfigError(format!(
                    "database.url (RRS_DATABASE_URL) must start with sqlite: or postgres://, got {url:?}"
                )));
            }
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError(
                "database.max_connections must be at least 1".to_owned(),
            ));
        }
        self.slo.validate().map_err(ConfigError)?;
        if self.server.body_limit_bytes == 0 {
            return Err(ConfigError(
                "server.body_limit_bytes must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or the embedded
    /// SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("rrs.db").display()
            ),
        }
    }
}

/// `RRS_*` variables: the contract's flat names, plus `RRS_SECTION__KEY`.
fn environment() -> Env {
    Env::prefixed("RRS_")
        .filter(|key| {
            let key = key.as_str().to_ascii_uppercase();
            FLAT_ENV.iter().any(|(name, _)| *name == key) || key.contains("__")
        })
        .map(|key| {
            let upper = key.as_str().to_ascii_uppercase();
            match FLAT_ENV.iter().find(|(name, _)| *name == upper) {
                Some((_, path)) => (*path).into(),
                None => upper.to_ascii_lowercase().replace("__", ".").into(),
            }
        })
        .split(".")
}

fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("key `{}`: ", e.path.join("."))
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            format!("{key}{}{source}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_service() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config.server.listen_addr.to_string(), "127.0.0.1:8080");
        assert!(config.database_url().starts_with("sqlite://./data/rrs.db"));
        assert_eq!(config.server.body_limit_bytes, 10 * 1024 * 1024);
    }

    #[test]
    fn unknown_key_is_named() {
        let error = Config::from_toml_str("[database]\nmax_conections = 3\n").unwrap_err();
        assert!(error.to_string().contains("max_conections"), "{error}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let error = Config::from_toml_str("[server]\nlisten_addr = \"nowhere\"\n").unwrap_err();
        assert!(error.to_string().contains("listen_addr"), "{error}");
    }

    #[test]
    fn bad_database_url_is_refused() {
        let error = Config::from_toml_str("[database]\nurl = \"mysql://x\"\n").unwrap_err();
        assert!(error.to_string().contains("database.url"), "{error}");
    }
}
