//! A real S3 API for tests: moto's server (`moto[server]`, pinned in
//! `.ci/requirements.txt` and installed by `.ci/tools` into the tools
//! virtualenv), started as its own process on 127.0.0.1 and a free port,
//! with one empty bucket, and killed when the handle is dropped. Replicas
//! configured with [`S3Server::env`] share it as their media store.
//!
//! A missing server binary fails the test (it never skips): run
//! `.ci/tools` first.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStoreExt;

/// How long moto may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server with one bucket.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for this test.
    pub bucket: String,
    client: reqwest::Client,
}

/// The tools virtualenv `.ci/tools` installs into.
fn tools_venv() -> PathBuf {
    match std::env::var_os("RRS_TOOLS_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache")
            .join("rrs-venv"),
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl S3Server {
    /// Starts moto on a free port and creates a bucket; panics (failing
    /// the test) when moto is not installed or does not come up.
    pub async fn start() -> Self {
        let binary = tools_venv().join("bin").join("moto_server");
        assert!(
            binary.is_file(),
            "{} is missing: the S3 tests need moto's server; run `bash .ci/tools` \
             (it installs .ci/requirements.txt into $RRS_TOOLS_VENV, default \
             ~/.cache/rrs-venv)",
            binary.display()
        );
        let port = free_port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: format!("rrs-test-{}", uuid::Uuid::new_v4().simple()),
            client: reqwest::Client::new(),
        };
        server.wait_until_up().await;
        let created = server
            .client
            .put(format!("{}/{}", server.endpoint, server.bucket))
            .send()
            .await
            .expect("create bucket");
        assert!(
            created.status().is_success(),
            "creating bucket {}: {}",
            server.bucket,
            created.status()
        );
        server
    }

    async fn wait_until_up(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited at start-up: {status}");
            }
            if self.client.get(&self.endpoint).send().await.is_ok() {
                return;
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "moto_server did not answer on {} within {START_TIMEOUT:?}",
                self.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The `RRS_MEDIA__*` settings of a replica using this bucket under
    /// `prefix` (moto accepts any credentials).
    pub fn env(&self, prefix: &str) -> Vec<(String, String)> {
        [
            ("RRS_MEDIA__BACKEND", "s3"),
            ("RRS_MEDIA__BUCKET", self.bucket.as_str()),
            ("RRS_MEDIA__PREFIX", prefix),
            ("RRS_MEDIA__ENDPOINT", self.endpoint.as_str()),
            ("RRS_MEDIA__REGION", "us-east-1"),
            ("RRS_MEDIA__ALLOW_HTTP", "true"),
            ("RRS_MEDIA__ACCESS_KEY_ID", "testing"),
            ("RRS_MEDIA__SECRET_ACCESS_KEY", "testing-secret"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// The same as a `[media]` TOML section, for an in-process server.
    pub fn toml(&self, prefix: &str) -> String {
        format!(
            "[media]\nbackend = \"s3\"\nbucket = {bucket:?}\nprefix = {prefix:?}\n\
             endpoint = {endpoint:?}\nregion = \"us-east-1\"\nallow_http = true\n\
             access_key_id = \"testing\"\nsecret_access_key = \"testing-secret\"\n",
            bucket = self.bucket,
            endpoint = self.endpoint,
        )
    }

    /// A client of the bucket, signing as a replica does.
    fn bucket_client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_endpoint(&self.endpoint)
            .with_region("us-east-1")
            .with_allow_http(true)
            .with_access_key_id("testing")
            .with_secret_access_key("testing-secret")
            .build()
            .expect("S3 client of the test bucket")
    }

    /// The bytes stored under `key` (a path in the bucket), if any.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self.bucket_client().get(&ObjectPath::from(key)).await {
            Ok(result) => Some(result.bytes().await.expect("object body").to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("get {key}: {e}"),
        }
    }

    /// Deletes the object under `key`.
    pub async fn delete(&self, key: &str) {
        self.bucket_client()
            .delete(&ObjectPath::from(key))
            .await
            .unwrap_or_else(|e| panic!("delete {key}: {e}"));
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
