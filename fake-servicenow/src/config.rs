//! What a fake instance starts with: the tables it serves, who may log in,
//! and the behaviours (ACL, rate limit, latency) a test wants from the first
//! request on. Everything here can also be read from JSON, so the binary and
//! the control endpoints share one vocabulary with the library.

use serde::{Deserialize, Serialize};

use crate::acl::AclRule;
use crate::rate_limit::RateLimit;

/// Start-up configuration of one fake instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Tables served through the Table API (the `sys_*` columns are added).
    pub tables: Vec<TableSchema>,
    /// Users that may log in with HTTP Basic.
    pub users: Vec<BasicUser>,
    /// OAuth clients that may obtain tokens from `/oauth_token.do`.
    pub oauth_clients: Vec<OAuthClient>,
    /// Behaviours in force from the first request (changeable at run time).
    pub behaviour: Behaviour,
    /// Lifetime of an access token in seconds (ServiceNow's default: 1800).
    pub token_lifetime_secs: u64,
    /// Largest `sysparm_limit` honoured; larger values are clamped.
    pub max_page_size: usize,
    /// Base URL written into `link`, `Link`, `Location` and `download_link`
    /// (default: `http://<bound address>`).
    pub public_url: Option<String>,
    /// How many request log entries are kept (the oldest are dropped).
    pub request_log_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tables: Vec::new(),
            users: Vec::new(),
            oauth_clients: Vec::new(),
            behaviour: Behaviour::default(),
            token_lifetime_secs: 1800,
            max_page_size: 10_000,
            public_url: None,
            request_log_capacity: 100_000,
        }
    }
}

/// The run-time adjustable behaviours.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Behaviour {
    /// Delay added to every ServiceNow API request, in milliseconds.
    pub latency_ms: u64,
    /// Access rules; a request matching a rule answers 403.
    pub acl: Vec<AclRule>,
    /// Per-user request budget; `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
}

/// A user for HTTP Basic authentication.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BasicUser {
    pub user: String,
    pub password: String,
}

/// An OAuth client (ServiceNow "OAuth application registry" entry). Tokens
/// obtained with client credentials act as `user` (the OAuth application user).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub user: String,
}

/// One table: its columns, and optionally the table it extends (its parent's
/// columns are inherited, as `incident` inherits from `task`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableSchema {
    pub name: String,
    #[serde(default)]
    pub extends: Option<String>,
    #[serde(default)]
    pub columns: Vec<Column>,
}

/// One column as `sys_dictionary` describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Column {
    pub name: String,
    /// ServiceNow internal type (`string`, `integer`, `boolean`,
    /// `glide_date_time`, `reference`, ...). Unknown types behave as strings.
    #[serde(default = "string_type")]
    pub internal_type: String,
    /// Referenced table, for `reference` columns.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub max_length: Option<u32>,
}

fn string_type() -> String {
    "string".to_owned()
}

impl Column {
    /// A column of the given internal type.
    pub fn new(name: &str, internal_type: &str) -> Self {
        Self {
            name: name.to_owned(),
            internal_type: internal_type.to_owned(),
            reference: None,
            max_length: None,
        }
    }

    /// A `reference` column pointing at `table`.
    pub fn reference(name: &str, table: &str) -> Self {
        Self {
            reference: Some(table.to_owned()),
            ..Self::new(name, "reference")
        }
    }
}

impl TableSchema {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            extends: None,
            columns: Vec::new(),
        }
    }

    pub fn extends(mut self, parent: &str) -> Self {
        self.extends = Some(parent.to_owned());
        self
    }

    pub fn column(mut self, name: &str, internal_type: &str) -> Self {
        self.columns.push(Column::new(name, internal_type));
        self
    }

    pub fn string(self, name: &str) -> Self {
        self.column(name, "string")
    }

    pub fn reference(mut self, name: &str, table: &str) -> Self {
        self.columns.push(Column::reference(name, table));
        self
    }
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn table(mut self, table: TableSchema) -> Self {
        self.tables.push(table);
        self
    }

    pub fn basic_user(mut self, user: &str, password: &str) -> Self {
        self.users.push(BasicUser {
            user: user.to_owned(),
            password: password.to_owned(),
        });
        self
    }

    pub fn oauth_client(mut self, client_id: &str, client_secret: &str, user: &str) -> Self {
        self.oauth_clients.push(OAuthClient {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            user: user.to_owned(),
        });
        self
    }

    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.behaviour.latency_ms = ms;
        self
    }

    /// `sys_user`, `task` and `incident` (extends `task`) with a few of
    /// their real columns: enough for demos and tests that want an
    /// instance-like shape without declaring tables.
    pub fn demo_tables(self) -> Self {
        self.table(
            TableSchema::new("sys_user")
                .string("user_name")
                .string("name")
                .string("email")
                .column("active", "boolean"),
        )
        .table(
            TableSchema::new("task")
                .string("number")
                .string("short_description")
                .string("description")
                .column("state", "integer")
                .column("priority", "integer")
                .column("active", "boolean")
                .reference("assigned_to", "sys_user")
                .column("due_date", "glide_date_time"),
        )
        .table(
            TableSchema::new("incident")
                .extends("task")
                .reference("caller_id", "sys_user")
                .string("category"),
        )
    }
}
