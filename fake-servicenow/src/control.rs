//! `/fake/...`: control and inspection over HTTP, for the binary and for
//! clients in other processes. Not part of ServiceNow's API: no
//! authentication, no latency, no rate limit, not logged. Bodies are JSON;
//! failures answer `{"error": "<text>"}`.

use poem::http::Method;
use poem::{Request, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::acl::AclRule;
use crate::config::Behaviour;
use crate::faults::FaultSpec;
use crate::handle::FakeHandle;
use crate::rate_limit::{Burst, RateLimit};
use crate::reply::Reply;
use crate::state::Shared;

#[derive(Debug, Deserialize)]
struct Latency {
    ms: u64,
}

#[derive(Debug, Deserialize)]
struct AclRules {
    rules: Vec<AclRule>,
}

#[derive(Debug, Deserialize)]
struct Revoke {
    user: Option<String>,
    client_id: Option<String>,
}

type Answer = Result<Reply, Reply>;

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, json!({ "error": message }))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| error(400, &format!("invalid body: {e}")))
}

fn done() -> Answer {
    Ok(Reply::empty(204))
}

pub(crate) async fn handle(shared: &std::sync::Arc<Shared>, mut req: Request) -> Response {
    let handle = FakeHandle::new(shared.clone());
    let body = req.take_body().into_bytes().await.unwrap_or_default();
    let path = req.uri().path().trim_start_matches("/fake/").to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let answer = match segments.as_slice() {
        ["tables", ..] | ["attachments"] | ["requests"] => {
            inspect(&handle, req.method(), &segments, &body)
        }
        _ => configure(&handle, req.method(), &segments, &body),
    };
    answer.unwrap_or_else(|e| e).into_response(false)
}

/// Reading state, the log, and seeding records.
fn inspect(handle: &FakeHandle, method: &Method, segments: &[&str], body: &[u8]) -> Answer {
    match (method.as_str(), segments) {
        ("GET", ["requests"]) => Ok(Reply::json(200, json!({ "requests": handle.requests() }))),
        ("DELETE", ["requests"]) => {
            handle.clear_requests();
            done()
        }
        ("GET", ["tables"]) => Ok(Reply::json(200, json!({ "tables": handle.tables() }))),
        ("GET", ["tables", table, "records"]) => match handle.records(table) {
            Some(records) => Ok(Reply::json(200, json!({ "records": records }))),
            None => Err(error(404, &format!("no stored table {table}"))),
        },
        ("POST", ["tables", table, "records"]) => {
            let rows = match parse::<Value>(body)? {
                Value::Array(rows) => rows.into_iter().map(object).collect::<Result<_, _>>()?,
                row => vec![object(row)?],
            };
            let seeded = handle.seed(table, rows).map_err(|e| error(400, &e))?;
            Ok(Reply::json(201, json!({ "records": seeded })))
        }
        ("GET", ["attachments"]) => {
            let metas: Vec<_> = handle.attachments().into_iter().map(|a| a.meta).collect();
            Ok(Reply::json(200, json!({ "attachments": metas })))
        }
        _ => Err(error(404, "unknown control endpoint")),
    }
}

fn object(value: Value) -> Result<Map<String, Value>, Reply> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(error(400, "each record must be a JSON object")),
    }
}

/// Changing behaviours.
fn configure(handle: &FakeHandle, method: &Method, segments: &[&str], body: &[u8]) -> Answer {
    match (method.as_str(), segments) {
        ("POST", ["reset"]) => {
            handle.reset();
            done()
        }
        ("GET", ["behaviour"]) => Ok(Reply::json(200, behaviour_json(handle))),
        ("PUT", ["behaviour"]) => {
            handle.set_behaviour(parse::<Behaviour>(body)?);
            done()
        }
        ("PUT", ["latency"]) => {
            let latency: Latency = parse(body)?;
            handle.set_latency(std::time::Duration::from_millis(latency.ms));
            done()
        }
        ("PUT", ["acl"]) => {
            handle.set_acl(parse::<AclRules>(body)?.rules);
            done()
        }
        ("PUT", ["rate-limit"]) => {
            handle.set_rate_limit(Some(parse::<RateLimit>(body)?));
            done()
        }
        ("DELETE", ["rate-limit"]) => {
            handle.set_rate_limit(None);
            done()
        }
        ("POST", ["rate-limit", "burst"]) => {
            handle.burst_429(parse::<Burst>(body)?);
            done()
        }
        _ => faults_and_credentials(handle, method, segments, body),
    }
}

fn faults_and_credentials(
    handle: &FakeHandle,
    method: &Method,
    segments: &[&str],
    body: &[u8],
) -> Answer {
    match (method.as_str(), segments) {
        ("POST", ["faults"]) => {
            handle.add_fault(parse::<FaultSpec>(body)?);
            Ok(Reply::json(
                201,
                json!({ "pending": handle.pending_faults() }),
            ))
        }
        ("DELETE", ["faults"]) => {
            handle.clear_faults();
            done()
        }
        ("POST", ["credentials", "revoke"]) => {
            let revoke: Revoke = parse(body)?;
            let known = match (revoke.user, revoke.client_id) {
                (Some(user), None) => handle.revoke_user(&user),
                (None, Some(client_id)) => handle.revoke_client(&client_id),
                _ => return Err(error(400, "give exactly one of user, client_id")),
            };
            Ok(Reply::json(200, json!({ "known": known })))
        }
        ("POST", ["tokens", "expire"]) => {
            handle.expire_tokens();
            done()
        }
        _ => Err(error(404, "unknown control endpoint")),
    }
}

fn behaviour_json(handle: &FakeHandle) -> Value {
    json!({
        "behaviour": handle.behaviour(),
        "pending_faults": handle.pending_faults(),
        "writes_seen": handle.writes_seen(),
        "burst_left": handle.burst_left(),
    })
}
