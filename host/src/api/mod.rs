//! The HTTP API (poem-openapi). Handlers only translate: they extract
//! input, call the domain, and map the result; they never touch the
//! database. Each resource has its own file.

pub mod allow;
pub mod auth;
pub mod body;
pub mod document;
pub mod drill_types;
pub mod drills;
pub mod error;
pub mod evidence;
pub mod evidence_types;
pub mod execution;
pub mod execution_types;
pub mod health;
pub mod index;
pub mod job_types;
pub mod jobs;
pub mod operation_errors;
pub mod ops;
pub mod ops_status;
pub mod ops_types;
pub mod paging;
pub mod plan_types;
pub mod plans;
pub mod policies;
pub mod policy_log_types;
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
    /// Restore drills that run themselves: schedules and their runs.
    Drills,
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
    drills::DrillsApi,
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
            drills::DrillsApi,
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
    spec_json_for(DEFAULT_SERVER)
}

/// Where the service listens by default (`server.listen_addr`).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// The document with `server_url` as its server, finished for generators
/// (see [`document`]).
pub fn spec_json_for(server_url: &str) -> String {
    document::finish(&service(server_url).spec(), server_url)
}
