//! Building blocks for tests that need data: record histories in the
//! index, watermarks, target tables and rows, and plans — all through the
//! HTTP API, as the sidecar and an operator would.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{Reply, TestContext};

/// The tenant and instance fixtures use.
pub const TENANT: &str = "acme";
/// The instance fixtures use.
pub const INSTANCE: &str = "prod";

/// One version to ingest: `(sys_id, op, event_time, payload)`.
pub struct Version<'a> {
    pub table: &'a str,
    pub sys_id: &'a str,
    pub op: &'a str,
    pub at: &'a str,
    pub payload: Value,
}

impl<'a> Version<'a> {
    /// An upsert.
    pub fn upsert(table: &'a str, sys_id: &'a str, at: &'a str, payload: Value) -> Self {
        Self {
            table,
            sys_id,
            op: "upsert",
            at,
            payload,
        }
    }

    /// A delete.
    pub fn delete(table: &'a str, sys_id: &'a str, at: &'a str) -> Self {
        Self {
            table,
            sys_id,
            op: "delete",
            at,
            payload: Value::Null,
        }
    }
}

impl TestContext {
    /// Ingests versions on topic `sn.acme.prod.<table>` partition 0, with
    /// offsets continuing from `first_offset`.
    pub async fn ingest(&self, first_offset: i64, versions: &[Version<'_>]) -> Reply {
        let records: Vec<Value> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut r = json!({"tenant_id": TENANT, "instance_id": INSTANCE, "table": v.table, "sys_id": v.sys_id,
                    "op": v.op, "event_time": v.at, "topic": format!("sn.{TENANT}.{INSTANCE}.{}", v.table),
                    "partition": 0, "offset": first_offset + i as i64});
                if v.op == "upsert" {
                    r["payload"] = v.payload.clone();
                }
                r
            })
            .collect();
        let reply = self
            .post("/v1/index/records", &json!({ "records": records }))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply
    }

    /// Publishes a watermark for the table's topic, partition 0.
    pub async fn watermark(&self, table: &str, at: &str) {
        let body = json!({"watermarks": [{"tenant_id": TENANT, "instance_id": INSTANCE,
            "topic": format!("sn.{TENANT}.{INSTANCE}.{table}"), "partition": 0, "watermark_time": at}]});
        let reply = self.post("/v1/index/watermarks", &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }

    /// Sets up a target table with string columns plus the given reference
    /// columns `(name, referenced table)`.
    pub async fn target_table(
        &self,
        table: &str,
        references: &[(&str, &str)],
        write_allowed: bool,
    ) {
        let mut columns = vec![json!({"name": "short_description", "type": "string"})];
        columns.extend(
            references.iter().map(
                |(name, to)| json!({"name": name, "type": "reference", "reference_table": to}),
            ),
        );
        let path = format!("/v1/targets/{TENANT}/{INSTANCE}/tables/{table}");
        let body = json!({"columns": columns, "write_allowed": write_allowed});
        let reply = self
            .send(Method::PUT, &path, Some(&self.admin_token), Some(&body))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }

    /// Writes a live row into the target.
    pub async fn target_row(&self, table: &str, sys_id: &str, payload: Value) {
        let path = format!("/v1/targets/{TENANT}/{INSTANCE}/tables/{table}/records/{sys_id}");
        let reply = self
            .send(
                Method::PUT,
                &path,
                Some(&self.admin_token),
                Some(&json!({ "payload": payload })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }

    /// A live row of the target (None when absent).
    pub async fn target_payload(&self, table: &str, sys_id: &str) -> Option<Value> {
        let reply = self
            .get(&format!(
                "/v1/targets/{TENANT}/{INSTANCE}/tables/{table}/records/{sys_id}"
            ))
            .await;
        (reply.status == StatusCode::OK).then(|| reply.body["payload"].clone())
    }

    /// Dry-runs `body` merged over a default request for `tables` at `pit`.
    pub async fn dry_run(&self, tables: &[&str], pit: &str, extra: Value) -> Reply {
        let mut body = json!({"tenant_id": TENANT, "instance_id": INSTANCE, "pit": pit,
            "scope": {"tables": tables.iter().map(|t| json!({"table": t})).collect::<Vec<_>>()}});
        if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        self.post("/v1/plans/dry-run", &body).await
    }

    /// An executable plan over `tables`: for each, `rows` records created
    /// in the index at 09:00, a fresh watermark, and a writable target
    /// table. Returns the plan.
    pub async fn executable_plan(&self, tables: &[&str], rows: usize, extra: Value) -> Value {
        let now = chrono::Utc::now();
        let at = (now - chrono::Duration::minutes(10))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let wm =
            (now - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let pit =
            (now - chrono::Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for (t, table) in tables.iter().enumerate() {
            let ids: Vec<String> = (0..rows).map(|i| format!("{table}-{i:05}")).collect();
            let versions: Vec<Version<'_>> = ids
                .iter()
                .map(|id| {
                    Version::upsert(
                        table,
                        id,
                        &at,
                        json!({"short_description": format!("row {id}")}),
                    )
                })
                .collect();
            for (b, batch) in versions.chunks(5000).enumerate() {
                self.ingest((t * 1_000_000 + b * 5000) as i64, batch).await;
            }
            self.watermark(table, &wm).await;
            self.target_table(table, &[], true).await;
        }
        let reply = self.dry_run(tables, &pit, extra).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        assert_eq!(
            reply.body["gate"]["executability"], "executable",
            "{:?}",
            reply.body["gate"]
        );
        reply.body
    }
}
