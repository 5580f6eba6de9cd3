//! Access rules standing in for ServiceNow ACLs: a connector must cope with
//! an integration user that may read but not write a table, or that is
//! denied a handful of records. Rules deny; everything else is allowed.

use serde::{Deserialize, Serialize};

/// Denies reads and/or writes of a table, or of some of its records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AclRule {
    pub table: String,
    /// Records the rule applies to; empty = the whole table.
    #[serde(default)]
    pub sys_ids: Vec<String>,
    #[serde(default)]
    pub deny_read: bool,
    #[serde(default)]
    pub deny_write: bool,
}

/// What a request wants to do, for matching rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl AclRule {
    /// A rule denying `access` to the whole table.
    pub fn table(table: &str, deny_read: bool, deny_write: bool) -> Self {
        Self {
            table: table.to_owned(),
            sys_ids: Vec::new(),
            deny_read,
            deny_write,
        }
    }

    /// A rule denying access to some records of a table.
    pub fn records(table: &str, sys_ids: &[&str], deny_read: bool, deny_write: bool) -> Self {
        Self {
            sys_ids: sys_ids.iter().map(|id| (*id).to_owned()).collect(),
            ..Self::table(table, deny_read, deny_write)
        }
    }

    fn denies(&self, access: Access) -> bool {
        match access {
            Access::Read => self.deny_read,
            Access::Write => self.deny_write,
        }
    }
}

/// True when a whole-table rule denies `access` to `table`.
pub(crate) fn table_denied(rules: &[AclRule], table: &str, access: Access) -> bool {
    rules
        .iter()
        .any(|r| r.table == table && r.sys_ids.is_empty() && r.denies(access))
}

/// True when any rule (whole-table or naming `sys_id`) denies `access`.
pub(crate) fn record_denied(rules: &[AclRule], table: &str, sys_id: &str, access: Access) -> bool {
    rules.iter().any(|r| {
        r.table == table
            && r.denies(access)
            && (r.sys_ids.is_empty() || r.sys_ids.iter().any(|id| id == sys_id))
    })
}
