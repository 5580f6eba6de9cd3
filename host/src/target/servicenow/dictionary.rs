//! A table's schema: declared in the configuration, or read from the
//! instance's dictionary.
//!
//! From the dictionary: the table and its ancestors through
//! `sys_db_object` (`name`, `super_class` = the parent's `sys_db_object`
//! `sys_id`; `incident` extends `task`, whose columns it has) [assumed:
//! community practice, not in the REST docs], then every column those tables
//! define: `sys_dictionary` with `name IN (chain)^elementISNOTEMPTY` (the row
//! with an empty `element` describes the table itself [assumed]). A column
//! defined on several tables of the chain keeps the definition nearest the
//! table. `sys_*` columns are left out (the instance maintains them). If
//! `sys_db_object` cannot be read (403), only the table's own dictionary
//! rows are used; a table with no `sys_db_object` row (or, then, no
//! dictionary row) does not exist.
//!
//! `internal_type` maps onto the domain's types: integers, booleans and
//! dates/times as such, `reference` with its `reference` table, `json` as
//! json; everything else (choice, decimal, html, glide_list, ... and types
//! not known here) is a string, as the Table API returns them all as text.
//! A dictionary table is always writable as far as the schema says: ACLs
//! are per row and show as refused rows.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::answer::Record;
use super::http::Instance;
use super::paging::{self, Listing};
use super::table::valid_table;
use crate::domain::canonical::canonical_sha256;
use crate::target::settings::DeclaredTable;
use crate::target::{TableSchema, TargetColumn, TargetError};

/// Parents followed at most (a guard against a cycle in `super_class`).
const MAX_DEPTH: usize = 16;

/// The schema of a declared table (`sys_*` columns left out, as from the
/// dictionary).
pub(super) fn declared(table: &DeclaredTable) -> Result<TableSchema, TargetError> {
    let columns = table
        .columns
        .iter()
        .filter(|c| !c.name.starts_with("sys_"))
        .map(|c| TargetColumn {
            name: c.name.clone(),
            column_type: c.column_type.clone(),
            reference_table: c.reference_table.clone(),
        })
        .collect();
    schema(columns, table.write_allowed)
}

/// The schema read from the instance's dictionary; `None`: no such table.
pub(super) async fn describe(
    instance: &Instance,
    table: &str,
) -> Result<Option<TableSchema>, TargetError> {
    if !valid_table(table) {
        return Ok(None);
    }
    let chain = match ancestry(instance, table).await {
        Ok(Some(chain)) => chain,
        Ok(None) => return Ok(None),
        Err(TargetError::NoTable(_)) => vec![table.to_owned()],
        Err(other) => return Err(other),
    };
    let rows = dictionary_rows(instance, table, &chain).await?;
    if rows.is_empty() && chain.len() == 1 {
        return Ok(None);
    }
    let mut nearest: BTreeMap<String, (usize, TargetColumn)> = BTreeMap::new();
    for row in rows {
        let text = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or("");
        let (element, defined_on) = (text("element"), text("name"));
        if element.is_empty() || element.starts_with("sys_") {
            continue;
        }
        let depth = chain
            .iter()
            .position(|t| t == defined_on)
            .unwrap_or(usize::MAX);
        let column_type = column_type(text("internal_type"));
        let reference = text("reference");
        let column = TargetColumn {
            name: element.to_owned(),
            column_type: column_type.to_owned(),
            reference_table: (column_type == "reference" && !reference.is_empty())
                .then(|| reference.to_owned()),
        };
        match nearest.get(element) {
            Some((seen, _)) if *seen <= depth => {}
            _ => {
                nearest.insert(element.to_owned(), (depth, column));
            }
        }
    }
    let columns = nearest.into_values().map(|(_, c)| c).collect();
    schema(columns, true).map(Some)
}

/// The domain's type for a ServiceNow `internal_type`.
fn column_type(internal_type: &str) -> &'static str {
    match internal_type {
        "integer" | "longint" => "integer",
        "boolean" => "boolean",
        "glide_date_time" | "glide_date" | "glide_time" | "due_date" | "calendar_date_time" => {
            "datetime"
        }
        "reference" => "reference",
        "json" => "json",
        _ => "string",
    }
}

/// `table`, its parent, ... up to the root; `None` when the instance has no
/// such table; `Err(NoTable)` when `sys_db_object` cannot be read.
async fn ancestry(instance: &Instance, table: &str) -> Result<Option<Vec<String>>, TargetError> {
    let mut chain: Vec<String> = Vec::new();
    let mut query = format!("name={table}");
    while chain.len() < MAX_DEPTH {
        let path = ["api", "now", "table", "sys_db_object"];
        let listing = Listing {
            path: &path,
            table: "sys_db_object",
        };
        let params = [
            ("sysparm_query", query.clone()),
            ("sysparm_fields", "name,super_class".to_owned()),
            ("sysparm_exclude_reference_link", "true".to_owned()),
        ];
        let page = paging::page(instance, listing, &params, 0).await?;
        let Some(row) = page.records.into_iter().next() else {
            break;
        };
        let text = |name: &str| {
            row.get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (name, parent) = (text("name"), text("super_class"));
        if name.is_empty() || chain.contains(&name) {
            break;
        }
        chain.push(name);
        if parent.is_empty() || !valid_table(&parent) {
            break;
        }
        query = format!("sys_id={parent}");
    }
    Ok((!chain.is_empty()).then_some(chain))
}

/// Every `sys_dictionary` row of the tables of `chain`.
async fn dictionary_rows(
    instance: &Instance,
    table: &str,
    chain: &[String],
) -> Result<Vec<Record>, TargetError> {
    let path = ["api", "now", "table", "sys_dictionary"];
    let listing = Listing {
        path: &path,
        table: "sys_dictionary",
    };
    let names = match chain {
        [only] => format!("name={only}"),
        _ => format!("nameIN{}", chain.join(",")),
    };
    let params = [
        (
            "sysparm_query",
            format!("{names}^elementISNOTEMPTY^ORDERBYsys_id"),
        ),
        (
            "sysparm_fields",
            "name,element,internal_type,reference".to_owned(),
        ),
        ("sysparm_exclude_reference_link", "true".to_owned()),
    ];
    let mut rows = Vec::new();
    let mut offset = Some(0);
    while let Some(at) = offset {
        let page = paging::page(instance, listing, &params, at)
            .await
            .map_err(|e| match e {
                TargetError::NoTable(why) => {
                    TargetError::NoTable(format!("{table}: the dictionary is not readable: {why}"))
                }
                other => other,
            })?;
        rows.extend(page.records);
        offset = page.next;
    }
    Ok(rows)
}

/// One column as the schema hash sees it: `{name, type, reference_table?}`
/// (the embedded target's shape, so equal schemas hash equal).
#[derive(Serialize)]
struct HashedColumn<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    column_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_table: Option<&'a str>,
}

/// A schema with its hash: sha256 of the canonical (RFC 8785) name-sorted
/// column list; `reference_table` only on `reference` columns.
fn schema(mut columns: Vec<TargetColumn>, write_allowed: bool) -> Result<TableSchema, TargetError> {
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    for column in &mut columns {
        if column.column_type != "reference" {
            column.reference_table = None;
        }
    }
    let hashed: Vec<HashedColumn<'_>> = columns
        .iter()
        .map(|c| HashedColumn {
            name: &c.name,
            column_type: &c.column_type,
            reference_table: c.reference_table.as_deref(),
        })
        .collect();
    let schema_sha256 = canonical_sha256(&hashed)
        .map_err(|e| TargetError::Protocol(format!("cannot hash the schema: {e}")))?;
    Ok(TableSchema {
        columns,
        write_allowed,
        schema_sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::settings::DeclaredColumn;

    #[test]
    fn a_declared_schema_hashes_like_the_embedded_one() {
        let column = |name: &str, t: &str, r: Option<&str>| DeclaredColumn {
            name: name.into(),
            column_type: t.into(),
            reference_table: r.map(str::to_owned),
        };
        let table = DeclaredTable {
            columns: vec![
                column("short_description", "string", Some("ignored")),
                column("caller_id", "reference", Some("sys_user")),
                column("sys_updated_on", "datetime", None),
            ],
            write_allowed: false,
        };
        let schema = declared(&table).unwrap();
        let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["caller_id", "short_description"]);
        assert!(!schema.write_allowed);
        let expected = canonical_sha256(&serde_json::json!([
            {"name": "caller_id", "type": "reference", "reference_table": "sys_user"},
            {"name": "short_description", "type": "string"},
        ]))
        .unwrap();
        assert_eq!(schema.schema_sha256, expected);
    }

    #[test]
    fn internal_types_map_onto_the_domain_types() {
        assert_eq!(column_type("glide_date_time"), "datetime");
        assert_eq!(column_type("longint"), "integer");
        assert_eq!(column_type("choice"), "string");
        assert_eq!(column_type("something_new"), "string");
    }
}
