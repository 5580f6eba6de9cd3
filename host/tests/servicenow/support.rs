//! A fake instance with `sys_user`, `task` and `incident` (extends `task`),
//! and a connector pointed at it.

use rrs::target::servicenow::ServiceNowTarget;
use rrs::target::settings::{TargetAuth, TargetKind, TargetSettings};
use rrs::target::{RowChange, TableSchema, Target};
use rrs_fake_servicenow::{Config, FakeServiceNow, RequestLogEntry, Running, TableSchema as Table};
use serde_json::{json, Map, Value};

pub const USER: &str = "admin";
pub const PASSWORD: &str = "Pw-very-secret-7781";
pub const CLIENT_ID: &str = "rrs";
pub const CLIENT_SECRET: &str = "Cs-very-secret-9923";

pub fn config() -> Config {
    Config::new()
        .table(Table::new("sys_user").string("user_name"))
        .table(
            Table::new("task")
                .string("number")
                .string("short_description")
                .column("priority", "integer")
                .column("active", "boolean")
                .reference("assigned_to", "sys_user"),
        )
        .table(
            Table::new("incident")
                .extends("task")
                .reference("caller_id", "sys_user")
                .string("category"),
        )
        .basic_user(USER, PASSWORD)
        .oauth_client(CLIENT_ID, CLIENT_SECRET, "svc_rrs")
}

pub async fn fake() -> Running {
    FakeServiceNow::start(config()).await.unwrap()
}

pub fn basic() -> TargetAuth {
    TargetAuth::Basic {
        user: USER.into(),
        password_env: Some("UNUSED_IN_TESTS".into()),
        password_file: None,
    }
}

pub fn oauth() -> TargetAuth {
    TargetAuth::OauthClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret_env: Some("UNUSED_IN_TESTS".into()),
        client_secret_file: None,
    }
}

pub fn settings(fake: &Running) -> TargetSettings {
    TargetSettings {
        tenant_id: "acme".into(),
        instance_id: "prod".into(),
        kind: TargetKind::Servicenow,
        url: Some(fake.base_url.clone()),
        auth: Some(basic()),
        tables: Default::default(),
        concurrency: 4,
        page_size: 50,
        timeout_ms: 5_000,
        retries: 3,
        max_backoff_ms: 20,
    }
}

/// A connector with basic auth and the settings above, as tweaked.
pub fn target(fake: &Running, tweak: impl FnOnce(&mut TargetSettings)) -> ServiceNowTarget {
    let mut settings = settings(fake);
    tweak(&mut settings);
    let secret = match settings.auth {
        Some(TargetAuth::OauthClientCredentials { .. }) => CLIENT_SECRET,
        _ => PASSWORD,
    };
    ServiceNowTarget::new(&settings, secret.into()).unwrap()
}

/// The `n`th test sys_id: 32 lowercase hex digits, not in `n`'s order.
pub fn sys_id(n: usize) -> String {
    let scrambled = (n as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    format!("{scrambled:032x}")
}

/// Seeds `count` incidents; their sys_ids in seeding order.
pub fn seed_incidents(fake: &Running, count: usize) -> Vec<String> {
    let rows: Vec<Map<String, Value>> = (0..count)
        .map(|n| {
            let row = json!({"sys_id": sys_id(n), "number": format!("INC{n:07}"),
                "short_description": format!("printer {n}"), "priority": (n % 5).to_string(),
                "active": "true", "category": "hardware"});
            row.as_object().unwrap().clone()
        })
        .collect();
    fake.handle.seed("incident", rows).unwrap();
    (0..count).map(sys_id).collect()
}

pub async fn schema(target: &ServiceNowTarget, table: &str) -> TableSchema {
    target.describe_table(table).await.unwrap().unwrap()
}

/// Log entries of the Table API for `table`.
pub fn table_requests(fake: &Running, table: &str) -> Vec<RequestLogEntry> {
    fake.handle
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with(&format!("/api/now/table/{table}")))
        .collect()
}

pub fn create(n: usize, payload: Value) -> RowChange {
    RowChange {
        plan_row_id: n as i64,
        sys_id: sys_id(n),
        kind: rrs::target::ChangeKind::Create,
        payload: Some(payload),
    }
}
