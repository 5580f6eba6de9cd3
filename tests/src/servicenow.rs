//! A fake ServiceNow instance beside the service under test, for the
//! scenarios that restore into a remote instance: the in-repository
//! stand-in (`rrs-fake-servicenow`, not ServiceNow itself) on a free port,
//! the `[[targets]]` entry that maps the fixtures' `acme/prod` to it with a
//! password read from a file, and what a test looks at: the records the
//! instance holds and the requests the service sent it.

use rrs_fake_servicenow::{Config, FakeServiceNow, RequestLogEntry, Running, TableSchema};
use serde_json::{json, Map, Value};

use crate::fixtures::{Version, INSTANCE, TENANT};
use crate::TestContext;

/// The instance user the service authenticates as.
pub const SERVICE_USER: &str = "rrs_integration";
/// The user an operator switches the service to after revoking the first.
pub const ROTATED_USER: &str = "rrs_rotated";
/// The OAuth client the service may use instead of a password.
pub const OAUTH_CLIENT: &str = "rrs_oauth_client";
/// A person working in the instance while a restore runs.
pub const INSTANCE_USER: &str = "itil";
const INSTANCE_USER_PASSWORD: &str = "itil-password";

/// A running fake instance and the service's credential for it.
pub struct SnInstance {
    pub fake: Running,
    password: String,
    secret_dir: tempfile::TempDir,
    client: reqwest::Client,
}

/// A valid ServiceNow `sys_id` (32 lowercase hex digits), distinct per `n`.
pub fn sys_id(n: usize) -> String {
    format!("5137153cc611227c{n:016x}")
}

/// `incident` with the given string columns.
pub fn incident(columns: &[&str]) -> TableSchema {
    columns
        .iter()
        .fold(TableSchema::new("incident"), |t, c| t.string(c))
}

impl SnInstance {
    /// Starts an instance with these tables; the service's password is
    /// random and written to a file only the `[[targets]]` entry names.
    pub async fn start(tables: Vec<TableSchema>) -> Self {
        let password = format!("sn-secret-{}", uuid::Uuid::new_v4().simple());
        let config = tables
            .into_iter()
            .fold(Config::new(), Config::table)
            .basic_user(SERVICE_USER, &password)
            .basic_user(ROTATED_USER, &format!("{password}-rotated"))
            .oauth_client(OAUTH_CLIENT, &format!("{password}-oauth"), SERVICE_USER)
            .basic_user(INSTANCE_USER, INSTANCE_USER_PASSWORD);
        let fake = FakeServiceNow::start(config)
            .await
            .expect("fake ServiceNow instance");
        let secret_dir = tempfile::tempdir().expect("secret dir");
        std::fs::write(secret_dir.path().join("password"), format!("{password}\n"))
            .expect("password file");
        std::fs::write(
            secret_dir.path().join("rotated"),
            format!("{password}-rotated\n"),
        )
        .expect("rotated password file");
        std::fs::write(
            secret_dir.path().join("client_secret"),
            format!("{password}-oauth"),
        )
        .expect("client secret file");
        Self {
            fake,
            password,
            secret_dir,
            client: reqwest::Client::new(),
        }
    }

    /// The service's password (for tests that look for it where it must
    /// never be).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The `[[targets]]` entry for `acme/prod`, with `extra` TOML keys.
    pub fn target_toml(&self, extra: &str) -> String {
        self.target_toml_as(SERVICE_USER, "password", extra)
    }

    /// The entry after the operator rotated the credential to
    /// [`ROTATED_USER`].
    pub fn rotated_target_toml(&self, extra: &str) -> String {
        self.target_toml_as(ROTATED_USER, "rotated", extra)
    }

    /// The entry with OAuth 2 client credentials instead of a password.
    pub fn oauth_target_toml(&self, extra: &str) -> String {
        format!(
            "[[targets]]\ntenant_id = {TENANT:?}\ninstance_id = {INSTANCE:?}\nkind = \"servicenow\"\n\
             url = {url:?}\nmax_backoff_ms = 200\n{extra}\n\
             [targets.auth]\nkind = \"oauth_client_credentials\"\nclient_id = {OAUTH_CLIENT:?}\nclient_secret_file = {file:?}\n",
            url = self.fake.base_url,
            file = self.secret_dir.path().join("client_secret").display().to_string(),
        )
    }

    /// Every secret the service holds for this instance: the passwords,
    /// the client secret, and the Basic header values they make.
    pub fn secrets(&self) -> Vec<String> {
        use base64::Engine as _;
        let basic = |user: &str, password: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        };
        let rotated = format!("{}-rotated", self.password);
        vec![
            self.password.clone(),
            rotated.clone(),
            format!("{}-oauth", self.password),
            basic(SERVICE_USER, &self.password),
            basic(ROTATED_USER, &rotated),
        ]
    }

    fn target_toml_as(&self, user: &str, file: &str, extra: &str) -> String {
        format!(
            "[[targets]]\ntenant_id = {TENANT:?}\ninstance_id = {INSTANCE:?}\nkind = \"servicenow\"\n\
             url = {url:?}\nmax_backoff_ms = 200\n{extra}\n\
             [targets.auth]\nkind = \"basic\"\nuser = {user:?}\npassword_file = {file:?}\n",
            url = self.fake.base_url,
            file = self.secret_dir.path().join(file).display().to_string(),
        )
    }

    /// A record's columns as the instance holds them (`sys_*` left out),
    /// `None` when it has no such record.
    pub fn content(&self, table: &str, sys_id: &str) -> Option<Value> {
        let fields = self.fake.handle.record(table, sys_id)?;
        Some(Value::Object(
            fields
                .into_iter()
                .filter(|(name, _)| !name.starts_with("sys_"))
                .map(|(name, value)| (name, Value::String(value)))
                .collect(),
        ))
    }

    /// A record's `sys_mod_count`.
    pub fn mod_count(&self, table: &str, sys_id: &str) -> Option<u64> {
        self.fake
            .handle
            .record(table, sys_id)
            .and_then(|f| f.get("sys_mod_count").and_then(|c| c.parse().ok()))
    }

    /// Puts records in the instance as they were before anyone restored.
    pub fn seed(&self, table: &str, rows: &[(String, Value)]) {
        let rows: Vec<Map<String, Value>> = rows
            .iter()
            .map(|(id, fields)| {
                let mut row = fields.as_object().cloned().unwrap_or_default();
                row.insert("sys_id".to_owned(), Value::String(id.clone()));
                row
            })
            .collect();
        self.fake.handle.seed(table, rows).expect("seed records");
    }

    /// A person editing a record in the instance through the Table API.
    pub async fn user_edit(&self, table: &str, sys_id: &str, fields: &Value) {
        let response = self
            .client
            .patch(format!(
                "{}/api/now/table/{table}/{sys_id}",
                self.fake.base_url
            ))
            .basic_auth(INSTANCE_USER, Some(INSTANCE_USER_PASSWORD))
            .json(fields)
            .send()
            .await
            .expect("edit sent");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// The service's requests that changed (or tried to change) records,
    /// A person attaches a file to a record (through the Attachment API,
    /// as the instance's user).
    pub async fn user_attach(&self, table: &str, sys_id: &str, file_name: &str, bytes: &[u8]) {
        let response = self
            .client
            .post(format!("{}/api/now/attachment/file", self.fake.base_url))
            .query(&[
                ("table_name", table),
                ("table_sys_id", sys_id),
                ("file_name", file_name),
            ])
            .header("content-type", "text/plain")
            .basic_auth(INSTANCE_USER, Some(INSTANCE_USER_PASSWORD))
            .body(bytes.to_vec())
            .send()
            .await
            .expect("attachment sent");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// The attachments the instance holds on `sys_id`: (file name, bytes).
    pub fn attachments_of(&self, sys_id: &str) -> Vec<(String, Vec<u8>)> {
        self.fake
            .handle
            .attachments()
            .into_iter()
            .filter(|a| a.meta.get("table_sys_id").map(String::as_str) == Some(sys_id))
            .map(|a| {
                let name = a.meta.get("file_name").cloned().unwrap_or_default();
                (name, a.content.to_vec())
            })
            .collect()
    }

    /// under either of its credentials.
    pub fn service_writes(&self) -> Vec<RequestLogEntry> {
        self.fake
            .handle
            .requests()
            .into_iter()
            .filter(|r| r.write && matches!(r.user.as_deref(), Some(SERVICE_USER | ROTATED_USER)))
            .collect()
    }

    /// Writes that took effect on `sys_id` (answered or not).
    pub fn applied_writes_to(&self, sys_id: &str) -> Vec<RequestLogEntry> {
        self.service_writes()
            .into_iter()
            .filter(|r| {
                r.sys_id.as_deref() == Some(sys_id)
                    && (r.injected.as_deref() == Some("drop_after_apply")
                        || r.status.is_some_and(|s| (200..300).contains(&s)))
            })
            .collect()
    }
}

/// An RFC 3339 time `minutes` ago.
pub fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The backup's version of record `n`.
pub fn restored(n: usize) -> Value {
    json!({"short_description": format!("printer {n} jammed"), "state": "2"})
}

/// What the instance holds for record `n` before the restore.
pub fn damaged(n: usize) -> Value {
    json!({"short_description": format!("bulk-edited {n}"), "state": "7"})
}

/// `rows` records in the backup at 30 minutes ago (fresh watermark), all
/// present in the instance in their damaged form: a plan at 5 minutes ago
/// updates each of them.
pub async fn damaged_incidents(sn: &SnInstance, ctx: &TestContext, rows: usize) -> Vec<String> {
    let ids: Vec<String> = (0..rows).map(sys_id).collect();
    let at = ago(30);
    let versions: Vec<Version<'_>> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| Version::upsert("incident", id, &at, restored(n)))
        .collect();
    for (b, batch) in versions.chunks(5000).enumerate() {
        ctx.ingest((b * 5000) as i64, batch).await;
    }
    ctx.watermark("incident", &ago(1)).await;
    let seeded: Vec<(String, Value)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (id.clone(), damaged(n)))
        .collect();
    for batch in seeded.chunks(1000) {
        sn.seed("incident", batch);
    }
    ids
}
