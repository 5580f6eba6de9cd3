//! The tables the fake serves, resolved once at start: each table's full
//! column list (the global `sys_*` columns, inherited columns, its own),
//! with the table that defines each column (what `sys_dictionary` reports).
//! Three tables are derived rather than stored and are read-only through
//! the Table API: `sys_dictionary`, `sys_db_object` and `sys_attachment`.

use std::collections::BTreeMap;

use anyhow::{bail, Context};

use crate::config::{Column, TableSchema};

/// Global columns ServiceNow puts on every table, maintained by the server.
pub const SYS_COLUMNS: [(&str, &str); 7] = [
    ("sys_id", "GUID"),
    ("sys_created_on", "glide_date_time"),
    ("sys_created_by", "string"),
    ("sys_updated_on", "glide_date_time"),
    ("sys_updated_by", "string"),
    ("sys_mod_count", "integer"),
    ("sys_class_name", "sys_class_name"),
];

/// Tables the fake derives from its own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derived {
    Dictionary,
    DbObject,
    Attachment,
}

#[derive(Debug, Clone)]
pub(crate) struct ResolvedColumn {
    pub column: Column,
    /// The table whose dictionary defines it (the root for `sys_*`).
    pub defined_on: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ResolvedTable {
    pub name: String,
    pub parent: Option<String>,
    pub columns: Vec<ResolvedColumn>,
    pub derived: Option<Derived>,
}

impl ResolvedTable {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .map(|c| &c.column)
            .find(|c| c.name == name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Schema {
    tables: BTreeMap<String, ResolvedTable>,
}

impl Schema {
    /// Validates the configured tables and resolves their columns.
    pub fn resolve(configured: &[TableSchema]) -> anyhow::Result<Self> {
        let by_name = index(configured)?;
        let mut tables = BTreeMap::new();
        for table in configured {
            let chain = ancestry(&by_name, table)?;
            tables.insert(table.name.clone(), resolve_one(&chain)?);
        }
        for derived in derived_tables() {
            tables.insert(derived.name.clone(), derived);
        }
        Ok(Self { tables })
    }

    pub fn table(&self, name: &str) -> Option<&ResolvedTable> {
        self.tables.get(name)
    }

    /// The configured (stored) tables.
    pub fn stored(&self) -> impl Iterator<Item = &ResolvedTable> {
        self.tables.values().filter(|t| t.derived.is_none())
    }
}

fn index(configured: &[TableSchema]) -> anyhow::Result<BTreeMap<&str, &TableSchema>> {
    let mut by_name = BTreeMap::new();
    for table in configured {
        check_name(&table.name).context("table name")?;
        if matches!(
            table.name.as_str(),
            "sys_dictionary" | "sys_db_object" | "sys_attachment"
        ) {
            bail!(
                "table {} is derived by the fake and cannot be configured",
                table.name
            );
        }
        if by_name.insert(table.name.as_str(), table).is_some() {
            bail!("table {} is configured twice", table.name);
        }
    }
    Ok(by_name)
}

/// Names must be lowercase identifiers: the encoded-query parser finds the
/// end of a field name by the first character outside `[a-z0-9_]`.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        bail!("{name:?} is not a lowercase identifier ([a-z0-9_]+)");
    }
    Ok(())
}

/// The table and its ancestors, root first.
fn ancestry<'a>(
    by_name: &BTreeMap<&str, &'a TableSchema>,
    table: &'a TableSchema,
) -> anyhow::Result<Vec<&'a TableSchema>> {
    let mut chain = vec![table];
    let mut current = table;
    while let Some(parent) = &current.extends {
        let Some(next) = by_name.get(parent.as_str()) else {
            bail!(
                "table {} extends {parent}, which is not configured",
                current.name
            );
        };
        if chain.iter().any(|t| t.name == next.name) {
            bail!("table {} is part of an inheritance cycle", table.name);
        }
        chain.push(next);
        current = next;
    }
    chain.reverse();
    Ok(chain)
}

fn resolve_one(chain: &[&TableSchema]) -> anyhow::Result<ResolvedTable> {
    let (Some(root), Some(table)) = (chain.first(), chain.last()) else {
        bail!("empty inheritance chain");
    };
    let mut columns = sys_columns(&root.name);
    for ancestor in chain {
        for column in &ancestor.columns {
            check_name(&column.name).with_context(|| format!("column of {}", ancestor.name))?;
            if column.name.starts_with("sys_") {
                bail!(
                    "column {}.{}: sys_* columns are the server's",
                    ancestor.name,
                    column.name
                );
            }
            if columns.iter().any(|c| c.column.name == column.name) {
                bail!("column {} is defined twice on {}", column.name, table.name);
            }
            columns.push(ResolvedColumn {
                column: column.clone(),
                defined_on: ancestor.name.clone(),
            });
        }
    }
    Ok(ResolvedTable {
        name: table.name.clone(),
        parent: table.extends.clone(),
        columns,
        derived: None,
    })
}

fn sys_columns(root: &str) -> Vec<ResolvedColumn> {
    SYS_COLUMNS
        .iter()
        .map(|(name, kind)| ResolvedColumn {
            column: Column::new(name, kind),
            defined_on: root.to_owned(),
        })
        .collect()
}

fn derived_tables() -> Vec<ResolvedTable> {
    let s = |name: &str| Column::new(name, "string");
    let t = |name: &str, kind: &str| Column::new(name, kind);
    let dictionary = vec![
        t("name", "table_name"),
        s("element"),
        s("column_label"),
        Column::reference("internal_type", "sys_glide_object"),
        Column::reference("reference", "sys_db_object"),
        t("max_length", "integer"),
        t("mandatory", "boolean"),
        t("read_only", "boolean"),
        t("active", "boolean"),
    ];
    let db_object = vec![
        t("name", "table_name"),
        s("label"),
        Column::reference("super_class", "sys_db_object"),
        t("is_extendable", "boolean"),
    ];
    let mut attachment = vec![s("file_name"), s("content_type")];
    attachment.extend([t("size_bytes", "integer"), t("size_compressed", "integer")]);
    attachment.extend([t("compressed", "boolean"), t("table_name", "table_name")]);
    attachment.extend(["table_sys_id", "hash", "state", "chunk_size_bytes"].map(s));
    attachment.extend(["image_height", "image_width", "average_image_color"].map(s));
    [
        ("sys_dictionary", Derived::Dictionary, dictionary),
        ("sys_db_object", Derived::DbObject, db_object),
        ("sys_attachment", Derived::Attachment, attachment),
    ]
    .into_iter()
    .map(|(name, derived, own)| derived_table(name, derived, own))
    .collect()
}

fn derived_table(name: &str, derived: Derived, own: Vec<Column>) -> ResolvedTable {
    let mut columns = sys_columns(name);
    columns.extend(own.into_iter().map(|column| ResolvedColumn {
        column,
        defined_on: name.to_owned(),
    }));
    ResolvedTable {
        name: name.to_owned(),
        parent: None,
        columns,
        derived: Some(derived),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn inherited_columns_name_the_parent() {
        let schema = Schema::resolve(&Config::new().demo_tables().tables).unwrap();
        let incident = schema.table("incident").unwrap();
        let defined_on = |name: &str| {
            let column = incident.columns.iter().find(|c| c.column.name == name);
            column.map(|c| c.defined_on.clone())
        };
        assert_eq!(defined_on("short_description").as_deref(), Some("task"));
        assert_eq!(defined_on("caller_id").as_deref(), Some("incident"));
        assert_eq!(defined_on("sys_id").as_deref(), Some("task"));
        assert!(schema.table("sys_dictionary").is_some());
    }

    #[test]
    fn rejects_bad_configurations() {
        let cycle = [
            TableSchema::new("a").extends("b"),
            TableSchema::new("b").extends("a"),
        ];
        assert!(Schema::resolve(&cycle).is_err());
        assert!(Schema::resolve(&[TableSchema::new("a").string("sys_x")]).is_err());
        assert!(Schema::resolve(&[TableSchema::new("Bad")]).is_err());
        assert!(Schema::resolve(&[TableSchema::new("a").extends("missing")]).is_err());
        assert!(Schema::resolve(&[TableSchema::new("sys_dictionary")]).is_err());
    }
}
