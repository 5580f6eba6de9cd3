//! How values look on a ServiceNow instance: every field is a string
//! (`"0"`, `"false"`, `""` for empty), dates are `YYYY-MM-DD HH:MM:SS` in
//! UTC at second precision, and `sys_id`s are 32 lowercase hex digits. The
//! fake stores records as `field -> string` maps so that what a client reads
//! back is exactly what the real Table API would return.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A stored record: every column of its table, as strings.
pub type Fields = BTreeMap<String, String>;

/// Now, as ServiceNow writes `glide_date_time` values.
pub fn now_glide() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A fresh `sys_id`: 32 lowercase hex digits.
pub fn new_sys_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// True for a well-formed `sys_id` (32 lowercase hex digits).
pub fn is_sys_id(value: &str) -> bool {
    value.len() == 32
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A deterministic `sys_id` for rows the fake derives (dictionary entries).
pub fn derived_sys_id(key: &str) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    digest[..32].to_owned()
}

/// The string a JSON value is stored as: `null` -> `""`, numbers and
/// booleans -> their text, a reference object `{"value": ..}` -> its value,
/// an array -> its items' strings joined by `,` (a `glide_list`), any other
/// object -> its JSON text.
pub fn to_field_string(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(to_field_string)
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(map) => match map.get("value") {
            Some(Value::String(s)) => s.clone(),
            _ => value.to_string(),
        },
    }
}

/// sha256 (lowercase hex) of the canonical JSON of a record's content: the
/// fields whose names do not start with `sys_`, as a JSON object of strings
/// with keys in byte order and no whitespace, e.g.
/// `{"caller_id":"","short_description":"Printer on fire"}`. Every column of
/// the table is present (empty ones as `""`), as the fake stores them.
pub fn content_sha256(fields: &Fields) -> String {
    let content: BTreeMap<&str, &str> = fields
        .iter()
        .filter(|(name, _)| !name.starts_with("sys_"))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    // A map of strings always serialises; the fallback is never taken.
    let json = serde_json::to_vec(&content).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// sha256 (lowercase hex) of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_become_strings() {
        assert_eq!(to_field_string(&json!(null)), "");
        assert_eq!(to_field_string(&json!(3)), "3");
        assert_eq!(to_field_string(&json!(false)), "false");
        assert_eq!(
            to_field_string(&json!({"link": "x", "value": "abc"})),
            "abc"
        );
        assert_eq!(to_field_string(&json!(["a", "b"])), "a,b");
    }

    #[test]
    fn content_hash_ignores_sys_fields_and_key_order() {
        let mut a = Fields::new();
        a.insert("b".into(), "2".into());
        a.insert("a".into(), "1".into());
        a.insert("sys_mod_count".into(), "4".into());
        let expected = sha256_hex(br#"{"a":"1","b":"2"}"#);
        assert_eq!(content_sha256(&a), expected);
    }

    #[test]
    fn sys_ids_are_32_lowercase_hex() {
        assert!(is_sys_id(&new_sys_id()));
        assert!(!is_sys_id("ABCDEF0123456789abcdef0123456789"));
        assert!(!is_sys_id("abc"));
    }
}
