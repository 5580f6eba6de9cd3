//! The Attachment API (`/api/now/attachment...`): raw upload to an existing
//! record (404 when the record does not exist, as documented), metadata with
//! `hash` = sha256 of the content and `size_bytes` as a string, download of
//! the bytes with their stored `Content-Type`, list by encoded query, delete.
//! Access follows the target record: reading an attachment needs read access
//! to its record, uploading or deleting one needs write access.

use bytes::Bytes;
use serde_json::Value;

use crate::acl::{record_denied, table_denied, Access};
use crate::query::EncodedQuery;
use crate::render::{param, Page};
use crate::reply::{bad_request, invalid_table, no_record, not_authorized, Reply};
use crate::state::{Shared, State, StoredAttachment};
use crate::table_api::Ctx;
use crate::values::{new_sys_id, now_glide, sha256_hex, Fields};

const TABLE: &str = "sys_attachment";

fn meta_json(meta: &Fields) -> Value {
    Value::Object(
        meta.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// The attachment's record (table, sys_id) for ACL checks.
fn target(meta: &Fields) -> (&str, &str) {
    let get = |k: &str| meta.get(k).map_or("", String::as_str);
    (get("table_name"), get("table_sys_id"))
}

fn denied(state: &State, meta: &Fields, access: Access) -> bool {
    let (table, sys_id) = target(meta);
    record_denied(&state.behaviour.acl, table, sys_id, access)
}

/// `POST /api/now/attachment/file?table_name=&table_sys_id=&file_name=`.
pub(crate) fn upload(shared: &Shared, ctx: &Ctx) -> Result<Reply, Reply> {
    let required = |name: &str| {
        param(&ctx.params, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad_request("Bad Request", &format!("Missing parameter: {name}")))
    };
    let (table, record, file_name) = (
        required("table_name")?,
        required("table_sys_id")?,
        required("file_name")?,
    );
    let content_type = ctx
        .content_type
        .as_deref()
        .ok_or_else(|| bad_request("Bad Request", "Content-Type header is required"))?;
    if shared
        .schema
        .table(table)
        .is_none_or(|t| t.derived.is_some())
    {
        return Err(invalid_table(table));
    }
    let mut state = shared.lock();
    if record_denied(&state.behaviour.acl, table, record, Access::Write) {
        return Err(not_authorized(
            "ACL Exception Insert Failed due to security constraints",
        ));
    }
    if state.record(table, record).is_none() {
        return Err(no_record());
    }
    let sys_id = new_sys_id();
    let hash = sha256_hex(&ctx.body);
    let meta = metadata(
        shared,
        ctx,
        &sys_id,
        [table, record, file_name, content_type],
        &hash,
    );
    let seq = state.next_seq();
    let content = ctx.body.clone();
    state.attachments.insert(
        sys_id.clone(),
        StoredAttachment {
            seq,
            meta: meta.clone(),
            content,
        },
    );
    drop(state);
    let location = format!("{}/api/now/attachment/{sys_id}", shared.base_url);
    Ok(Reply::result(201, meta_json(&meta))
        .header("Location", location)
        .target(TABLE, Some(&sys_id))
        .record_sha256(hash))
}

fn metadata(shared: &Shared, ctx: &Ctx, sys_id: &str, names: [&str; 4], hash: &str) -> Fields {
    let [table, record, file_name, content_type] = names;
    let now = now_glide();
    let size = ctx.body.len().to_string();
    let link = format!("{}/api/now/attachment/{sys_id}/file", shared.base_url);
    let user = ctx.user.as_str();
    [
        ("sys_id", sys_id),
        ("file_name", file_name),
        ("content_type", content_type),
        ("size_bytes", &size),
        ("size_compressed", &size),
        ("compressed", "false"),
        ("table_name", table),
        ("table_sys_id", record),
        ("hash", hash),
        ("state", "available"),
        ("chunk_size_bytes", "700000"),
        ("image_height", ""),
        ("image_width", ""),
        ("average_image_color", ""),
        ("download_link", &link),
        ("sys_created_on", &now),
        ("sys_created_by", user),
        ("sys_updated_on", &now),
        ("sys_updated_by", user),
        ("sys_mod_count", "0"),
        ("sys_class_name", TABLE),
        ("sys_tags", ""),
        ("created_by_name", user),
        ("updated_by_name", user),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `GET /api/now/attachment?sysparm_query=table_name=X^table_sys_id=Y`
/// (plain `table_name=..&table_sys_id=..` parameters work too).
pub(crate) fn list(shared: &Shared, ctx: &Ctx) -> Result<Reply, Reply> {
    let Some(table) = shared.schema.table(TABLE) else {
        return Err(invalid_table(TABLE));
    };
    let page = Page::from_params(&ctx.params, 1000, shared.config.max_page_size)?;
    let mut query = EncodedQuery::parse(param(&ctx.params, "sysparm_query").unwrap_or(""), table);
    for (key, value) in ctx
        .params
        .iter()
        .filter(|(k, _)| !k.starts_with("sysparm_"))
    {
        query.and_equals(key, value, table);
    }
    let state = shared.lock();
    if table_denied(&state.behaviour.acl, TABLE, Access::Read) {
        return Err(not_authorized(
            "Read access to sys_attachment denied by ACL",
        ));
    }
    let mut rows: Vec<&Fields> = state
        .attachment_rows()
        .into_iter()
        .map(|a| &a.meta)
        .filter(|m| query.matches(m))
        .collect();
    rows.sort_by(|a, b| query.compare(a, b));
    let total = rows.len();
    let result: Vec<Value> = rows
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .filter(|m| !denied(&state, m, Access::Read))
        .map(meta_json)
        .collect();
    let mut reply =
        Reply::result(200, Value::Array(result)).header("X-Total-Count", total.to_string());
    if let Some(link) = page.link_header(&shared.base_url, &ctx.path, &ctx.params, total) {
        reply = reply.header("Link", link);
    }
    Ok(reply.target(TABLE, None))
}

/// The stored attachment, if the user may read it.
fn readable(shared: &Shared, sys_id: &str) -> Result<StoredAttachment, Reply> {
    let state = shared.lock();
    let attachment = state.attachments.get(sys_id).ok_or_else(no_record)?;
    if denied(&state, &attachment.meta, Access::Read) {
        return Err(not_authorized(
            "Read access to the attachment's record denied by ACL",
        ));
    }
    Ok(attachment.clone())
}

/// `GET /api/now/attachment/{sys_id}`.
pub(crate) fn get(shared: &Shared, sys_id: &str) -> Result<Reply, Reply> {
    let attachment = readable(shared, sys_id)?;
    Ok(Reply::result(200, meta_json(&attachment.meta)).target(TABLE, Some(sys_id)))
}

/// `GET /api/now/attachment/{sys_id}/file`: the bytes, their stored type,
/// and the metadata in `X-Attachment-Metadata`.
pub(crate) fn file(shared: &Shared, sys_id: &str) -> Result<Reply, Reply> {
    let attachment = readable(shared, sys_id)?;
    let content_type = attachment
        .meta
        .get("content_type")
        .map_or("application/octet-stream", String::as_str);
    let bytes: Bytes = attachment.content.clone();
    Ok(Reply::bytes(200, content_type, bytes)
        .header(
            "X-Attachment-Metadata",
            meta_json(&attachment.meta).to_string(),
        )
        .target(TABLE, Some(sys_id)))
}

/// `DELETE /api/now/attachment/{sys_id}`.
pub(crate) fn delete(shared: &Shared, sys_id: &str) -> Result<Reply, Reply> {
    let mut state = shared.lock();
    let attachment = state.attachments.get(sys_id).ok_or_else(no_record)?;
    if denied(&state, &attachment.meta, Access::Write) {
        return Err(not_authorized(
            "ACL Exception Delete Failed due to security constraints",
        ));
    }
    state.attachments.remove(sys_id);
    Ok(Reply::empty(204).target(TABLE, Some(sys_id)))
}
