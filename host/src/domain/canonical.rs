//! Canonical JSON (RFC 8785) and the hashes built on it: payload hashes,
//! plan hashes and evidence artifact hashes all mean "the sha256 of the
//! canonical form", so they agree whatever key order or number spelling a
//! client used.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::DomainError;

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The RFC 8785 canonical form of a value.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<String, DomainError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))
}

/// sha256 of the canonical form.
pub fn canonical_sha256<T: Serialize>(value: &T) -> Result<String, DomainError> {
    Ok(sha256_hex(canonical_json(value)?.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_number_spelling_do_not_change_the_hash() {
        let a = canonical_sha256(&json!({"b": 1, "a": [1.0, "x"]})).unwrap();
        let b = canonical_sha256(
            &serde_json::from_str::<serde_json::Value>(r#"{"a":[1,"x"],"b":1.0}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(
            a,
            canonical_sha256(&json!({"b": 2, "a": [1, "x"]})).unwrap()
        );
        assert_eq!(
            canonical_json(&json!({"b": 1, "a": 2})).unwrap(),
            r#"{"a":2,"b":1}"#
        );
    }
}
