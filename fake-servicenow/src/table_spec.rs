//! The binary's compact table syntax, so a demo instance can be declared on
//! the command line: `incident:short_description,priority=integer,caller_id=ref:sys_user`
//! (a column without `=type` is a `string`; `ref:<table>` is a reference).

use anyhow::{bail, Context};

use crate::config::{Column, TableSchema};

/// Parses `name[:column[=type|=ref:table],...]`.
pub fn parse_table(spec: &str) -> anyhow::Result<TableSchema> {
    let (name, columns) = spec.split_once(':').unwrap_or((spec, ""));
    if name.trim().is_empty() {
        bail!("table spec {spec:?} has no table name");
    }
    let mut table = TableSchema::new(name.trim());
    for item in columns.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let column = match item.split_once('=') {
            None => Column::new(item, "string"),
            Some((column, kind)) => match kind.strip_prefix("ref:") {
                Some(target) => Column::reference(column, target),
                None => Column::new(column, kind),
            },
        };
        table.columns.push(column);
    }
    Ok(table)
}

/// Parses `child=parent` (the child table extends the parent).
pub fn parse_extends(spec: &str) -> anyhow::Result<(String, String)> {
    let (child, parent) = spec
        .split_once('=')
        .with_context(|| format!("{spec:?} is not child=parent"))?;
    Ok((child.trim().to_owned(), parent.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_types_and_references() {
        let table =
            parse_table("incident:short_description,priority=integer,caller_id=ref:sys_user")
                .unwrap();
        assert_eq!(table.name, "incident");
        assert_eq!(table.columns[0], Column::new("short_description", "string"));
        assert_eq!(table.columns[1], Column::new("priority", "integer"));
        assert_eq!(table.columns[2], Column::reference("caller_id", "sys_user"));
        assert!(parse_table(":a").is_err());
        assert_eq!(
            parse_extends("incident=task").unwrap(),
            ("incident".into(), "task".into())
        );
    }
}
