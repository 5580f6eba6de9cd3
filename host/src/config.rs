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
    pub media: MediaConfig,
    #[serde(default)]
    pub drills: DrillsConfig,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// The policy configuration file; relative wasm paths in it are
    /// resolved against its directory. Unset: the repository's
    /// `policies/default.toml`, embedded in the binary with its plugins.
    pub path: Option<PathBuf>,
    /// Where compiled plugins are cached (keyed by wasm digest and engine);
    /// unset: `policy-cache` in the data directory.
    pub cache_dir: Option<PathBuf>,
    /// How often a replica polls the database for the latest recorded
    /// policy set and converges to it, in milliseconds (default 2000; 0
    /// stops polling).
    pub sync_interval_ms: u64,
}

impl Default for PoliciesConfig {
    fn default() -> Self {
        Self {
            path: None,
            cache_dir: None,
            sync_interval_ms: 2000,
        }
    }
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

/// Restore drills that run themselves (`/v1/admin/drills`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrillsConfig {
    /// Seconds between the scheduler's looks for due drill schedules; 0
    /// turns the scheduler off on this replica (runs by hand still work).
    pub tick_seconds: u64,
    /// How long a replica's lease on a running drill lives without
    /// renewal; another replica takes a drill over once it expired.
    pub lease_seconds: u64,
    /// GA readiness wants a passing drill within this many days for every
    /// tenant with restores enabled.
    pub readiness_window_days: u32,
    /// The recovery time objective the SLO view compares the latest
    /// drill's measured restore time with, in seconds.
    pub recovery_time_objective_seconds: f64,
}

impl Default for DrillsConfig {
    fn default() -> Self {
        Self {
            tick_seconds: 30,
            lease_seconds: 600,
            readiness_window_days: 7,
            recovery_time_objective_seconds: 3600.0,
        }
    }
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

/// Where attachment blobs live (`[media]`): a local directory (the
/// embedded default) or an S3-compatible object store every replica shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// `local` (default) or `s3`.
    pub backend: MediaBackend,
    /// Local: the blob directory; unset: `media` in the data directory.
    pub directory: Option<PathBuf>,
    /// Local: whether `directory` is one directory every replica of the
    /// database mounts (required to run a local store on PostgreSQL).
    pub shared_directory: bool,
    /// S3: the bucket (required for `s3`).
    pub bucket: Option<String>,
    /// S3: a key prefix every blob is stored under (no leading `/`).
    pub prefix: String,
    /// S3: the endpoint URL of an S3-compatible server; unset: AWS, or the
    /// `AWS_ENDPOINT` environment variable.
    pub endpoint: Option<String>,
    /// S3: the region; unset: `AWS_REGION` / `AWS_DEFAULT_REGION`, else
    /// `us-east-1`.
    pub region: Option<String>,
    /// S3: the access key id; unset: `AWS_ACCESS_KEY_ID` (or the instance's
    /// or container's role when that is unset too).
    pub access_key_id: Option<Secret>,
    /// S3: the secret access key; unset: `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret>,
    /// S3: a session token for temporary credentials; unset:
    /// `AWS_SESSION_TOKEN`.
    pub session_token: Option<Secret>,
    /// S3: whether a plain `http://` endpoint is allowed (a test server on
    /// 127.0.0.1); off, only `https://` is.
    pub allow_http: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            backend: MediaBackend::Local,
            directory: None,
            shared_directory: false,
            bucket: None,
            prefix: String::new(),
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            allow_http: false,
        }
    }
}

/// Which media store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaBackend {
    /// A directory on this machine.
    Local,
    /// An S3-compatible object store.
    S3,
}

impl MediaConfig {
    /// The local store's directory in force.
    pub fn local_directory(&self, data_dir: &Path) -> PathBuf {
        self.directory
            .clone()
            .unwrap_or_else(|| data_dir.join("media"))
    }

    fn validate(&self) -> Result<(), String> {
        if self.backend == MediaBackend::S3
            && self.bucket.as_deref().is_none_or(|b| b.trim().is_empty())
        {
            return Err(
                "media.bucket (RRS_MEDIA__BUCKET) is required when media.backend = \"s3\""
                    .to_owned(),
            );
        }
        if self.prefix.starts_with('/') {
            return Err("media.prefix must not start with \"/\"".to_owned());
        }
        Ok(())
    }
}

/// A credential read from configuration: its value is reachable only
/// through [`Secret::expose`], and it prints and serialises as
/// `[redacted]`, so no log line, `Debug` output or answer can carry it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the one client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
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
            media: MediaConfig::default(),
            drills: DrillsConfig::default(),
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
        self.media.validate().map_err(ConfigError)?;
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

impl Config {
    /// Whether the database is PostgreSQL (which several replicas share).
    pub fn database_is_postgres(&self) -> bool {
        let url = self.database_url();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    /// Refuses to serve PostgreSQL (a database several replicas share) with
    /// a media store only this machine can read, unless the configuration
    /// declares the directory shared: an attachment ingested through one
    /// replica would fail to restore through another.
    pub fn check_media_is_shared(&self) -> Result<(), ConfigError> {
        let media = &self.media;
        if !self.database_is_postgres()
            || media.backend != MediaBackend::Local
            || media.shared_directory
        {
            return Ok(());
        }
        let dir = media.local_directory(&self.data_dir);
        Err(ConfigError(format!(
            "the database is PostgreSQL but media.backend is \"local\" ({dir}): replicas on one \
             database cannot read each other's local media directories, so an attachment \
             ingested through one replica could not be restored through another. Configure an \
             object store every replica shares ([media] backend = \"s3\" with bucket, endpoint, \
             region and credentials; RRS_MEDIA__BACKEND=s3, RRS_MEDIA__BUCKET=...), or, if \
             {dir} is one directory every replica mounts, declare it shared with \
             media.shared_directory = true (RRS_MEDIA__SHARED_DIRECTORY=true)",
            dir = dir.display()
        )))
    }
}

/// `RRS_*` variables: the contract's flat names, plus `RRS_SECTION__KEY`.
fn environment() -> Env {
    Env::prefixed("RRS_")
        .filter(|key| env_key(key.as_str()).is_some())
        .map(|key| env_key(key.as_str()).unwrap_or_default().into())
        .split(".")
}

/// The configuration key an `RRS_` variable (named without the prefix)
/// sets: a flat name's key, or `SECTION__KEY` as `section.key`; `None` for
/// a variable that is not configuration.
fn env_key(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    match FLAT_ENV.iter().find(|(flat, _)| *flat == upper) {
        Some((_, path)) => Some((*path).to_owned()),
        None if upper.contains("__") => Some(upper.to_ascii_lowercase().replace("__", ".")),
        None => None,
    }
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
    fn replicas_poll_the_recorded_policy_set_every_two_seconds_by_default() {
        let defaults = Config::from_toml_str("").unwrap();
        assert_eq!(defaults.policies.sync_interval_ms, 2000);
        let set = Config::from_toml_str("[policies]\nsync_interval_ms = 500\n").unwrap();
        assert_eq!(set.policies.sync_interval_ms, 500);
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let example = include_str!("../../rrs.example.toml");
        let config = Config::from_toml_str(example).unwrap();
        assert_eq!(config.media.backend, MediaBackend::Local);
        assert!(!config.media.shared_directory);
        assert_eq!(config.media.prefix, "");
        assert_eq!(
            format!("{:?}", config.media),
            format!("{:?}", MediaConfig::default())
        );
    }

    const S3: &str = "[media]\nbackend = \"s3\"\nbucket = \"rrs-media\"\nprefix = \"prod\"\n\
        endpoint = \"http://127.0.0.1:9000\"\nregion = \"eu-west-1\"\nallow_http = true\n\
        access_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"wJalrXUtnFEMI-secret\"\n\
        session_token = \"session-secret\"\n";

    #[test]
    fn an_s3_media_section_is_read() {
        let media = Config::from_toml_str(S3).unwrap().media;
        assert_eq!(media.backend, MediaBackend::S3);
        assert_eq!(media.bucket.as_deref(), Some("rrs-media"));
        assert_eq!(media.prefix, "prod");
        assert_eq!(media.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(media.region.as_deref(), Some("eu-west-1"));
        assert!(media.allow_http);
        let secret = media.secret_access_key.as_ref().map(Secret::expose);
        assert_eq!(secret, Some("wJalrXUtnFEMI-secret"));
        let key = media.access_key_id.as_ref().map(Secret::expose);
        assert_eq!(key, Some("AKIDEXAMPLE"));
    }

    #[test]
    fn credentials_never_print_or_serialise() {
        let config = Config::from_toml_str(S3).unwrap();
        let shown = [
            format!("{config:?}"),
            format!("{config:#?}"),
            serde_json::to_string(&config).unwrap(),
            toml::to_string(&config.media).unwrap(),
        ];
        for text in shown {
            for credential in ["AKIDEXAMPLE", "wJalrXUtnFEMI-secret", "session-secret"] {
                assert!(!text.contains(credential), "{credential} in {text}");
            }
            assert!(text.contains("[redacted]"), "{text}");
            assert!(text.contains("rrs-media"), "{text}");
        }
    }

    #[test]
    fn s3_needs_a_bucket() {
        let error = Config::from_toml_str("[media]\nbackend = \"s3\"\n").unwrap_err();
        assert!(error.to_string().contains("media.bucket"), "{error}");
        let error = Config::from_toml_str("[media]\nbackend = \"ftp\"\n").unwrap_err();
        assert!(error.to_string().contains("media.backend"), "{error}");
        let error = Config::from_toml_str("[media]\nbukcet = \"x\"\n").unwrap_err();
        assert!(error.to_string().contains("bukcet"), "{error}");
    }

    #[test]
    fn media_keys_have_environment_names() {
        let names = [
            ("MEDIA__BACKEND", "media.backend"),
            ("MEDIA__BUCKET", "media.bucket"),
            ("MEDIA__ACCESS_KEY_ID", "media.access_key_id"),
            ("media__secret_access_key", "media.secret_access_key"),
            ("MEDIA__SHARED_DIRECTORY", "media.shared_directory"),
            ("DATABASE_URL", "database.url"),
        ];
        for (name, key) in names {
            assert_eq!(env_key(name).as_deref(), Some(key), "{name}");
        }
        assert_eq!(env_key("TEST_DATABASE_URL"), None);
    }

    #[test]
    fn postgres_with_an_unshared_local_store_is_refused_with_the_fix() {
        let pg = "[database]\nurl = \"postgres://rrs@db/rrs\"\n";
        let config = Config::from_toml_str(pg).unwrap();
        let error = config.check_media_is_shared().unwrap_err().to_string();
        for named in [
            "cannot read each other's local media directories",
            "backend = \"s3\"",
            "media.shared_directory = true",
            "RRS_MEDIA__SHARED_DIRECTORY=true",
        ] {
            assert!(error.contains(named), "{named}: {error}");
        }
        let shared = format!("{pg}[media]\nshared_directory = true\n");
        let s3 = format!("{pg}{S3}");
        for ok in [shared.as_str(), s3.as_str(), ""] {
            let config = Config::from_toml_str(ok).unwrap();
            assert!(config.check_media_is_shared().is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_database_url_is_refused() {
        let error = Config::from_toml_str("[database]\nurl = \"mysql://x\"\n").unwrap_err();
        assert!(error.to_string().contains("database.url"), "{error}");
    }
}
