//! The attachment blob store, through `object_store`: the local filesystem
//! under the data directory by default (the embedded service), or an
//! S3-compatible bucket every replica shares (`[media] backend = "s3"`), so
//! an attachment ingested through one replica restores through any other.
//! Blobs are content-addressed (`sha256/<hex>`), so storing the same
//! attachment twice costs nothing and a key says what its bytes must hash to.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};

use crate::config::{MediaBackend, MediaConfig};

/// Why a blob could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MediaStoreError {
    /// No blob under that key.
    #[error("no blob {0}")]
    NotFound(String),
    /// The store failed; retrying may help.
    #[error("media store unavailable: {0}")]
    Unavailable(String),
}

/// The key of the blob whose bytes hash to `sha256_hex`.
pub fn blob_key(sha256_hex: &str) -> String {
    format!(
        "sha256/{}/{}",
        &sha256_hex[..2.min(sha256_hex.len())],
        sha256_hex
    )
}

/// A handle on the blob store, cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    /// Where the blobs are, for logs: never a credential.
    location: String,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// Requests to the S3 store: each read or write is retried by the client
/// for at most this long (the execution's `media_attempts` retry around
/// it), so an unreachable store fails an attachment in seconds, not the
/// client's default minutes.
const S3_RETRY_TIMEOUT: Duration = Duration::from_secs(10);
const S3_MAX_RETRIES: usize = 3;
const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const S3_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The S3 client's settings: the standard `AWS_*` variables of `env`
/// first (credentials, region, endpoint, and the container or instance
/// role when no key is given), then what `[media]` sets, which wins.
pub fn s3_builder(
    config: &MediaConfig,
    env: impl IntoIterator<Item = (String, String)>,
) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::new()
        .with_retry(RetryConfig {
            max_retries: S3_MAX_RETRIES,
            retry_timeout: S3_RETRY_TIMEOUT,
            ..RetryConfig::default()
        })
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(S3_CONNECT_TIMEOUT)
                .with_timeout(S3_REQUEST_TIMEOUT),
        );
    for (key, value) in env {
        if !key.starts_with("AWS_") {
            continue;
        }
        if let Ok(config_key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(config_key, value);
        }
    }
    if let Some(bucket) = &config.bucket {
        builder = builder.with_bucket_name(bucket);
    }
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &config.region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &config.access_key_id {
        builder = builder.with_access_key_id(key.expose());
    }
    if let Some(secret) = &config.secret_access_key {
        builder = builder.with_secret_access_key(secret.expose());
    }
    if let Some(token) = &config.session_token {
        builder = builder.with_token(token.expose());
    }
    if config.allow_http {
        builder = builder.with_allow_http(true);
    }
    builder
}

impl MediaStore {
    /// The store `[media]` configures (`data_dir` holds the local default).
    pub fn open(config: &MediaConfig, data_dir: &Path) -> Result<Self, MediaStoreError> {
        match config.backend {
            MediaBackend::Local => Self::local(&config.local_directory(data_dir)),
            MediaBackend::S3 => Self::s3(config, std::env::vars()),
        }
    }

    /// A store in an S3-compatible bucket, configured from `config` over
    /// the `AWS_*` variables of `env`.
    pub fn s3(
        config: &MediaConfig,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, MediaStoreError> {
        let builder = s3_builder(config, env);
        let bucket = builder
            .get_config_value(&AmazonS3ConfigKey::Bucket)
            .unwrap_or_default();
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| "aws".to_owned());
        let s3 = builder
            .build()
            .map_err(|e| MediaStoreError::Unavailable(format!("S3 media store: {e}")))?;
        let prefix = config.prefix.trim_matches('/');
        let location = format!("s3://{bucket}/{prefix} at {endpoint}");
        let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            let prefix = ObjectPath::parse(prefix).map_err(|e| {
                MediaStoreError::Unavailable(format!("media.prefix {prefix:?}: {e}"))
            })?;
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(Self { inner, location })
    }

    /// Where the blobs are (bucket, prefix and endpoint, or the
    /// directory), for logs; never a credential.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether the store answers now: lists at most one key (an empty
    /// bucket or directory answers too). Start-up logs a failure, so a
    /// wrong bucket, endpoint or credential shows before the first ingest.
    pub async fn check(&self) -> Result<(), MediaStoreError> {
        use futures::StreamExt;
        match self.inner.list(None).next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(MediaStoreError::Unavailable(e.to_string())),
        }
    }

    /// A store rooted at `dir` (created if missing).
    pub fn local(dir: &Path) -> Result<Self, MediaStoreError> {
        std::fs::create_dir_all(dir).map_err(|e| MediaStoreError::Unavailable(e.to_string()))?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| MediaStoreError::Unavailable(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(fs),
            location: dir.display().to_string(),
        })
    }

    /// Stores bytes; returns their key and hex sha256.
    pub async fn put(&self, bytes: Bytes) -> Result<(String, String), MediaStoreError> {
        let sha = hex::encode(Sha256::digest(&bytes));
        let key = blob_key(&sha);
        self.inner
            .put(
                &ObjectPath::from(key.as_str()),
                PutPayload::from_bytes(bytes),
            )
            .await
            .map_err(|e| MediaStoreError::Unavailable(e.to_string()))?;
        Ok((key, sha))
    }

    /// Reads a blob.
    pub async fn get(&self, key: &str) -> Result<Bytes, MediaStoreError> {
        let result = self
            .inner
            .get(&ObjectPath::from(key))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => MediaStoreError::NotFound(key.to_owned()),
                other => MediaStoreError::Unavailable(other.to_string()),
            })?;
        result
            .bytes()
            .await
            .map_err(|e| MediaStoreError::Unavailable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn s3_config() -> MediaConfig {
        MediaConfig {
            backend: MediaBackend::S3,
            bucket: Some("rrs-media".into()),
            endpoint: Some("http://127.0.0.1:9".into()),
            allow_http: true,
            ..MediaConfig::default()
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn credentials_come_from_the_aws_environment_when_not_configured() {
        let aws = env(&[
            ("AWS_ACCESS_KEY_ID", "env-key"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_REGION", "eu-north-1"),
            ("RRS_MEDIA__BUCKET", "not-read-here"),
        ]);
        let builder = s3_builder(&s3_config(), aws.clone());
        let value = |key| builder.get_config_value(&key);
        assert_eq!(
            value(AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("env-key")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::SecretAccessKey).as_deref(),
            Some("env-secret")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::Region).as_deref(),
            Some("eu-north-1")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::Bucket).as_deref(),
            Some("rrs-media")
        );

        let configured = MediaConfig {
            access_key_id: Some(Secret::new("conf-key")),
            secret_access_key: Some(Secret::new("conf-secret")),
            region: Some("us-west-2".into()),
            ..s3_config()
        };
        let builder = s3_builder(&configured, aws);
        let value = |key| builder.get_config_value(&key);
        assert_eq!(
            value(AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("conf-key")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::SecretAccessKey).as_deref(),
            Some("conf-secret")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::Region).as_deref(),
            Some("us-west-2")
        );
    }

    #[test]
    fn an_s3_store_says_where_it_is_but_not_its_credentials() {
        let config = MediaConfig {
            prefix: "prod/".into(),
            access_key_id: Some(Secret::new("conf-key")),
            secret_access_key: Some(Secret::new("conf-secret")),
            ..s3_config()
        };
        let store = MediaStore::s3(&config, Vec::new()).unwrap();
        assert_eq!(
            store.location(),
            "s3://rrs-media/prod at http://127.0.0.1:9"
        );
        let shown = format!("{store:?}");
        assert!(shown.contains("rrs-media"), "{shown}");
        assert!(!shown.contains("conf-key") && !shown.contains("conf-secret"));
    }

    #[tokio::test]
    async fn a_local_store_round_trips_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let config = MediaConfig {
            directory: Some(dir.path().join("blobs")),
            ..MediaConfig::default()
        };
        let store = MediaStore::open(&config, Path::new("unused")).unwrap();
        let (key, sha) = store.put(Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(key, blob_key(&sha));
        assert!(dir.path().join("blobs").join(&key).is_file());
        assert_eq!(store.get(&key).await.unwrap(), Bytes::from_static(b"hello"));
        assert!(matches!(
            store.get(&blob_key("00ff")).await,
            Err(MediaStoreError::NotFound(_))
        ));
    }
}
