//! Signed policy plugins. A pinned sha256 says *which* bytes run; a
//! signature says *who* vouched for them, so a service can refuse plugins
//! nobody it trusts has signed, and every decision names its signer.
//!
//! `rrs policy sign --key K X.wasm` writes `X.wasm.sig` beside the plugin:
//! JSON `{algorithm: "ed25519", sha256, public_key, signature}`, where the
//! ed25519 signature covers [`signed_message`] of the wasm's sha256 (domain
//! separated, so the key signs nothing else by accident). A policy file's
//! `[signatures]` table names the trusted public keys and whether a
//! signature is required; with `require_signatures = true` a plugin file
//! with no signature, a signature by a key not in `trusted_keys`, or a
//! signature that does not verify (the wasm changed after signing) is
//! refused at load and at reload, so the running set stays. Builtin
//! plugins are part of the binary and need no signature.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The only algorithm a signature file may name.
pub const SIGNATURE_ALGORITHM: &str = "ed25519";

/// A policy file's `[signatures]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignaturePolicy {
    /// Refuse plugin files without a valid signature by a trusted key.
    #[serde(default)]
    pub require_signatures: bool,
    #[serde(default)]
    pub trusted_keys: Vec<TrustedKey>,
}

/// A public key whose signatures the service accepts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    /// Shown as the signer of the plugins it signed.
    pub name: String,
    /// The 32-byte ed25519 public key, base64 (what `rrs policy keygen`
    /// prints).
    pub public_key: String,
}

impl SignaturePolicy {
    /// Every key decodes and every name is distinct.
    pub(crate) fn check(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for key in &self.trusted_keys {
            parse_public_key(&key.public_key)
                .map_err(|e| format!("trusted key `{}`: {e}", key.name))?;
            if key.name.trim().is_empty() || !names.insert(key.name.as_str()) {
                return Err(format!(
                    "trusted key names must be non-empty and distinct (`{}`)",
                    key.name
                ));
            }
        }
        if self.require_signatures && self.trusted_keys.is_empty() {
            return Err("`require_signatures = true` needs at least one trusted key".into());
        }
        Ok(())
    }
}

/// Who signed a loaded plugin (`GET /v1/policies` `signer`, and every
/// decision's record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySigner {
    /// The trusted key's `name` in the policy file.
    pub key_name: String,
    /// [`fingerprint`] of its public key.
    pub fingerprint: String,
}

/// Why a plugin's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum SignatureRefusal {
    /// No `<plugin>.sig` beside the plugin.
    SignatureMissing,
    /// Signed by a key that is not in `trusted_keys`.
    SignatureUntrusted,
    /// The signature file is malformed, is for other bytes, or does not
    /// verify: the wasm changed after signing.
    SignatureInvalid,
}

impl SignatureRefusal {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The detached signature file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    pub algorithm: String,
    /// The signed wasm's lowercase hex sha256.
    pub sha256: String,
    /// The signer's public key, base64.
    pub public_key: String,
    /// The ed25519 signature of [`signed_message`], base64.
    pub signature: String,
}

/// What a plugin signature signs: a fixed prefix and the wasm's sha256.
pub fn signed_message(digest: &str) -> Vec<u8> {
    format!("rrs-policy-plugin-v1\nsha256:{digest}").into_bytes()
}

/// `sha256:` and the first 16 hex digits of the sha256 of the raw key.
pub fn fingerprint(key: &VerifyingKey) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("sha256:{}", &digest[..16])
}

/// The base64 form of a public key.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    BASE64.encode(key.as_bytes())
}

/// Decodes a base64 ed25519 public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("public key is not base64: {e}"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "an ed25519 public key is 32 bytes".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an ed25519 public key: {e}"))
}

/// `X.wasm` → `X.wasm.sig`.
pub fn signature_path(wasm: &Path) -> PathBuf {
    let mut path = wasm.as_os_str().to_owned();
    path.push(".sig");
    PathBuf::from(path)
}

/// `rrs policy keygen --out K`: a new signing key as PKCS#8 PEM at `out`
/// (never overwritten; owner-only on unix). Returns the public key
/// (base64) and its fingerprint.
pub fn keygen(out: &Path) -> anyhow::Result<(String, String)> {
    if out.exists() {
        bail!("{} exists; not overwriting a key", out.display());
    }
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding the key: {e}"))?;
    write_private(out, pem.as_bytes())?;
    let public = signing.verifying_key();
    Ok((encode_public_key(&public), fingerprint(&public)))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// `rrs policy sign --key K X.wasm`: writes `X.wasm.sig`; returns its path,
/// the wasm's digest and the key's fingerprint.
pub fn sign(key: &Path, wasm: &Path) -> anyhow::Result<(PathBuf, String, String)> {
    let pem = fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let signing = SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{} is not an ed25519 PKCS#8 PEM key: {e}", key.display()))?;
    let bytes = fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let digest = hex::encode(Sha256::digest(&bytes));
    let public = signing.verifying_key();
    let file = SignatureFile {
        algorithm: SIGNATURE_ALGORITHM.into(),
        sha256: digest.clone(),
        public_key: encode_public_key(&public),
        signature: BASE64.encode(signing.sign(&signed_message(&digest)).to_bytes()),
    };
    let path = signature_path(wasm);
    fs::write(&path, serde_json::to_string_pretty(&file)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((path, digest, fingerprint(&public)))
}

/// A refusal with its message.
pub(crate) type Refused = (SignatureRefusal, String);

/// Checks the signature of the plugin file `wasm` (whose bytes hash to
/// `digest`) against `policy`. `Ok(None)`: not signed by a trusted key,
/// and signatures are not required.
pub(crate) fn verify(
    policy: &SignaturePolicy,
    wasm: &Path,
    digest: &str,
) -> Result<Option<PolicySigner>, Refused> {
    match verify_strict(policy, wasm, digest) {
        Ok(signer) => Ok(Some(signer)),
        Err(refused) if policy.require_signatures => Err(refused),
        Err((refusal, message)) => {
            if refusal != SignatureRefusal::SignatureMissing {
                tracing::warn!(plugin = %wasm.display(), refusal = refusal.as_str(), %message,
                    "plugin signature not accepted; loading it unsigned (signatures not required)");
            }
            Ok(None)
        }
    }
}

fn verify_strict(
    policy: &SignaturePolicy,
    wasm: &Path,
    digest: &str,
) -> Result<PolicySigner, Refused> {
    use SignatureRefusal::{SignatureInvalid, SignatureMissing, SignatureUntrusted};
    let path = signature_path(wasm);
    let text = fs::read_to_string(&path).map_err(|e| {
        (
            SignatureMissing,
            format!(
                "signatures are required and {} cannot be read ({e}); sign the plugin with \
                 `rrs policy sign --key KEY {}`",
                path.display(),
                wasm.display()
            ),
        )
    })?;
    let invalid = |why: String| (SignatureInvalid, format!("{}: {why}", path.display()));
    let file: SignatureFile =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not a signature file: {e}")))?;
    if file.algorithm != SIGNATURE_ALGORITHM {
        return Err(invalid(format!(
            "algorithm `{}` (only {SIGNATURE_ALGORITHM})",
            file.algorithm
        )));
    }
    let signer_key = parse_public_key(&file.public_key).map_err(invalid)?;
    let trusted = policy.trusted_keys.iter().find(|key| {
        parse_public_key(&key.public_key).is_ok_and(|k| k.as_bytes() == signer_key.as_bytes())
    });
    let Some(trusted) = trusted else {
        let names: Vec<&str> = policy
            .trusted_keys
            .iter()
            .map(|k| k.name.as_str())
            .collect();
        return Err((
            SignatureUntrusted,
            format!(
                "{} is signed by key {}, which is not a trusted key of the policy file \
                 (trusted: {})",
                path.display(),
                fingerprint(&signer_key),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ));
    };
    if file.sha256 != digest {
        return Err(invalid(format!(
            "the signature is for sha256 {} but the plugin's is {digest}: the wasm changed \
             after it was signed",
            file.sha256
        )));
    }
    let signature = BASE64
        .decode(file.signature.trim())
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| invalid("the signature is not a base64 ed25519 signature".into()))?;
    signer_key
        .verify(&signed_message(digest), &signature)
        .map_err(|_| invalid("the signature does not verify".into()))?;
    Ok(PolicySigner {
        key_name: trusted.name.clone(),
        fingerprint: fingerprint(&signer_key),
    })
}
