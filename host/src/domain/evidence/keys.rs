//! The evidence signing key: ed25519 from `RRS_EVIDENCE_SIGNER_KEY_ID`,
//! `RRS_EVIDENCE_SIGNING_PRIVATE_KEY_PEM` (PKCS#8) and optionally
//! `RRS_EVIDENCE_SIGNING_PUBLIC_KEY_PEM` (SPKI, which must match, so a
//! mismatched pair stops start-up instead of signing packages nobody can
//! verify). With nothing configured, a development key is generated once
//! and kept in the data directory, with a warning: packages still sign and
//! verify, but nobody outside this deployment vouches for that key.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::config::EvidenceConfig;
use crate::domain::canonical::sha256_hex;

/// The only signature algorithm.
pub const ALGORITHM: &str = "ed25519";

/// File in the data directory holding the development key.
pub const DEV_KEY_FILE: &str = "evidence-dev-signing-key.pem";

/// Where the signing key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum KeySource {
    /// Configured by the operator.
    Configured,
    /// Generated in the data directory because none was configured.
    Development,
}

impl KeySource {
    /// The keyring's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A signing key that cannot be used; start-up stops with this message.
#[derive(Debug, thiserror::Error)]
#[error("evidence signing key: {0}")]
pub struct KeyError(pub String);

/// The current signing key and its id.
pub struct Signer {
    key_id: String,
    signing: SigningKey,
    public_pem: String,
    source: KeySource,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The configured key, or the development key of `data_dir` when none
    /// is configured.
    pub fn from_config(config: &EvidenceConfig, data_dir: &Path) -> Result<Self, KeyError> {
        let private = config
            .signing_private_key_pem
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        let key_id = config
            .signer_key_id
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        let public = config
            .signing_public_key_pem
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        match (private, key_id) {
            (Some(private), Some(key_id)) => Self::from_pem(key_id, private, public),
            (Some(_), None) => Err(KeyError(
                "RRS_EVIDENCE_SIGNING_PRIVATE_KEY_PEM is set but RRS_EVIDENCE_SIGNER_KEY_ID is not; \
                 name the key so packages can say which key signed them"
                    .to_owned(),
            )),
            (None, _) if key_id.is_some() || public.is_some() => Err(KeyError(
                "RRS_EVIDENCE_SIGNER_KEY_ID or RRS_EVIDENCE_SIGNING_PUBLIC_KEY_PEM is set without \
                 RRS_EVIDENCE_SIGNING_PRIVATE_KEY_PEM"
                    .to_owned(),
            )),
            (None, _) => Self::development(data_dir),
        }
    }

    /// A configured key: PKCS#8 private PEM, optional SPKI public PEM that
    /// must belong to it.
    pub fn from_pem(
        key_id: &str,
        private_pem: &str,
        public_pem: Option<&str>,
    ) -> Result<Self, KeyError> {
        validate_key_id(key_id)?;
        let signing = SigningKey::from_pkcs8_pem(&unescape_pem(private_pem)).map_err(|e| {
            KeyError(format!(
                "RRS_EVIDENCE_SIGNING_PRIVATE_KEY_PEM is not an ed25519 PKCS#8 PEM key: {e}"
            ))
        })?;
        if let Some(public_pem) = public_pem {
            let public = parse_public_key_pem(public_pem)
                .map_err(|e| KeyError(format!("RRS_EVIDENCE_SIGNING_PUBLIC_KEY_PEM: {e}")))?;
            if public != signing.verifying_key() {
                return Err(KeyError(
                    "RRS_EVIDENCE_SIGNING_PUBLIC_KEY_PEM does not match \
                     RRS_EVIDENCE_SIGNING_PRIVATE_KEY_PEM"
                        .to_owned(),
                ));
            }
        }
        Self::new(key_id.to_owned(), signing, KeySource::Configured)
    }

    /// The development key kept in `data_dir`, generated on first use.
    pub fn development(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(DEV_KEY_FILE);
        let signing = match std::fs::read_to_string(&path) {
            Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| KeyError(format!("{} is not a PKCS#8 key: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => generate_dev_key(&path)?,
            Err(e) => return Err(KeyError(format!("cannot read {}: {e}", path.display()))),
        };
        let key_id = format!("dev-{}", &fingerprint(&signing.verifying_key())[..16]);
        tracing::warn!(
            signer_key_id = %key_id,
            path = %path.display(),
            "no evidence signing key configured: signing with a development key kept in the data \
             directory; set RRS_EVIDENCE_SIGNER_KEY_ID and RRS_EVIDENCE_SIGNING_PRIVATE_KEY_PEM \
             for packages auditors can trust"
        );
        Self::new(key_id, signing, KeySource::Development)
    }

    fn new(key_id: String, signing: SigningKey, source: KeySource) -> Result<Self, KeyError> {
        let public_pem = public_key_pem(&signing.verifying_key())?;
        Ok(Self {
            key_id,
            signing,
            public_pem,
            source,
        })
    }

    /// The id packages name as `signer_key_id`.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public half as SPKI PEM.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// Where the key came from.
    pub fn source(&self) -> KeySource {
        self.source
    }

    /// Signs `message`; standard padded base64.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.signing.sign(message).to_bytes())
    }
}

/// Generates a key; returns the private key PKCS#8 PEM and the public SPKI
/// PEM (for tools and tests).
pub fn generate_key_pair() -> Result<(String, String), KeyError> {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let private = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError(format!("cannot encode the key: {e}")))?;
    Ok((
        private.to_string(),
        public_key_pem(&signing.verifying_key())?,
    ))
}

/// Parses an SPKI PEM ed25519 public key.
pub fn parse_public_key_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(unescape_pem(pem).trim())
        .map_err(|e| KeyError(format!("not an ed25519 SPKI PEM public key: {e}")))
}

/// SPKI PEM of a public key.
pub fn public_key_pem(key: &VerifyingKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError(format!("cannot encode the public key: {e}")))
}

/// Lowercase hex sha256 of the key's 32 bytes: how people compare keys.
pub fn fingerprint(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())
}

/// Checks a standard base64 ed25519 signature of `message`.
pub fn verify_signature(
    key: &VerifyingKey,
    message: &[u8],
    signature_base64: &str,
) -> Result<(), String> {
    let bytes = STANDARD
        .decode(signature_base64)
        .map_err(|e| format!("the signature is not standard base64: {e}"))?;
    let signature =
        Signature::from_slice(&bytes).map_err(|e| format!("the signature is not 64 bytes: {e}"))?;
    key.verify_strict(message, &signature)
        .map_err(|_| "the signature does not verify with this public key".to_owned())
}

/// Key ids go into URLs, logs and file names: keep them plain.
pub fn validate_key_id(key_id: &str) -> Result<(), KeyError> {
    let plain = key_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if key_id.is_empty() || key_id.len() > 128 || !plain {
        return Err(KeyError(format!(
            "RRS_EVIDENCE_SIGNER_KEY_ID {key_id:?} must be 1-128 characters of A-Z a-z 0-9 - _ . :"
        )));
    }
    Ok(())
}

/// A PEM pasted into an environment variable often arrives with literal
/// `\n` instead of line breaks.
fn unescape_pem(pem: &str) -> String {
    if pem.contains('\n') {
        pem.to_owned()
    } else {
        pem.replace("\\n", "\n")
    }
}

fn generate_dev_key(path: &PathBuf) -> Result<SigningKey, KeyError> {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError(format!("cannot encode the development key: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(pem.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| KeyError(format!("cannot write {}: {e}", path.display())))?;
            Ok(signing)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| KeyError(format!("cannot read {}: {e}", path.display())))?;
            SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| KeyError(format!("{} is not a PKCS#8 key: {e}", path.display())))
        }
        Err(e) => Err(KeyError(format!("cannot create {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(key_id: Option<&str>, private: Option<&str>, public: Option<&str>) -> EvidenceConfig {
        EvidenceConfig {
            signer_key_id: key_id.map(str::to_owned),
            signing_private_key_pem: private.map(str::to_owned),
            signing_public_key_pem: public.map(str::to_owned),
            ..EvidenceConfig::default()
        }
    }

    #[test]
    fn configured_pair_signs_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate_key_pair().unwrap();
        let signer = Signer::from_config(
            &config(Some("k-2026"), Some(&private), Some(&public)),
            dir.path(),
        )
        .unwrap();
        assert_eq!(signer.key_id(), "k-2026");
        assert_eq!(signer.source(), KeySource::Configured);
        let signature = signer.sign(b"manifest");
        let key = parse_public_key_pem(&public).unwrap();
        assert!(verify_signature(&key, b"manifest", &signature).is_ok());
        assert!(verify_signature(&key, b"manifesT", &signature).is_err());
        assert!(!dir.path().join(DEV_KEY_FILE).exists());
    }

    #[test]
    fn mismatched_public_key_refuses_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let (private, _) = generate_key_pair().unwrap();
        let (_, other_public) = generate_key_pair().unwrap();
        let error = Signer::from_config(
            &config(Some("k"), Some(&private), Some(&other_public)),
            dir.path(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("does not match"), "{error}");
    }

    #[test]
    fn incomplete_or_bad_configuration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate_key_pair().unwrap();
        for (key_id, private, public, needle) in [
            (
                None,
                Some(private.as_str()),
                None,
                "RRS_EVIDENCE_SIGNER_KEY_ID is not",
            ),
            (Some("k"), None, None, "without"),
            (None, None, Some(public.as_str()), "without"),
            (
                Some("k"),
                Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
                None,
                "PKCS#8",
            ),
            (Some("bad id/../x"), Some(private.as_str()), None, "must be"),
        ] {
            let error =
                Signer::from_config(&config(key_id, private, public), dir.path()).unwrap_err();
            assert!(error.to_string().contains(needle), "{needle}: {error}");
        }
    }

    #[test]
    fn escaped_newlines_in_environment_pem_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate_key_pair().unwrap();
        let escaped = private.trim_end().replace('\n', "\\n");
        let signer = Signer::from_config(
            &config(Some("k"), Some(&escaped), Some(&public)),
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            signer.verifying_key(),
            parse_public_key_pem(&public).unwrap()
        );
    }

    #[test]
    fn development_key_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Signer::from_config(&EvidenceConfig::default(), dir.path()).unwrap();
        assert_eq!(first.source(), KeySource::Development);
        assert!(first.key_id().starts_with("dev-"));
        let second = Signer::from_config(&EvidenceConfig::default(), dir.path()).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        assert_eq!(first.verifying_key(), second.verifying_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEV_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key file is private");
        }
        let other = tempfile::tempdir().unwrap();
        let third = Signer::from_config(&EvidenceConfig::default(), other.path()).unwrap();
        assert_ne!(first.key_id(), third.key_id());
    }

    #[test]
    fn bad_signatures_are_refused_with_a_reason() {
        let (_, public) = generate_key_pair().unwrap();
        let key = parse_public_key_pem(&public).unwrap();
        assert!(verify_signature(&key, b"m", "not base64!")
            .unwrap_err()
            .contains("base64"));
        assert!(verify_signature(&key, b"m", "AAAA")
            .unwrap_err()
            .contains("64 bytes"));
        assert!(parse_public_key_pem("garbage").is_err());
    }
}
