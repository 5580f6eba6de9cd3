//! What a record's content is, for comparing a backup's version with the
//! record a remote instance holds: each column of the table (never a
//! `sys_*` field, which the instance maintains) as the text the instance
//! stores, `""` when absent. Two payloads that a restore would write
//! identically hash the same, whatever JSON types the backup used.

use serde_json::{Map, Value};

use super::TableSchema;
use crate::domain::canonical::value_sha256;

/// The text a remote instance stores for a value.
pub fn instance_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The payload as the instance would hold it: one text per column.
pub fn instance_content(schema: &TableSchema, payload: &Value) -> Map<String, Value> {
    schema
        .columns
        .iter()
        .filter(|c| !c.name.starts_with("sys_"))
        .map(|c| {
            let text = payload.get(&c.name).map(instance_text).unwrap_or_default();
            (c.name.clone(), Value::String(text))
        })
        .collect()
}

/// sha256 of the canonical JSON of [`instance_content`].
pub fn content_sha256(schema: &TableSchema, payload: &Value) -> String {
    let content = Value::Object(instance_content(schema, payload));
    value_sha256(&content).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::target::TargetColumn;

    fn schema() -> TableSchema {
        let column = |name: &str| TargetColumn {
            name: name.into(),
            column_type: "string".into(),
            reference_table: None,
        };
        TableSchema {
            columns: vec![
                column("short_description"),
                column("priority"),
                column("sys_id"),
            ],
            write_allowed: true,
            schema_sha256: String::new(),
        }
    }

    #[test]
    fn a_backup_and_the_instance_agree_whatever_the_json_types() {
        let backup = json!({"short_description": "printer", "priority": 2, "u_other": 1});
        let instance = json!({"short_description": "printer", "priority": "2",
            "sys_id": "a1", "sys_mod_count": "4"});
        assert_eq!(
            content_sha256(&schema(), &backup),
            content_sha256(&schema(), &instance)
        );
        let changed = json!({"short_description": "printer", "priority": "3"});
        assert_ne!(
            content_sha256(&schema(), &backup),
            content_sha256(&schema(), &changed)
        );
        let empty = json!({"short_description": "printer", "priority": null});
        assert_eq!(
            instance_content(&schema(), &empty)["priority"],
            json!(""),
            "null and absent are the instance's empty text"
        );
    }
}
