//! Canonical JSON (RFC 8785, via `serde_json_canonicalizer`) written as a
//! stream, so an artifact of any size is hashed without being held in
//! memory: an object's members are emitted in the canonical key order
//! (UTF-16 code units) and a long list is emitted element by element. The
//! bytes are exactly those of canonicalising the whole value at once (the
//! tests check it), so an offline verifier that loads the whole document
//! computes the same hash.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::DomainError;

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The canonical form of a value.
pub fn to_canonical<T: Serialize>(value: &T) -> Result<String, DomainError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))
}

/// sha256 of the canonical form.
pub fn canonical_sha256<T: Serialize>(value: &T) -> Result<String, DomainError> {
    Ok(sha256_hex(to_canonical(value)?.as_bytes()))
}

/// Writes one value in canonical form.
pub fn write_canonical<T: Serialize, W: Write>(out: &mut W, value: &T) -> Result<(), DomainError> {
    serde_json_canonicalizer::to_writer(value, out)
        .map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))
}

/// Writes raw punctuation (`{`, `,`, ...).
pub fn write_raw<W: Write>(out: &mut W, bytes: &[u8]) -> Result<(), DomainError> {
    out.write_all(bytes)
        .map_err(|e| DomainError::Internal(format!("writing canonical JSON: {e}")))
}

/// Object member names in canonical order: by their UTF-16 code units.
pub fn canonical_key_order(mut keys: Vec<String>) -> Vec<String> {
    keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    keys
}

/// A timestamp as artifacts and manifests spell it: RFC 3339 UTC with
/// microseconds, the precision both databases keep, so a value read back
/// from either hashes the same as when it was written.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A writer that hashes and counts what passes through it on its way to
/// `inner` (`io::sink()` when only the hash is wanted).
pub struct HashingWriter<W> {
    hasher: Sha256,
    bytes: u64,
    inner: W,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            hasher: Sha256::new(),
            bytes: 0,
            inner,
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The inner writer.
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Lowercase hex sha256 of everything written, and the byte count.
    pub fn finish(self) -> (String, u64, W) {
        (hex::encode(self.hasher.finalize()), self.bytes, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_is_by_utf16_code_units() {
        // U+E000 sorts after U+1F600 (a surrogate pair, 0xD83D...) in UTF-16
        // but before it in UTF-8 / code point order.
        let keys = vec![
            "\u{e000}".to_owned(),
            "\u{1f600}".to_owned(),
            "a".to_owned(),
        ];
        let ordered = canonical_key_order(keys);
        assert_eq!(ordered, vec!["a", "\u{1f600}", "\u{e000}"]);
        let whole = to_canonical(&json!({"\u{e000}": 1, "\u{1f600}": 2, "a": 3})).unwrap();
        assert_eq!(whole, "{\"a\":3,\"\u{1f600}\":2,\"\u{e000}\":1}");
    }

    #[test]
    fn hashing_writer_hashes_what_it_forwards() {
        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"{\"a\":1}").unwrap();
        let (hash, bytes, inner) = writer.finish();
        assert_eq!(bytes, 7);
        assert_eq!(inner, b"{\"a\":1}");
        assert_eq!(hash, sha256_hex(b"{\"a\":1}"));
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let at = DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(&at), "2026-11-20T10:00:00.123456Z");
    }
}
