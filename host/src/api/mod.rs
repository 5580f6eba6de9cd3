//! The HTTP API (poem-openapi). Handlers only translate: they extract
//! input, call the domain, and map the result; they never touch the
//! database. Each resource has its own file.

pub mod allow;
pub mod auth;
pub mod body;
pub mod error;
pub mod evidence;
pub mod evidence_types;
pub mod execution;
pub mod execution_types;
pub mod health;
pub mod index;
pub mod job_types;
pub mod jobs;
pub mod ops;
pub mod ops_status;
pub mod ops_types;
pub mod paging;
pub mod plan_types;
pub mod plans;
pub mod policies;
pub mod request_context;
pub mod security;
pub mod targets;
pub mod types;

use poem_openapi::{OpenApiService, Tags};

/// The document's tags, one per resource.
#[derive(Tags)]
pub enum ApiTags {
    /// Liveness, readiness and metrics.
    Health,
    /// Bearer tokens.
    Auth,
    /// The backup index fed by the CDC sidecar.
    Index,
    /// The embedded target instance restores write into.
    Targets,
    /// Dry-run plans.
    Plans,
    /// Executing jobs: execute, resume, checkpoint, rollback journal.
    Execution,
    /// The policy plugins that gate and authorise restores.
    Policies,
    /// Jobs: table locks, the first-come-first-served queue, events and
    /// operator completion.
    Jobs,
    /// Operations: SLO burn rate, GA readiness, staging mode, runbook
    /// sign-off, failure drills, tenant entitlements and their audit trail.
    Operations,
    /// Evidence packages: export, verification, the signer keyring.
    Evidence,
}

/// Every API of the service, in document order.
pub type Apis = (
    health::HealthApi,
    auth::AuthApi,
    index::IndexApi,
    targets::TargetsApi,
    plans::PlansApi,
    jobs::JobsApi,
    execution::ExecutionApi,
    policies::PoliciesApi,
    ops::OpsApi,
    ops_status::OpsStatusApi,
    evidence::EvidenceApi,
);

/// The OpenAPI service; `server_url` is where Swagger UI sends requests.
pub fn service(server_url: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            auth::AuthApi,
            index::IndexApi,
            targets::TargetsApi,
            plans::PlansApi,
            jobs::JobsApi,
            execution::ExecutionApi,
            policies::PoliciesApi,
            ops::OpsApi,
            ops_status::OpsStatusApi,
            evidence::EvidenceApi,
        ),
        "Restore service API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Restores records of a SaaS instance to a point in time: dry-run plans gated by policy, \
             jobs that lock their tables, chunked execution with resume, a rollback journal and \
             signed evidence. Every error body is `{reason_code, message, details?}`.",
    )
    .server(server_url)
}

/// The OpenAPI document as pretty JSON (what `openapi/openapi.json` holds).
pub fn spec_json() -> String {
    spec_json_for("/")
}

/// The document with `server_url` as its server, with every optional
/// property marked `nullable`: the service writes absent values as `null`
/// and accepts `null` for them, and OpenAPI 3.0 says so only this way.
pub fn spec_json_for(server_url: &str) -> String {
    let raw = service(server_url).spec();
    match serde_json::from_str::<serde_json::Value>(&raw) {
        Ok(mut doc) => {
            mark_optional_nullable(&mut doc);
            serde_json::to_string_pretty(&doc).unwrap_or(raw)
        }
        Err(_) => raw,
    }
}

fn mark_optional_nullable(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                let required: Vec<String> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let optional: Vec<String> = props
                    .keys()
                    .filter(|k| !required.contains(k))
                    .cloned()
                    .collect();
                if let Some(Value::Object(props)) = map.get_mut("properties") {
                    for key in optional {
                        if let Some(Value::Object(prop)) = props.get_mut(&key) {
                            prop.insert("nullable".to_owned(), Value::Bool(true));
                        }
                    }
                }
            }
            map.values_mut().for_each(mark_optional_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(mark_optional_nullable),
        _ => {}
    }
}
