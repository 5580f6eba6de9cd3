//! The request pipeline every ServiceNow API request goes through, in the
//! order a client would observe it: injected latency (slept outside the
//! state lock, so it delays without serialising), authentication (401),
//! rate limiting (429), content negotiation (406), scripted write faults,
//! then the Table or Attachment API itself; every request is logged.
//! `/fake/...` control requests skip all of it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use poem::http::Method;
use poem::{Endpoint, Request, Response};

use crate::faults::FaultKind;
use crate::log::RequestLogEntry;
use crate::rate_limit::RateDecision;
use crate::render::Params;
use crate::reply::{dropped_connection, Logged, Reply};
use crate::routes::{Route, Routed};
use crate::state::Shared;
use crate::table_api::Ctx;
use crate::{attachment_api, control, oauth, table_api};

/// The whole fake as one poem endpoint.
pub(crate) struct FakeEndpoint {
    pub shared: Arc<Shared>,
}

impl Endpoint for FakeEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if req.uri().path().starts_with("/fake/") {
            return Ok(control::handle(&self.shared, req).await);
        }
        Ok(api(&self.shared, req).await)
    }
}

/// What the log needs to know about a request before it is answered.
#[derive(Debug)]
struct Draft {
    method: String,
    path: String,
    query: Option<String>,
    user: Option<String>,
    table: Option<String>,
    sys_id: Option<String>,
    write: bool,
    suppress_body: bool,
    /// The client's address: which connection a drop fault closes.
    peer: Option<SocketAddr>,
}

impl Draft {
    fn new(req: &Request, route: &Route) -> Self {
        let (table, sys_id) = route.target();
        let writes_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
        let no_body = req
            .header("x-no-response-body")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Self {
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            query: req.uri().query().map(str::to_owned),
            user: None,
            table: table.map(str::to_owned),
            sys_id: sys_id.map(str::to_owned),
            write: route.is_write(),
            suppress_body: writes_body && no_body,
            peer: req.remote_addr().as_socket_addr().copied(),
        }
    }

    fn log(&self, shared: &Shared, reply: Option<&Reply>, dropped: bool, injected: Option<&str>) {
        let from_reply =
            |f: fn(&Logged) -> &Option<String>| reply.and_then(|r| f(&r.logged).clone());
        let entry = RequestLogEntry {
            seq: 0,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            user: self.user.clone(),
            table: from_reply(|r| &r.table).or_else(|| self.table.clone()),
            sys_id: from_reply(|r| &r.sys_id).or_else(|| self.sys_id.clone()),
            status: reply.map(|r| r.status),
            write: self.write,
            dropped,
            injected: injected.map(str::to_owned),
            record_sha256: from_reply(|r| &r.record_sha256),
        };
        tracing::debug!(method = %entry.method, path = %entry.path, status = ?entry.status, dropped, "request");
        shared.lock().log.push(entry);
    }

    /// Closes this request's connection without an answer.
    fn drop_connection(&self, shared: &Shared) -> Response {
        if let Some(peer) = self.peer {
            shared.connections.kill(peer);
        }
        dropped_connection()
    }

    /// Logs the reply and turns it into the response.
    fn finish(&self, shared: &Shared, reply: Reply, injected: Option<&str>) -> Response {
        self.log(shared, Some(&reply), false, injected);
        reply.into_response(self.suppress_body)
    }
}

async fn api(shared: &Shared, mut req: Request) -> Response {
    let latency = shared.lock().behaviour.latency_ms;
    if latency > 0 {
        use std::sync::atomic::Ordering::SeqCst;
        let now = shared.delayed.fetch_add(1, SeqCst) + 1;
        shared.most_delayed.fetch_max(now, SeqCst);
        tokio::time::sleep(Duration::from_millis(latency)).await;
        shared.delayed.fetch_sub(1, SeqCst);
    }
    let body = req.take_body().into_bytes().await;
    let routed = Routed::parse(req.method(), req.uri().path());
    let mut draft = Draft::new(&req, &routed.route);
    let Ok(body) = body else {
        let reply = Reply::error(
            400,
            "Exception while reading request",
            Some("unreadable body"),
        );
        return draft.finish(shared, reply, None);
    };
    if draft.path == "/oauth_token.do" {
        return draft.finish(shared, oauth::token_endpoint(shared, &req, &body), None);
    }
    let user = shared.lock().auth.authenticate(req.header("authorization"));
    let Some(user) = user else {
        return draft.finish(shared, unauthenticated(), None);
    };
    draft.user = Some(user.clone());
    let decision = {
        let mut state = shared.lock();
        let rule = state.behaviour.rate_limit;
        state.rate.check(rule, &user, routed.route.api_name())
    };
    if let Some(seconds) = decision.retry_after {
        let reply = with_headers(rate_limited(seconds, &decision), &decision);
        return draft.finish(shared, reply, Some("rate_limited"));
    }
    match context(&req, user, body, &routed) {
        Ok(ctx) => execute(shared, &ctx, &routed.route, &draft, &decision),
        Err(reply) => draft.finish(shared, with_headers(reply, &decision), None),
    }
}

/// Applies the write fault due now, if any, around the operation itself.
fn execute(
    shared: &Shared,
    ctx: &Ctx,
    route: &Route,
    draft: &Draft,
    rate: &RateDecision,
) -> Response {
    let fault = if route.is_write() {
        shared.lock().faults.on_write()
    } else {
        None
    };
    match fault {
        Some(FaultKind::Status { status }) => {
            let reply = with_headers(fault_reply(status), rate);
            return draft.finish(shared, reply, Some("fault_status"));
        }
        Some(FaultKind::DropBeforeApply) => {
            draft.log(shared, None, true, Some("drop_before_apply"));
            return draft.drop_connection(shared);
        }
        Some(FaultKind::DropAfterApply) | None => {}
    }
    let reply = dispatch(shared, ctx, route).unwrap_or_else(|error| error);
    if fault == Some(FaultKind::DropAfterApply) {
        draft.log(shared, Some(&reply), true, Some("drop_after_apply"));
        return draft.drop_connection(shared);
    }
    draft.finish(shared, with_headers(reply, rate), None)
}

fn dispatch(shared: &Shared, ctx: &Ctx, route: &Route) -> Result<Reply, Reply> {
    match route {
        Route::TableList { table } => table_api::list(shared, ctx, table),
        Route::TableGet { table, sys_id } => table_api::get(shared, ctx, table, sys_id),
        Route::TableInsert { table } => table_api::insert(shared, ctx, table),
        Route::TableUpdate { table, sys_id } => table_api::update(shared, ctx, table, sys_id),
        Route::TableDelete { table, sys_id } => table_api::delete(shared, table, sys_id),
        Route::AttachmentList => attachment_api::list(shared, ctx),
        Route::AttachmentGet { sys_id } => attachment_api::get(shared, sys_id),
        Route::AttachmentFile { sys_id } => attachment_api::file(shared, sys_id),
        Route::AttachmentUpload => attachment_api::upload(shared, ctx),
        Route::AttachmentDelete { sys_id } => attachment_api::delete(shared, sys_id),
        Route::MethodNotAllowed => Err(Reply::error(405, "Method not Supported", None)),
        Route::Unknown => Err(Reply::error(
            400,
            "Requested URI does not represent any resource",
            None,
        )),
    }
}

/// Parameters and body for the handlers; 400 for an undecodable query,
/// 406 when the client accepts no JSON (the file download excepted).
fn context(req: &Request, user: String, body: Bytes, routed: &Routed) -> Result<Ctx, Reply> {
    let params: Params = req
        .params()
        .map_err(|e| Reply::error(400, "Invalid request", Some(&format!("query string: {e}"))))?;
    let downloads = matches!(routed.route, Route::AttachmentFile { .. });
    if !downloads && !accepts_json(req.header("accept")) {
        let detail = "Accept must allow application/json";
        return Err(Reply::error(406, "Not Acceptable", Some(detail)));
    }
    Ok(Ctx {
        user,
        path: req.uri().path().to_owned(),
        params,
        content_type: req.content_type().map(str::to_owned),
        body,
        v1: routed.v1,
    })
}

fn accepts_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return true;
    };
    accept.split(',').any(|range| {
        let media = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            media.as_str(),
            "application/json" | "application/*" | "*/*" | ""
        )
    })
}

fn unauthenticated() -> Reply {
    Reply::error(
        401,
        "User Not Authenticated",
        Some("Required to provide Auth information"),
    )
    .header("WWW-Authenticate", "Basic realm=\"Service-now\"")
}

fn rate_limited(seconds: u64, decision: &RateDecision) -> Reply {
    Reply::error(429, "Rate limit exceeded", Some(&decision.detail))
        .header("Retry-After", seconds.to_string())
}

fn fault_reply(status: u16) -> Reply {
    let reason = poem::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Server Error");
    Reply::error(status, reason, Some("Injected fault"))
}

fn with_headers(mut reply: Reply, decision: &RateDecision) -> Reply {
    for (name, value) in &decision.headers {
        reply = reply.header(name, value.clone());
    }
    reply
}
