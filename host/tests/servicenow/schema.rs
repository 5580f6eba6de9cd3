//! Schemas from the dictionary (with inheritance) and from the configuration.

use rrs::domain::canonical::canonical_sha256;
use rrs::target::settings::{DeclaredColumn, DeclaredTable};
use rrs::target::Target;
use serde_json::json;

use crate::support::{fake, schema, table_requests, target};

#[tokio::test]
async fn a_schema_is_read_from_the_dictionary_with_inherited_columns() {
    let fake = fake().await;
    let target = target(&fake, |_| {});
    let incident = schema(&target, "incident").await;
    let columns: Vec<(&str, &str, Option<&str>)> = incident
        .columns
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.column_type.as_str(),
                c.reference_table.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("active", "boolean", None),
            ("assigned_to", "reference", Some("sys_user")),
            ("caller_id", "reference", Some("sys_user")),
            ("category", "string", None),
            ("number", "string", None),
            ("priority", "integer", None),
            ("short_description", "string", None),
        ]
    );
    assert!(incident.write_allowed);
    let expected = canonical_sha256(&json!([
        {"name": "active", "type": "boolean"},
        {"name": "assigned_to", "type": "reference", "reference_table": "sys_user"},
        {"name": "caller_id", "type": "reference", "reference_table": "sys_user"},
        {"name": "category", "type": "string"},
        {"name": "number", "type": "string"},
        {"name": "priority", "type": "integer"},
        {"name": "short_description", "type": "string"},
    ]))
    .unwrap();
    assert_eq!(incident.schema_sha256, expected);
    let dictionary = table_requests(&fake, "sys_dictionary");
    let query = dictionary[0].query.clone().unwrap_or_default();
    assert!(query.contains("nameINincident%2Ctask"), "{query}");
    assert!(target
        .describe_table("no_such_table")
        .await
        .unwrap()
        .is_none());
    assert!(target.describe_table("bad name^x").await.unwrap().is_none());
}

#[tokio::test]
async fn a_declared_table_is_not_looked_up() {
    let fake = fake().await;
    let declared = DeclaredTable {
        columns: vec![
            DeclaredColumn {
                name: "short_description".into(),
                column_type: "string".into(),
                reference_table: None,
            },
            DeclaredColumn {
                name: "sys_id".into(),
                column_type: "string".into(),
                reference_table: None,
            },
        ],
        write_allowed: false,
    };
    let target = target(&fake, |s| {
        s.tables.insert("incident".into(), declared);
    });
    let incident = schema(&target, "incident").await;
    assert_eq!(incident.columns.len(), 1, "sys_* columns are left out");
    assert!(!incident.write_allowed);
    assert!(fake.handle.requests().is_empty());
}
