//! Test harness for the end-to-end suite: each [`TestContext`] gets a
//! fresh database (a SQLite file in a temp dir, or a new PostgreSQL
//! database when `RRS_TEST_DATABASE_URL` is set) and the real router served
//! in-process on port 0, and talks to it over HTTP like any client.
//!
//! This crate is test support only: a failed set-up step panics, which is
//! how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;

pub mod database;
pub mod declared;
pub mod faults;
pub mod fixtures;
pub mod process;
pub mod queue;
pub mod s3;
pub mod servicenow;
pub mod tools;

pub use database::TestDatabase;

/// A running service on its own fresh database.
pub struct TestContext {
    pub addr: SocketAddr,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    extra_config: String,
    /// The running server's domain, for the test hooks that drive what a
    /// clock would (the drill scheduler's tick).
    service: Option<rrs::domain::RestoreService>,
}

/// A response as tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `reason_code` of an error body.
    pub fn reason(&self) -> &str {
        self.body["reason_code"].as_str().unwrap_or("<none>")
    }
}

impl TestContext {
    /// Starts a service with the default configuration.
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts a service with extra TOML configuration merged on top.
    pub async fn start_with(extra_config: &str) -> Self {
        let database = TestDatabase::create().await;
        let data_dir = tempfile::tempdir().expect("temp dir");
        let admin_token = format!("rrs_test_admin_{}", uuid::Uuid::new_v4().simple());
        let mut ctx = TestContext {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token,
            client: reqwest::Client::new(),
            database,
            data_dir,
            shutdown: None,
            server: None,
            extra_config: extra_config.to_owned(),
            service: None,
        };
        ctx.boot().await;
        ctx
    }

    /// The configuration this context's server runs with.
    pub fn config(&self) -> rrs::config::Config {
        let base = format!(
            "data_dir = {data:?}\n[database]\nurl = {url:?}\nmax_connections = 5\n[auth]\nbootstrap_token = {token:?}\n[policies]\ncache_dir = {cache:?}\n",
            cache = policy_cache_dir().display().to_string(),
            data = self.data_dir.path().display().to_string(),
            url = self.database.url,
            token = self.admin_token,
        );
        // On PostgreSQL a local media store must be declared shared (start-up
        // refuses it otherwise): this context's one server is the only
        // process that reads its directory. An extra `[media]` wins.
        let media = match self.database.is_postgres() {
            true => "[media]\nshared_directory = true\n",
            false => "",
        };
        rrs::config::Config::from_toml_layers(&[&base, media, &self.extra_config])
            .expect("test configuration")
    }

    async fn boot(&mut self) {
        // Server logs (errors by default, `RUST_LOG` to change)
        // show up in a failing test's output.
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "error".to_owned());
        rrs::telemetry::logging::init(&rrs::config::LogConfig {
            format: rrs::config::LogFormat::Text,
            filter,
        });
        let mut config = self.config();
        config.server.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let app = rrs::prepare(config).await.expect("prepare app");
        let bound = rrs::bind(app.service.config().server.listen_addr)
            .await
            .expect("bind");
        self.addr = bound.addr;
        self.service = Some(app.service.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.shutdown = Some(tx);
        self.server = Some(tokio::spawn(rrs::serve_on(app, bound, async move {
            let _ = rx.await;
        })));
    }

    /// The running server's domain: a test hook for what the service's
    /// clock drives, e.g. `ctx.service().drill_tick(now)` runs the drill
    /// scheduler once as of a time the test chooses (no sleeping).
    pub fn service(&self) -> &rrs::domain::RestoreService {
        self.service.as_ref().expect("the server is running")
    }

    /// Replaces the extra configuration the next (re)start uses (a key
    /// rotation, a changed retention window).
    pub fn set_extra_config(&mut self, extra_config: &str) {
        self.extra_config = extra_config.to_owned();
    }

    /// Stops the server and starts a new one on the same database and data
    /// directory (what an operator's restart does).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.boot().await;
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }

    /// Base URL of the running server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request and decodes the JSON body (Null when empty or not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let method_name = method.clone();
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = Self::reply(request.send().await.expect("request sent")).await;
        declared::check(
            method_name.as_str(),
            path,
            reply.status.as_u16(),
            &reply.body,
        );
        reply
    }

    /// Decodes a raw response.
    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET with the admin token.
    /// Every item of a paged list: follows `next_cursor` from `path` (which
    /// may carry its own query) and gathers each page's `field`. Fails on a
    /// page that is not `200` or after 1,000 pages.
    pub async fn all_pages(&self, path: &str, field: &str) -> Vec<Value> {
        let join = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let page = match &cursor {
                Some(c) => self.get(&format!("{path}{join}cursor={c}")).await,
                None => self.get(path).await,
            };
            assert_eq!(
                page.status,
                reqwest::StatusCode::OK,
                "{path}: {:?}",
                page.body
            );
            let items = page.body[field]
                .as_array()
                .unwrap_or_else(|| panic!("{path}: no list {field:?} in {:?}", page.body));
            all.extend(items.iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return all,
            }
        }
        panic!("{path}: still a next_cursor after 1000 pages");
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, Some(&self.admin_token), None)
            .await
    }

    /// POST JSON with the admin token.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            reqwest::Method::POST,
            path,
            Some(&self.admin_token),
            Some(body),
        )
        .await
    }

    /// Issues a token for an operator with these capabilities and tenants.
    pub async fn token(
        &self,
        operator_id: &str,
        capabilities: &[&str],
        tenants: &[&str],
    ) -> String {
        let reply = self
            .post(
                "/v1/auth/tokens",
                &serde_json::json!({"operator_id": operator_id, "capabilities": capabilities, "tenants": tenants}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// Path of a file in the data directory.
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.data_dir.path().join(name)
    }
}

/// Compiled plugins are cached by digest and engine, so every test of a
/// run can share one cache instead of compiling the defaults each time.
pub fn policy_cache_dir() -> PathBuf {
    std::env::temp_dir().join("rrs-test-policy-cache")
}

impl Drop for TestContext {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
