//! Attachments through the Attachment API.
//!
//! - write: `POST /api/now/attachment/file?table_name=&table_sys_id=&file_name=`
//!   with the raw bytes and their `Content-Type` [documented]. The answer's
//!   `hash` (sha256 of the stored content, lowercase hex [documented in the
//!   platform security docs; empty for encrypted attachments]) must be the
//!   expected one; without a hash, `size_bytes` must be the size sent. A
//!   lost answer is not retried: the call fails `Unavailable` saying so,
//!   and the domain looks the attachment up before uploading again.
//! - find: the attachments of the record (`table_name` and `table_sys_id`
//!   in the encoded query), filtered here by file name and hash (a file
//!   name may hold `^` or `,`, which the encoded query cannot carry
//!   unescaped): the one holding the expected content, so a resumed restore
//!   does not upload it twice. An attachment without a hash never matches.
//! - delete (an undo removing what its restore wrote):
//!   `DELETE /api/now/attachment/{sys_id}` [documented]; `404` means it is
//!   already gone. A lost answer fails `Unavailable`: the domain looks the
//!   attachment up again before deleting it again.

use reqwest::Method;
use serde_json::Value;

use super::answer::{Answer, Record};
use super::http::{Body, Call, Effect, Failure, Instance};
use super::paging::{self, Listing};
use super::table::valid_table;
use crate::target::{AttachmentKey, AttachmentRef, NewAttachment, TargetError};

fn text<'r>(meta: &'r Record, name: &str) -> &'r str {
    meta.get(name).and_then(Value::as_str).unwrap_or("")
}

fn size_of(meta: &Record) -> Option<i64> {
    text(meta, "size_bytes").trim().parse().ok()
}

/// Sends a write that is never retried: a lost answer fails `Unavailable`,
/// telling the domain to look the attachment up before `doing` it again.
async fn write_once(
    instance: &Instance,
    call: &Call<'_>,
    doing: &str,
) -> Result<Answer, TargetError> {
    instance.call(call).await.map_err(|failure| match failure {
        Failure::Unknown(why) => TargetError::Unavailable(format!(
            "{why}; look the attachment up before {doing} it again"
        )),
        other => other.into(),
    })
}

fn check_parent(key: &AttachmentKey<'_>) -> Result<(), TargetError> {
    if !valid_table(key.parent_table) || !super::table::queryable(key.parent_sys_id) {
        return Err(TargetError::Refused {
            status: 400,
            message: format!(
                "not sent: {}/{} cannot be a ServiceNow record",
                key.parent_table, key.parent_sys_id
            ),
        });
    }
    Ok(())
}

pub(super) async fn write(
    instance: &Instance,
    attachment: NewAttachment<'_>,
) -> Result<AttachmentRef, TargetError> {
    let key = &attachment.key;
    check_parent(key)?;
    let call = Call {
        method: Method::POST,
        path: &["api", "now", "attachment", "file"],
        query: vec![
            ("table_name", key.parent_table.to_owned()),
            ("table_sys_id", key.parent_sys_id.to_owned()),
            ("file_name", key.file_name.to_owned()),
        ],
        body: Some(Body::Bytes {
            content_type: attachment.content_type.to_owned(),
            bytes: attachment.bytes.clone(),
        }),
        effect: Effect::Write,
    };
    let answer = write_once(instance, &call, "uploading").await?;
    if !answer.is_success() {
        return Err(TargetError::Refused {
            status: answer.status,
            message: instance.error_text(&answer),
        });
    }
    let meta = answer.record().map_err(|e| {
        TargetError::Protocol(format!(
            "the attachment was stored but its answer could not be read: {e}"
        ))
    })?;
    let expected = attachment.sha256_plain;
    let size = attachment.bytes.len() as i64;
    let (hash, stored_size) = (text(&meta, "hash"), size_of(&meta));
    let matches = match hash {
        "" => stored_size == Some(size),
        hash => hash.eq_ignore_ascii_case(expected),
    };
    if !matches {
        return Err(TargetError::Protocol(format!(
            "the instance stored attachment {} with hash {hash:?} and size {stored_size:?}, \
             not {expected} and {size}",
            text(&meta, "sys_id")
        )));
    }
    Ok(AttachmentRef {
        id: text(&meta, "sys_id").to_owned(),
        size_bytes: stored_size.unwrap_or(size),
        sha256_plain: expected.to_owned(),
    })
}

pub(super) async fn find(
    instance: &Instance,
    key: &AttachmentKey<'_>,
) -> Result<Option<AttachmentRef>, TargetError> {
    check_parent(key)?;
    let path = ["api", "now", "attachment"];
    let listing = Listing {
        path: &path,
        table: "sys_attachment",
    };
    let query = format!(
        "table_name={}^table_sys_id={}^ORDERBYsys_id",
        key.parent_table, key.parent_sys_id
    );
    let params = [("sysparm_query", query)];
    let mut offset = Some(0);
    while let Some(at) = offset {
        let page = paging::page(instance, listing, &params, at).await?;
        let found = page.records.iter().find(|meta| {
            text(meta, "file_name") == key.file_name
                && !text(meta, "hash").is_empty()
                && text(meta, "hash").eq_ignore_ascii_case(key.sha256_plain)
        });
        if let Some(meta) = found {
            return Ok(Some(AttachmentRef {
                id: text(meta, "sys_id").to_owned(),
                size_bytes: size_of(meta).unwrap_or_default(),
                sha256_plain: key.sha256_plain.to_owned(),
            }));
        }
        offset = page.next;
    }
    Ok(None)
}

pub(super) async fn delete(instance: &Instance, held: &AttachmentRef) -> Result<(), TargetError> {
    if !super::table::queryable(&held.id) {
        return Err(TargetError::Protocol(format!(
            "the instance named an attachment {:?} that cannot be addressed",
            held.id
        )));
    }
    let call = Call {
        method: Method::DELETE,
        path: &["api", "now", "attachment", &held.id],
        query: Vec::new(),
        body: None,
        effect: Effect::Write,
    };
    let answer = write_once(instance, &call, "deleting").await?;
    match answer.status {
        200..=299 | 404 => Ok(()),
        status => Err(TargetError::Refused {
            status,
            message: instance.error_text(&answer),
        }),
    }
}
