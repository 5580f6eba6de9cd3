//! The Table API (`/api/now/table/{table}[/{sys_id}]`): list with encoded
//! queries and paging, read, insert (201, a client-chosen `sys_id` honoured),
//! update (PUT and PATCH both merge), delete (204). The server owns the
//! `sys_*` fields: what a client sends for them is ignored, except a valid
//! `sys_id` on insert. Fields that are not columns of the table are ignored,
//! as the real instance does. An update that changes nothing leaves
//! `sys_mod_count` and `sys_updated_on` alone.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::acl::{record_denied, table_denied, Access};
use crate::dictionary::derived_rows;
use crate::query::EncodedQuery;
use crate::render::{param, Page, Params, RenderOptions};
use crate::reply::{bad_request, invalid_table, no_record, not_authorized, Reply};
use crate::schema::ResolvedTable;
use crate::state::{Shared, StoredRecord};
use crate::values::{content_sha256, is_sys_id, new_sys_id, now_glide, to_field_string, Fields};

/// What a handler needs to know about the request.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub user: String,
    pub path: String,
    pub params: Params,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// `/api/now/v1/...` was used.
    pub v1: bool,
}

fn table<'a>(shared: &'a Shared, name: &str) -> Result<&'a ResolvedTable, Reply> {
    shared.schema.table(name).ok_or_else(|| invalid_table(name))
}

fn writable<'a>(shared: &'a Shared, name: &str) -> Result<&'a ResolvedTable, Reply> {
    let table = table(shared, name)?;
    match table.derived {
        Some(_) => Err(not_authorized(&format!(
            "{name} is read-only on this instance"
        ))),
        None => Ok(table),
    }
}

/// `GET /api/now/table/{table}`.
pub(crate) fn list(shared: &Shared, ctx: &Ctx, name: &str) -> Result<Reply, Reply> {
    let table = table(shared, name)?;
    let max = shared.config.max_page_size;
    let page = Page::from_params(&ctx.params, max.min(10_000), max)?;
    let mut query = EncodedQuery::parse(param(&ctx.params, "sysparm_query").unwrap_or(""), table);
    for (key, value) in ctx
        .params
        .iter()
        .filter(|(k, _)| !k.starts_with("sysparm_"))
    {
        query.and_equals(key, value, table);
    }
    let state = shared.lock();
    let acl = &state.behaviour.acl;
    if table_denied(acl, name, Access::Read) {
        return Err(not_authorized(&format!(
            "Read access to {name} denied by ACL"
        )));
    }
    let derived;
    let rows: Vec<&Fields> = match table.derived {
        Some(kind) => {
            derived = derived_rows(&shared.schema, &state, kind, &shared.started_on);
            derived.iter().collect()
        }
        None => state.rows(name).unwrap_or_default(),
    };
    let mut matching: Vec<&Fields> = rows.into_iter().filter(|r| query.matches(r)).collect();
    matching.sort_by(|a, b| query.compare(a, b));
    let total = matching.len();
    let options = RenderOptions::from_params(&ctx.params, &shared.base_url);
    // The limit is applied before ACLs, as on the real instance: a page can
    // come back short (even empty) while more rows exist.
    let result: Vec<Value> = matching
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .filter(|r| !record_denied(acl, name, sys_id_of(r), Access::Read))
        .map(|r| options.render(table, r))
        .collect();
    if ctx.v1 && result.is_empty() {
        return Err(no_record());
    }
    Ok(list_reply(shared, ctx, page, total, result).target(name, None))
}

fn sys_id_of(fields: &Fields) -> &str {
    fields.get("sys_id").map_or("", String::as_str)
}

fn list_reply(shared: &Shared, ctx: &Ctx, page: Page, total: usize, result: Vec<Value>) -> Reply {
    let mut reply = Reply::result(200, Value::Array(result));
    if param(&ctx.params, "sysparm_no_count") != Some("true") {
        reply = reply.header("X-Total-Count", total.to_string());
    }
    if param(&ctx.params, "sysparm_suppress_pagination_header") != Some("true") {
        if let Some(link) = page.link_header(&shared.base_url, &ctx.path, &ctx.params, total) {
            reply = reply.header("Link", link);
        }
    }
    reply
}

/// `GET /api/now/table/{table}/{sys_id}`.
pub(crate) fn get(shared: &Shared, ctx: &Ctx, name: &str, sys_id: &str) -> Result<Reply, Reply> {
    let table = table(shared, name)?;
    let state = shared.lock();
    if record_denied(&state.behaviour.acl, name, sys_id, Access::Read) {
        return Err(not_authorized(&format!(
            "Read access to {name} denied by ACL"
        )));
    }
    let row = match table.derived {
        Some(kind) => derived_rows(&shared.schema, &state, kind, &shared.started_on)
            .into_iter()
            .find(|r| sys_id_of(r) == sys_id),
        None => state.record(name, sys_id).cloned(),
    };
    let row = row.ok_or_else(no_record)?;
    let options = RenderOptions::from_params(&ctx.params, &shared.base_url);
    Ok(Reply::result(200, options.render(table, &row)).target(name, Some(sys_id)))
}

/// The request body as one JSON object (of an array, the first element is
/// used, as documented).
fn body_object(ctx: &Ctx) -> Result<Map<String, Value>, Reply> {
    if let Some(content_type) = &ctx.content_type {
        if !content_type.to_ascii_lowercase().contains("json") {
            let detail =
                format!("Content-Type {content_type} is not supported; use application/json");
            return Err(Reply::error(415, "Unsupported Media Type", Some(&detail)));
        }
    }
    let value: Value = serde_json::from_slice(&ctx.body)
        .map_err(|e| bad_request("Exception while reading request", &e.to_string()))?;
    let value = match value {
        Value::Array(items) => items.into_iter().next().unwrap_or(Value::Null),
        other => other,
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(bad_request(
            "Exception while reading request",
            "The payload is not a JSON object",
        )),
    }
}

/// Copies the writable fields of `body` into `fields`; true if any changed.
fn apply(table: &ResolvedTable, fields: &mut Fields, body: &Map<String, Value>) -> bool {
    let mut changed = false;
    for (name, value) in body {
        if name.starts_with("sys_") || table.column(name).is_none() {
            continue;
        }
        let value = to_field_string(value);
        if fields.get(name) != Some(&value) {
            fields.insert(name.clone(), value);
            changed = true;
        }
    }
    changed
}

/// A new record of `table`: every column, empty unless `body` sets it,
/// and the server's `sys_*` fields.
pub(crate) fn new_record(
    table: &ResolvedTable,
    body: &Map<String, Value>,
    sys_id: &str,
    user: &str,
) -> Fields {
    let mut fields: Fields = table
        .columns
        .iter()
        .map(|c| (c.column.name.clone(), String::new()))
        .collect();
    apply(table, &mut fields, body);
    let now = now_glide();
    for (key, value) in [
        ("sys_id", sys_id),
        ("sys_created_on", &now),
        ("sys_created_by", user),
        ("sys_updated_on", &now),
        ("sys_updated_by", user),
        ("sys_mod_count", "0"),
        ("sys_class_name", &table.name),
    ] {
        fields.insert(key.to_owned(), value.to_owned());
    }
    fields
}

/// `POST /api/now/table/{table}`.
pub(crate) fn insert(shared: &Shared, ctx: &Ctx, name: &str) -> Result<Reply, Reply> {
    let table = writable(shared, name)?;
    let body = body_object(ctx)?;
    let chosen = body
        .get("sys_id")
        .and_then(Value::as_str)
        .filter(|id| is_sys_id(id));
    let sys_id = chosen.map_or_else(new_sys_id, str::to_owned);
    let mut state = shared.lock();
    if record_denied(&state.behaviour.acl, name, &sys_id, Access::Write) {
        return Err(not_authorized(
            "ACL Exception Insert Failed due to security constraints",
        ));
    }
    if state.record(name, &sys_id).is_some() {
        let detail = format!("Error during insert of {name} ({sys_id}): duplicate sys_id");
        return Err(Reply::error(403, "Operation Failed", Some(&detail)));
    }
    let fields = new_record(table, &body, &sys_id, &ctx.user);
    let seq = state.next_seq();
    let stored = StoredRecord {
        seq,
        fields: fields.clone(),
    };
    state
        .records
        .entry(name.to_owned())
        .or_default()
        .insert(sys_id.clone(), stored);
    drop(state);
    let options = RenderOptions::from_params(&ctx.params, &shared.base_url);
    let location = format!("{}/api/now/table/{name}/{sys_id}", shared.base_url);
    Ok(Reply::result(201, options.render(table, &fields))
        .header("Location", location)
        .target(name, Some(&sys_id))
        .record_sha256(content_sha256(&fields)))
}

/// `PUT` and `PATCH /api/now/table/{table}/{sys_id}`.
pub(crate) fn update(shared: &Shared, ctx: &Ctx, name: &str, sys_id: &str) -> Result<Reply, Reply> {
    let table = writable(shared, name)?;
    let body = body_object(ctx)?;
    let mut state = shared.lock();
    if record_denied(&state.behaviour.acl, name, sys_id, Access::Write) {
        return Err(not_authorized(
            "ACL Exception Update Failed due to security constraints",
        ));
    }
    let record = state
        .records
        .get_mut(name)
        .and_then(|records| records.get_mut(sys_id))
        .ok_or_else(no_record)?;
    if apply(table, &mut record.fields, &body) {
        let count = record
            .fields
            .get("sys_mod_count")
            .and_then(|c| c.parse::<u64>().ok());
        let fields = &mut record.fields;
        fields.insert("sys_mod_count".into(), (count.unwrap_or(0) + 1).to_string());
        fields.insert("sys_updated_on".into(), now_glide());
        fields.insert("sys_updated_by".into(), ctx.user.clone());
    }
    let fields = record.fields.clone();
    drop(state);
    let options = RenderOptions::from_params(&ctx.params, &shared.base_url);
    Ok(Reply::result(200, options.render(table, &fields))
        .target(name, Some(sys_id))
        .record_sha256(content_sha256(&fields)))
}

/// `DELETE /api/now/table/{table}/{sys_id}`; the record's attachments go
/// with it.
pub(crate) fn delete(shared: &Shared, name: &str, sys_id: &str) -> Result<Reply, Reply> {
    writable(shared, name)?;
    let mut state = shared.lock();
    if record_denied(&state.behaviour.acl, name, sys_id, Access::Write) {
        return Err(not_authorized(
            "ACL Exception Delete Failed due to security constraints",
        ));
    }
    let removed = state.records.get_mut(name).and_then(|r| r.remove(sys_id));
    if removed.is_none() {
        return Err(no_record());
    }
    state.attachments.retain(|_, a| {
        !(a.meta.get("table_name").is_some_and(|t| t == name)
            && a.meta.get("table_sys_id").is_some_and(|id| id == sys_id))
    });
    Ok(Reply::empty(204).target(name, Some(sys_id)))
}
