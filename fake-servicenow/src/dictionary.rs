//! Rows of the derived tables, built from the configured schemas and the
//! stored attachments, so a client discovers columns the way it would on a
//! real instance: `sys_dictionary` (one row per column, under the table that
//! defines it, plus one row with an empty `element` for the table itself)
//! and `sys_db_object` (one row per table; `super_class` holds the parent's
//! `sys_db_object` sys_id). Their `sys_id`s are derived from their names, so
//! they are stable across restarts.

use crate::schema::{Derived, ResolvedColumn, ResolvedTable, Schema};
use crate::state::State;
use crate::values::{derived_sys_id, Fields};

/// All rows of a derived table.
pub(crate) fn derived_rows(
    schema: &Schema,
    state: &State,
    derived: Derived,
    started_on: &str,
) -> Vec<Fields> {
    match derived {
        Derived::Dictionary => schema
            .stored()
            .flat_map(|t| dictionary_rows(t, started_on))
            .collect(),
        Derived::DbObject => schema
            .stored()
            .map(|t| db_object_row(t, started_on))
            .collect(),
        Derived::Attachment => state
            .attachment_rows()
            .into_iter()
            .map(|a| a.meta.clone())
            .collect(),
    }
}

/// `sys_id` of a table's `sys_db_object` row.
fn db_object_id(table: &str) -> String {
    derived_sys_id(&format!("sys_db_object:{table}"))
}

fn dictionary_rows(table: &ResolvedTable, started_on: &str) -> Vec<Fields> {
    let own = table.columns.iter().filter(|c| c.defined_on == table.name);
    let mut rows = vec![dictionary_row(
        &table.name,
        "",
        "collection",
        "",
        "40",
        started_on,
    )];
    rows.extend(own.map(|c| column_row(&table.name, c, started_on)));
    rows
}

fn column_row(table: &str, c: &ResolvedColumn, started_on: &str) -> Fields {
    let column = &c.column;
    let default_length = match column.internal_type.as_str() {
        "GUID" | "reference" => 32,
        _ => 40,
    };
    let max_length = column.max_length.unwrap_or(default_length).to_string();
    let reference = column.reference.as_deref().unwrap_or("");
    dictionary_row(
        table,
        &column.name,
        &column.internal_type,
        reference,
        &max_length,
        started_on,
    )
}

fn dictionary_row(
    table: &str,
    element: &str,
    internal_type: &str,
    reference: &str,
    max_length: &str,
    started_on: &str,
) -> Fields {
    let id = derived_sys_id(&format!("sys_dictionary:{table}.{element}"));
    let mut row = sys_fields("sys_dictionary", &id, started_on);
    let label = label(if element.is_empty() { table } else { element });
    for (name, value) in [
        ("name", table),
        ("element", element),
        ("column_label", label.as_str()),
        ("internal_type", internal_type),
        ("reference", reference),
        ("max_length", max_length),
        ("mandatory", "false"),
        ("read_only", "false"),
        ("active", "true"),
    ] {
        row.insert(name.to_owned(), value.to_owned());
    }
    row
}

fn db_object_row(table: &ResolvedTable, started_on: &str) -> Fields {
    let mut row = sys_fields("sys_db_object", &db_object_id(&table.name), started_on);
    let super_class = table
        .parent
        .as_deref()
        .map(db_object_id)
        .unwrap_or_default();
    for (name, value) in [
        ("name", table.name.clone()),
        ("label", label(&table.name)),
        ("super_class", super_class),
        ("is_extendable", "true".to_owned()),
    ] {
        row.insert(name.to_owned(), value);
    }
    row
}

fn sys_fields(class: &str, sys_id: &str, started_on: &str) -> Fields {
    [
        ("sys_id", sys_id),
        ("sys_created_on", started_on),
        ("sys_created_by", "system"),
        ("sys_updated_on", started_on),
        ("sys_updated_by", "system"),
        ("sys_mod_count", "0"),
        ("sys_class_name", class),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `short_description` -> `Short description`.
fn label(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn dictionary_lists_own_columns_under_their_table() {
        let config = Config::new().demo_tables();
        let schema = Schema::resolve(&config.tables).unwrap();
        let state = State::new(&config, &schema);
        let rows = derived_rows(&schema, &state, Derived::Dictionary, "2024-01-01 00:00:00");
        let incident: Vec<&str> = rows
            .iter()
            .filter(|r| r["name"] == "incident")
            .map(|r| r["element"].as_str())
            .collect();
        assert_eq!(incident, ["", "caller_id", "category"]);
        let caller = rows.iter().find(|r| r["element"] == "caller_id").unwrap();
        assert_eq!(caller["reference"], "sys_user");
        assert_eq!(caller["internal_type"], "reference");
        assert!(rows
            .iter()
            .any(|r| r["name"] == "task" && r["element"] == "sys_id"));
        let objects = derived_rows(&schema, &state, Derived::DbObject, "");
        let incident = objects.iter().find(|r| r["name"] == "incident").unwrap();
        let task = objects.iter().find(|r| r["name"] == "task").unwrap();
        assert_eq!(incident["super_class"], task["sys_id"]);
    }
}
