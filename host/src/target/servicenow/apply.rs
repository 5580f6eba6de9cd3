//! Writing a batch: one request per row, at most `concurrency` of the
//! instance's requests in flight (the limiter in `http` is shared with
//! every other call), results in batch order.
//!
//! - create: `POST /api/now/table/{table}` with the row's `sys_id` in the
//!   body. ServiceNow keeping a client-chosen `sys_id` is widely relied on
//!   but not documented [assumed]; the answer's `sys_id` is checked, and a
//!   record created under another id is reported `Refused` (retrying would
//!   create another). A `sys_id` that is not 32 lowercase hex digits is not
//!   sent (the instance would replace it).
//! - update: `PATCH /api/now/table/{table}/{sys_id}`: documented as a
//!   partial update, so columns the schema does not list stay as they are
//!   (`PUT` is documented with the same parameters, and merging like it is
//!   only [assumed]).
//! - delete: `DELETE /api/now/table/{table}/{sys_id}`; `404` means it is
//!   already gone (ServiceNow also answers 404 for a record an ACL hides
//!   [documented in its error text]: both read as applied, and the domain's
//!   re-read cannot tell them apart either).
//!
//! The body holds every column of the schema but the `sys_*` ones, each as
//! the text the instance stores (`""` for a missing or null value), so the
//! record written is exactly the content whose hash the domain compares;
//! `sys_*` fields are never sent (but `sys_id` on create). The content
//! hash reported is that of the record the instance answered.
//!
//! Per row (see `RowResult`): written -> `Applied`; refused by the instance
//! (any 4xx but 401 and 429: ACL 403, invalid field 400, missing record
//! 404) -> `Refused`; the answer lost, or a 5xx other than 503 -> `Unknown`
//! (never retried); `429`/`503`/no connection past the retries ->
//! `NotWritten`, and the rows of the batch not yet started are then
//! `NotWritten` too without being sent (the instance is not taking writes
//! now). A `401` (after one token refresh with OAuth) stops the batch: rows
//! not started are not sent, and the call fails `Unauthorized`, since
//! the credentials must be fixed before any row can be written.

use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::{stream, FutureExt, StreamExt};
use reqwest::Method;
use serde_json::Value;

use super::http::{Body, Call, Effect, Failure, Instance};
use super::table::{fields, record_sha256, valid_table};
use crate::target::content::instance_content;
use crate::target::{ChangeKind, RowChange, RowResult, TableSchema, TargetError};

/// Why the rest of a batch is not sent.
#[derive(Debug, Default)]
struct Stop {
    unauthorized: Option<String>,
    unavailable: Option<String>,
}

/// Writes `batch` and says what became of each row, in order.
pub(super) async fn apply(
    instance: &Instance,
    table: &str,
    schema: &TableSchema,
    batch: &[RowChange],
) -> Result<Vec<RowResult>, TargetError> {
    if !valid_table(table) {
        return Err(TargetError::NoTable(table.to_owned()));
    }
    let stop = Mutex::new(Stop::default());
    let writer = Writer {
        instance,
        table,
        schema,
        fields: fields(schema),
        stop: &stop,
    };
    // Boxed, so the futures' lifetimes need no inference across the
    // trait's boxed future.
    let rows: Vec<BoxFuture<'_, RowResult>> = batch.iter().map(|r| writer.row(r).boxed()).collect();
    let results: Vec<RowResult> = stream::iter(rows)
        .buffered(instance.concurrency)
        .collect()
        .await;
    let stop = stop.into_inner().unwrap_or_else(|p| p.into_inner());
    match stop.unauthorized {
        Some(why) => Err(TargetError::Unauthorized(why)),
        None => Ok(results),
    }
}

struct Writer<'a> {
    instance: &'a Instance,
    table: &'a str,
    schema: &'a TableSchema,
    fields: String,
    stop: &'a Mutex<Stop>,
}

impl Writer<'_> {
    fn stopped(&self) -> Option<RowResult> {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = &stop.unauthorized {
            return Some(RowResult::NotWritten {
                message: format!("not sent: {why}"),
            });
        }
        stop.unavailable.as_ref().map(|why| RowResult::NotWritten {
            message: format!("not sent: an earlier row found the instance unavailable: {why}"),
        })
    }

    async fn row(&self, row: &RowChange) -> RowResult {
        if let Some(skipped) = self.stopped() {
            return skipped;
        }
        let (method, body) = match self.request_for(row) {
            Ok(request) => request,
            Err(refused) => return refused,
        };
        let path: Vec<&str> = match row.kind {
            ChangeKind::Create => vec!["api", "now", "table", self.table],
            _ => vec!["api", "now", "table", self.table, &row.sys_id],
        };
        let call = Call {
            method,
            path: &path,
            query: vec![
                ("sysparm_fields", self.fields.clone()),
                ("sysparm_exclude_reference_link", "true".to_owned()),
            ],
            body,
            effect: Effect::Write,
        };
        let answer = match self.instance.call(&call).await {
            Ok(answer) => answer,
            Err(failure) => return self.failed(failure),
        };
        match (row.kind, answer.status) {
            (ChangeKind::Delete, 200..=299 | 404) => RowResult::Applied {
                content_sha256: None,
            },
            (_, 200..=299) => match answer.record() {
                Ok(record) => self.written(row, record),
                Err(e) => RowResult::Unknown {
                    message: format!(
                        "written ({}), but the answer could not be read: {e}",
                        answer.status
                    ),
                },
            },
            (_, status) => RowResult::Refused {
                status,
                message: self.instance.error_text(&answer),
            },
        }
    }

    /// The method and body of a row's request, or why it is not sent.
    fn request_for(&self, row: &RowChange) -> Result<(Method, Option<Body>), RowResult> {
        let content = || {
            let payload = row.payload.as_ref().ok_or_else(|| RowResult::Refused {
                status: 400,
                message: "not sent: a create or update without a payload".into(),
            })?;
            Ok(instance_content(self.schema, payload))
        };
        match row.kind {
            ChangeKind::Create if !is_sys_id(&row.sys_id) => Err(RowResult::Refused {
                status: 400,
                message: format!(
                    "not sent: {:?} is not a ServiceNow sys_id (32 lowercase hex digits); \
                     the instance would create the record under another id",
                    row.sys_id
                ),
            }),
            ChangeKind::Create => {
                let mut body = content()?;
                body.insert("sys_id".into(), Value::String(row.sys_id.clone()));
                Ok((Method::POST, Some(Body::Json(body.into()))))
            }
            ChangeKind::Update => Ok((Method::PATCH, Some(Body::Json(content()?.into())))),
            ChangeKind::Delete => Ok((Method::DELETE, None)),
        }
    }

    fn written(&self, row: &RowChange, record: super::answer::Record) -> RowResult {
        let answered = record.get("sys_id").and_then(Value::as_str).unwrap_or("");
        if row.kind == ChangeKind::Create && answered != row.sys_id {
            return RowResult::Refused {
                status: 201,
                message: format!(
                    "the instance created the record as {answered:?}, not {}: it does not \
                     keep client-chosen sys_ids here",
                    row.sys_id
                ),
            };
        }
        RowResult::Applied {
            content_sha256: Some(record_sha256(self.schema, record)),
        }
    }

    fn failed(&self, failure: Failure) -> RowResult {
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        match failure {
            Failure::Unknown(message) => RowResult::Unknown { message },
            Failure::Unavailable(message) => {
                stop.unavailable.get_or_insert_with(|| message.clone());
                RowResult::NotWritten { message }
            }
            Failure::Unauthorized(message) => {
                stop.unauthorized.get_or_insert_with(|| message.clone());
                RowResult::NotWritten { message }
            }
        }
    }
}

/// 32 lowercase hex digits.
fn is_sys_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
