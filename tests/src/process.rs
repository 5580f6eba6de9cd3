//! The service as a real child process: for tests that need several
//! replicas on one database, or a crash (`SIGKILL`) and a restart.
//!
//! Integration tests pass the server binary they were built with:
//! `ServerProcess::start(env!("CARGO_BIN_EXE_rrs-e2e-server"), ...)`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::{policy_cache_dir, Reply, TestContext};

/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `rrs serve` child process.
pub struct ServerProcess {
    binary: PathBuf,
    env: Vec<(String, String)>,
    config_file: Option<PathBuf>,
    child: Option<Child>,
    /// Where it listens (changes on restart: port 0).
    pub addr: SocketAddr,
    /// The admin token it was started with.
    pub admin_token: String,
    /// Its standard error so far, every start included.
    log: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

impl ServerProcess {
    /// Starts `binary serve` on the database at `database_url`, with its
    /// own data directory and `admin_token` as bootstrap token, and waits
    /// for its `listening on http://ADDR:PORT` line.
    pub async fn start(
        binary: impl AsRef<Path>,
        database_url: &str,
        data_dir: &Path,
        admin_token: &str,
    ) -> Self {
        Self::start_with(binary, database_url, data_dir, admin_token, &[]).await
    }

    /// [`Self::start`] with extra `RRS_*` settings in the environment.
    pub async fn start_with(
        binary: impl AsRef<Path>,
        database_url: &str,
        data_dir: &Path,
        admin_token: &str,
        extra_env: &[(&str, &str)],
    ) -> Self {
        Self::start_configured(binary, database_url, data_dir, admin_token, extra_env, None).await
    }

    /// [`Self::start_with`] and a configuration file (`--config`), for
    /// settings the environment cannot carry (a list of `[[targets]]`).
    pub async fn start_configured(
        binary: impl AsRef<Path>,
        database_url: &str,
        data_dir: &Path,
        admin_token: &str,
        extra_env: &[(&str, &str)],
        config_file: Option<&Path>,
    ) -> Self {
        let mut env = vec![
            ("RRS_DATABASE_URL".to_owned(), database_url.to_owned()),
            ("RRS_DATA_DIR".to_owned(), data_dir.display().to_string()),
            ("RRS_LISTEN_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
            (
                "RRS_AUTH_BOOTSTRAP_TOKEN".to_owned(),
                admin_token.to_owned(),
            ),
            (
                "RRS_POLICIES__CACHE_DIR".to_owned(),
                policy_cache_dir().display().to_string(),
            ),
            ("RRS_DATABASE__MAX_CONNECTIONS".to_owned(), "5".to_owned()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        env.extend(shared_media_env(database_url));
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut server = ServerProcess {
            binary: binary.as_ref().to_owned(),
            env,
            config_file: config_file.map(Path::to_owned),
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: admin_token.to_owned(),
            log: Arc::default(),
            client: reqwest::Client::new(),
        };
        server.spawn().await;
        server
    }

    /// Starts a replica on a [`TestContext`]'s database and admin token.
    pub async fn replica_of(binary: impl AsRef<Path>, ctx: &TestContext, name: &str) -> Self {
        let data_dir = ctx.data_path(name);
        std::fs::create_dir_all(&data_dir).expect("replica data dir");
        Self::start(binary, &ctx.database.url, &data_dir, &ctx.admin_token).await
    }

    async fn spawn(&mut self) {
        let mut command = Command::new(&self.binary);
        if let Some(file) = &self.config_file {
            command.arg("--config").arg(file);
        }
        let mut child = command
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let log = Arc::clone(&self.log);
        // Keeps draining stderr for the child's whole life, so it never
        // blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                log.lock().expect("log lock").push(line);
            }
        });
        self.child = Some(child);
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(START_TIMEOUT))
            .await
            .expect("waiting for the listening line");
        match addr {
            Ok(addr) => self.addr = addr,
            Err(_) => {
                self.kill();
                panic!("server did not start; its log:\n{}", self.log());
            }
        }
    }

    /// Kills the process with `SIGKILL` (no graceful shutdown: a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process if it runs and starts it again on the same
    /// database and data directory.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    /// Whether the process is still running.
    /// The child's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Everything it wrote to standard error so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request with a token (the admin token when `None`).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let method_name = method.clone();
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token.unwrap_or(&self.admin_token));
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = TestContext::reply(request.send().await.expect("request sent")).await;
        crate::declared::check(
            method_name.as_str(),
            path,
            reply.status.as_u16(),
            &reply.body,
        );
        reply
    }

    /// GET with the admin token.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, None).await
    }

    /// POST JSON with the admin token.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, None, Some(body)).await
    }
}

/// On PostgreSQL, where start-up refuses a local media store that is not
/// declared shared: one media directory for every process on that
/// database (really shared: they all run on this machine). `extra_env`
/// (an S3 store, or a test of the refusal) comes later and wins.
fn shared_media_env(database_url: &str) -> Vec<(String, String)> {
    if !database_url.starts_with("postgres") {
        return Vec::new();
    }
    let database = database_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    let dir = std::env::temp_dir()
        .join("rrs-test-shared-media")
        .join(database);
    vec![
        ("RRS_MEDIA__DIRECTORY".to_owned(), dir.display().to_string()),
        ("RRS_MEDIA__SHARED_DIRECTORY".to_owned(), "true".to_owned()),
    ]
}

/// `ADDR:PORT` of a `listening on http://ADDR:PORT` log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    addr.parse().ok()
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::listening_addr;

    #[test]
    fn finds_the_address_in_a_log_line() {
        let line = "2026-11-26T10:00:00Z  INFO rrs: listening on http://127.0.0.1:41234";
        assert_eq!(
            listening_addr(line).map(|a| a.to_string()),
            Some("127.0.0.1:41234".to_owned())
        );
        let colored = "\u{1b}[2mx\u{1b}[0m listening on http://127.0.0.1:9\u{1b}[0m";
        assert_eq!(listening_addr(colored).map(|a| a.port()), Some(9));
        assert_eq!(listening_addr("starting"), None);
    }
}
