//! The attachment blob store: `object_store`'s local filesystem under the
//! data directory by default. Blobs are content-addressed (`sha256/<hex>`),
//! so storing the same attachment twice costs nothing and a key says what
//! its bytes must hash to.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

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
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore").finish_non_exhaustive()
    }
}

impl MediaStore {
    /// A store rooted at `dir` (created if missing).
    pub fn local(dir: &Path) -> Result<Self, MediaStoreError> {
        std::fs::create_dir_all(dir).map_err(|e| MediaStoreError::Unavailable(e.to_string()))?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| MediaStoreError::Unavailable(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(fs),
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
