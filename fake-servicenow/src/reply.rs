//! Answers in ServiceNow's shapes: `{"result": ...}` on success and
//! `{"error": {"message", "detail"}, "status": "failure"}` on failure, plus
//! what the request log needs to know about each answer. Also the one
//! non-answer: a response whose body fails before its head is flushed, so
//! the server closes the connection and the client sees no HTTP response.

use bytes::Bytes;
use poem::http::StatusCode;
use poem::{Body, Response};
use serde_json::{json, Value};

const JSON: &str = "application/json;charset=UTF-8";

#[derive(Debug)]
pub(crate) enum ReplyBody {
    Json(Value),
    Bytes { content_type: String, bytes: Bytes },
    Empty,
}

/// An answer, before it becomes an HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
    /// For the request log (boxed: keeps `Result<Reply, Reply>` small).
    pub logged: Box<Logged>,
}

/// What the request log records about an answer.
#[derive(Debug, Default)]
pub(crate) struct Logged {
    /// Table and record addressed or created.
    pub table: Option<String>,
    pub sys_id: Option<String>,
    pub record_sha256: Option<String>,
}

impl Reply {
    fn new(status: u16, body: ReplyBody) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
            logged: Box::default(),
        }
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self::new(status, ReplyBody::Json(body))
    }

    /// `{"result": result}`.
    pub fn result(status: u16, result: Value) -> Self {
        Self::json(status, json!({ "result": result }))
    }

    /// The error envelope; `detail` is `null` when `None`.
    pub fn error(status: u16, message: &str, detail: Option<&str>) -> Self {
        Self::json(
            status,
            json!({"error": {"message": message, "detail": detail}, "status": "failure"}),
        )
    }

    pub fn empty(status: u16) -> Self {
        Self::new(status, ReplyBody::Empty)
    }

    pub fn bytes(status: u16, content_type: &str, bytes: Bytes) -> Self {
        let content_type = content_type.to_owned();
        Self::new(
            status,
            ReplyBody::Bytes {
                content_type,
                bytes,
            },
        )
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Names the table and record for the request log.
    pub fn target(mut self, table: &str, sys_id: Option<&str>) -> Self {
        self.logged.table = Some(table.to_owned());
        self.logged.sys_id = sys_id.map(str::to_owned);
        self
    }

    pub fn record_sha256(mut self, sha: String) -> Self {
        self.logged.record_sha256 = Some(sha);
        self
    }

    /// The HTTP response; `suppress_body` honours `X-no-response-body`.
    pub fn into_response(self, suppress_body: bool) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut builder = Response::builder().status(status);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        match self.body {
            _ if suppress_body => builder.finish(),
            ReplyBody::Empty => builder.finish(),
            ReplyBody::Json(value) => builder.content_type(JSON).body(value.to_string()),
            ReplyBody::Bytes {
                content_type,
                bytes,
            } => builder.content_type(content_type).body(bytes),
        }
    }
}

/// 404 for a missing record (also what ServiceNow answers when an ACL
/// hides it).
pub(crate) fn no_record() -> Reply {
    Reply::error(
        404,
        "No Record found",
        Some("Record doesn't exist or ACL restricts the record retrieval"),
    )
}

/// 400 for a table the instance does not have.
pub(crate) fn invalid_table(table: &str) -> Reply {
    Reply::error(400, &format!("Invalid table {table}"), None)
}

/// 403 for an operation an ACL denies.
pub(crate) fn not_authorized(detail: &str) -> Reply {
    Reply::error(403, "User Not Authorized", Some(detail))
}

/// 400 for a request the fake cannot make sense of.
pub(crate) fn bad_request(message: &str, detail: &str) -> Reply {
    Reply::error(400, message, Some(detail))
}

/// The response returned for a connection `Connections::kill` has marked:
/// its head can no longer be written, and should a write slip through, its
/// body fails, so nothing complete ever reaches the client.
pub(crate) fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("injected connection drop"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .body(Body::from_bytes_stream(failing))
}
