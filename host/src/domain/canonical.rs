//! Canonical JSON (RFC 8785) and the hashes built on it: payload hashes,
//! plan hashes and evidence artifact hashes all mean "the sha256 of the
//! canonical form", so they agree whatever key order or number spelling a
//! client used.
//!
//! Evidence artifacts are written as a stream, so an artifact of any size
//! is hashed without being held in memory: an object's members are emitted
//! in the canonical key order (UTF-16 code units) and a long list element
//! by element. The bytes are exactly those of canonicalising the whole
//! value at once (the tests check it), so an offline verifier that loads
//! the whole document computes the same hash.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::DomainError;

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The RFC 8785 canonical form of a value, through [`write_value`].
pub fn canonical_json<T: Serialize>(value: &T) -> Result<String, DomainError> {
    let mut out = Vec::new();
    write_value(&mut out, &to_value(value)?)?;
    String::from_utf8(out).map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))
}

/// sha256 of the canonical form, streamed into the hash: plan hashes and
/// checksums cover inputs of 100,000 decisions and candidates, which are
/// never held as one string.
pub fn canonical_sha256<T: Serialize>(value: &T) -> Result<String, DomainError> {
    value_sha256(&to_value(value)?)
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, DomainError> {
    serde_json::to_value(value).map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))
}

/// Writes one value in canonical form.
pub fn write_canonical<T: Serialize, W: Write>(out: &mut W, value: &T) -> Result<(), DomainError> {
    serde_json_canonicalizer::to_writer(value, out)
        .map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))
}

/// Largest integer every JSON reader holds exactly (2^53).
const EXACT_INTEGER: u64 = 1 << 53;

/// Writes a JSON value in canonical form, byte for byte what
/// `serde_json_canonicalizer` writes (the tests compare them on random
/// values), without its buffer per object member: this is the hot path of
/// hashing 100,000-row artifacts. Strings are escaped by serde_json exactly
/// as RFC 8785 asks; integers a double holds exactly are written as they
/// are; every other number goes through the crate (ECMAScript formatting).
pub fn write_value<W: Write>(out: &mut W, value: &Value) -> Result<(), DomainError> {
    write_spliced(out, value, &mut None)
}

/// Where [`write_spliced`] writes a long list in place of an empty array:
/// the object keys leading to it and the writer of its elements.
struct Splice<'a, W> {
    path: &'a [&'a str],
    write_items: &'a mut dyn FnMut(&mut W) -> Result<(), DomainError>,
}

/// [`write_value`], with the member at `splice.path` written by
/// `splice.write_items` instead of from `value`.
fn write_spliced<W: Write>(
    out: &mut W,
    value: &Value,
    splice: &mut Option<Splice<'_, W>>,
) -> Result<(), DomainError> {
    match value {
        Value::Null => write_raw(out, b"null"),
        Value::Bool(true) => write_raw(out, b"true"),
        Value::Bool(false) => write_raw(out, b"false"),
        Value::Number(number) => match (number.as_i64(), number.as_u64()) {
            (Some(i), _) if i.unsigned_abs() <= EXACT_INTEGER => write!(out, "{i}")
                .map_err(|e| DomainError::Internal(format!("writing canonical JSON: {e}"))),
            (_, Some(u)) if u <= EXACT_INTEGER => write!(out, "{u}")
                .map_err(|e| DomainError::Internal(format!("writing canonical JSON: {e}"))),
            _ => write_canonical(out, number),
        },
        Value::String(text) => serde_json::to_writer(&mut *out, text)
            .map_err(|e| DomainError::Internal(format!("canonical JSON: {e}"))),
        Value::Array(items) => {
            write_raw(out, b"[")?;
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    write_raw(out, b",")?;
                }
                write_value(out, item)?;
            }
            write_raw(out, b"]")
        }
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            // ASCII names already in byte order (serde_json's map keeps
            // them so) are in UTF-16 order too: sort only otherwise.
            let ordered = keys.is_sorted() && keys.iter().all(|k| k.is_ascii());
            if !ordered {
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            }
            write_raw(out, b"{")?;
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    write_raw(out, b",")?;
                }
                serde_json::to_writer(&mut *out, key)
                    .map_err(|e| DomainError::Internal(format!("canonical JSON: {e}")))?;
                write_raw(out, b":")?;
                let Some(member) = members.get(key) else {
                    continue;
                };
                match splice.take() {
                    Some(s) if s.path.first() == Some(&key.as_str()) && s.path.len() == 1 => {
                        write_raw(out, b"[")?;
                        (s.write_items)(out)?;
                        write_raw(out, b"]")?;
                    }
                    Some(s) if s.path.first() == Some(&key.as_str()) => {
                        let mut inner = Some(Splice {
                            path: &s.path[1..],
                            write_items: s.write_items,
                        });
                        write_spliced(out, member, &mut inner)?;
                    }
                    other => {
                        *splice = other;
                        write_spliced(out, member, &mut None)?;
                    }
                }
            }
            write_raw(out, b"}")
        }
    }
}

/// sha256 of the canonical form of `value` in which the member at `path`
/// (object keys from the top) is the array whose elements `write_items`
/// writes, in canonical form, comma-separated: byte for byte the hash of
/// the value with that array in place, without building it as a
/// `serde_json::Value` (100,000 delete decisions were a tree of 400,000
/// allocations, 0.1 s of an undo plan). `value` holds an empty array
/// there.
pub fn value_sha256_spliced(
    value: &Value,
    path: &[&str],
    write_items: &mut dyn FnMut(&mut dyn Write) -> Result<(), DomainError>,
) -> Result<String, DomainError> {
    let mut out = io::BufWriter::with_capacity(1 << 16, HashingWriter::new(io::sink()));
    let mut spliced = false;
    {
        let mut items = |w: &mut &mut io::BufWriter<HashingWriter<io::Sink>>| {
            spliced = true;
            write_items(&mut **w as &mut dyn Write)
        };
        let mut splice = Some(Splice {
            path,
            write_items: &mut items,
        });
        write_spliced(&mut &mut out, value, &mut splice)?;
    }
    if !spliced {
        // Hashing the value without the list would name another document.
        return Err(DomainError::Internal(format!(
            "canonical JSON: no member at {path:?} to write the list into"
        )));
    }
    let hashing = out
        .into_inner()
        .map_err(|e| DomainError::Internal(format!("hashing canonical JSON: {e}")))?;
    Ok(hashing.finish().0)
}

/// sha256 of a JSON value's canonical form, streamed.
///
/// Buffered: the canonical writer emits a value in pieces of a few bytes
/// (a comma, a quote), and feeding those to the hash one by one was a
/// third of hashing 100,000 delete decisions.
pub fn value_sha256(value: &Value) -> Result<String, DomainError> {
    let mut out = io::BufWriter::with_capacity(1 << 16, HashingWriter::new(io::sink()));
    write_value(&mut out, value)?;
    let hashing = out
        .into_inner()
        .map_err(|e| DomainError::Internal(format!("hashing canonical JSON: {e}")))?;
    Ok(hashing.finish().0)
}

/// Writes raw punctuation (`{`, `,`, ...).
pub fn write_raw<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> Result<(), DomainError> {
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

    /// A list written into the value at a path hashes as the value with
    /// the list in place; a path the value does not have is an error, not
    /// the hash of another document.
    #[test]
    fn a_spliced_list_hashes_as_the_list_in_place() {
        let whole = json!({"b": {"z": 1, "list": [{"k": "x\"y"}, {"k": "é"}]}, "a": [1]});
        let mut holder = whole.clone();
        holder["b"]["list"] = json!([]);
        let items = [json!({"k": "x\"y"}), json!({"k": "é"})];
        let mut write = |out: &mut dyn Write| {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write_raw(out, b",")?;
                }
                write_value(&mut &mut *out, item)?;
            }
            Ok(())
        };
        assert_eq!(
            value_sha256_spliced(&holder, &["b", "list"], &mut write).unwrap(),
            value_sha256(&whole).unwrap()
        );
        assert!(value_sha256_spliced(&holder, &["b", "missing"], &mut write).is_err());
        assert!(value_sha256_spliced(&holder, &["c", "list"], &mut write).is_err());
    }

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
        let whole = canonical_json(&json!({"\u{e000}": 1, "\u{1f600}": 2, "a": 3})).unwrap();
        assert_eq!(whole, "{\"a\":3,\"\u{1f600}\":2,\"\u{e000}\":1}");
    }

    fn fast(value: &Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_fast_writer_agrees_with_the_crate_on_edge_cases() {
        let cases = json!({
            "numbers": [0, -0.0, 1.0, 1.5, -2, 9007199254740992_u64, 9007199254740993_u64,
                        -9007199254740993_i64, 18446744073709551615_u64, 1e21, 1e-7, 123456789.125,
                        5e-324, 1.7976931348623157e308, 0.1, 100, 1e20],
            "strings": ["", "\u{0}\u{1f}\u{7f}", "quote \" back \\ slash /", "é\u{2028}\u{1f600}", "\u{e000}"],
            "keys": {"b": 1, "a": 2, "\u{e000}": 3, "\u{1f600}": 4, "aa": 5, "A": 6, "": 7, "\n": 8},
            "nested": [{"z": [], "y": {}}, null, true, false]
        });
        assert_eq!(fast(&cases), canonical_json(&cases).unwrap());
    }

    proptest::proptest! {
        #[test]
        fn the_fast_writer_agrees_with_the_crate(value in arbitrary_json()) {
            proptest::prop_assert_eq!(fast(&value), canonical_json(&value).unwrap());
            proptest::prop_assert_eq!(value_sha256(&value).unwrap(), canonical_sha256(&value).unwrap());
        }
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
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
