//! The finishing touches of the OpenAPI document, applied to what
//! poem-openapi generates, so the served and the checked-in document are
//! one and generated clients take it without a warning:
//!
//! - an optional property is `nullable` (the service writes absent values
//!   as `null` and accepts `null`), and a documented reference is a
//!   one-member `allOf` beside its description (poem-openapi adds a second,
//!   description-only member that generators refuse);
//! - each operation lists only the errors it can answer, each with the
//!   `reason_code` values it may carry as an enum (`operation_errors`);
//! - request schemas refuse unknown properties (`additionalProperties:
//!   false`), as the service does, a tagged union's variants included
//!   (merged into one object with the tag);
//! - request and response examples (`examples.json`) and the links that
//!   lead from a dry-run to its job and from a job to its operations.

use serde_json::{json, Map, Value};

use super::operation_errors::errors_of;
use crate::domain::ReasonCode;

/// Examples by `operationId`: `request` (a body) and `responses` (status ->
/// body).
const EXAMPLES: &str = include_str!("examples.json");

/// The document with `server_url` as its server.
pub fn finish(raw: &str, server_url: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(raw) else {
        return raw.to_owned();
    };
    mark_optional_nullable(&mut doc);
    doc["servers"] = json!([{ "url": server_url, "description": "this service" }]);
    let examples: Value = serde_json::from_str(EXAMPLES).unwrap_or_default();
    let request_schemas = request_schemas(&doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operations in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in operations.values_mut() {
                finish_operation(operation, &examples);
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.remove("ErrorBody");
        for name in &request_schemas {
            if let Some(Value::Object(schema)) = schemas.get_mut(name) {
                if schema.contains_key("properties") {
                    schema
                        .entry("additionalProperties")
                        .or_insert(Value::Bool(false));
                }
            }
        }
    }
    merge_object_all_of(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| raw.to_owned())
}

fn finish_operation(operation: &mut Value, examples: &Value) {
    let Some(id) = operation["operationId"].as_str().map(str::to_owned) else {
        return;
    };
    let example = &examples[&id];
    if let Some(responses) = operation["responses"].as_object_mut() {
        let retry_after = responses.get("503").and_then(|r| r.get("headers")).cloned();
        responses.retain(|status, _| !status.starts_with('4') && !status.starts_with('5'));
        for (status, codes) in errors_of(&id).unwrap_or_default() {
            let mut response = error_response(status, &codes);
            if status == 503 {
                if let Some(headers) = &retry_after {
                    response["headers"] = headers.clone();
                }
            }
            responses.insert(status.to_string(), response);
        }
        for (status, response) in responses.iter_mut() {
            if let Some(body) = example["responses"].get(status.as_str()) {
                set_example(response, body);
            }
            if let Some(links) = links_of(&id, status) {
                response["links"] = links;
            }
        }
    }
    if let Some(body) = example.get("request") {
        if let Some(request) = operation.get_mut("requestBody") {
            set_example(request, body);
        }
    }
}

fn set_example(target: &mut Value, example: &Value) {
    if let Some(content) = target.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            media["example"] = example.clone();
        }
    }
}

/// What each error status means, for the response's description.
fn status_description(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed: bad JSON, a missing, unknown or mistyped field, an unknown enum value or an unacceptable value.",
        401 => "No valid credentials: no, an unknown or a revoked token, or an expired one.",
        403 => "Refused: a capability the token lacks, a tenant outside its scope, or a policy's refusal.",
        404 => "Not found, or not visible to this caller (another tenant's ids do not exist for it).",
        409 => "The request conflicts with the resource's state; `reason_code` says which rule.",
        413 => "The body is larger than the configured limit.",
        415 => "The body is not JSON: send `Content-Type: application/json`.",
        500 => "The server failed; nothing about the cause leaks.",
        503 => "The database (or, for readiness, the service) cannot serve now; retry after `Retry-After` seconds.",
        _ => "An error.",
    }
}

fn error_response(status: u16, codes: &[ReasonCode]) -> Value {
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    json!({
        "description": status_description(status),
        "content": {
            "application/json; charset=utf-8": {
                "schema": {
                    "type": "object",
                    "description": "The body of every error response.",
                    "required": ["reason_code", "message"],
                    "properties": {
                        "reason_code": {
                            "type": "string",
                            "enum": names,
                            "description": "Stable, machine-readable reason; the runbooks (docs/runbooks.md) say what each means and what to do."
                        },
                        "message": {
                            "type": "string",
                            "description": "Human-readable explanation; its wording may change."
                        },
                        "details": {
                            "type": "object",
                            "additionalProperties": {},
                            "nullable": true,
                            "description": "Structured context for the reason (for example `missing_capabilities`)."
                        }
                    }
                },
                "example": {
                    "reason_code": names.first().copied().unwrap_or("internal_error"),
                    "message": status_description(status)
                }
            }
        }
    })
}

/// The OpenAPI links of a success response: from a plan to the job made
/// from it, from a job to everything done with it, from a paused
/// execution to its resume, from an issued token to its revocation and
/// from a written target table to its read.
fn links_of(operation_id: &str, status: &str) -> Option<Value> {
    let job = |target: &str| json!({ "operationId": target, "parameters": { "job_id": "$response.body#/job_id" } });
    match (operation_id, status) {
        ("dry_run_plan", "200" | "201") => Some(json!({
            "CreateJob": {
                "operationId": "create_job",
                "requestBody": { "plan_id": "$response.body#/plan_id", "plan_hash": "$response.body#/plan_hash" },
                "description": "Create a job from this plan."
            },
            "GetPlan": { "operationId": "get_plan", "parameters": { "plan_id": "$response.body#/plan_id" } },
            "ListPlanRows": { "operationId": "list_plan_rows", "parameters": { "plan_id": "$response.body#/plan_id" } }
        })),
        ("create_job", "201") => {
            let targets = [
                ("GetJob", "get_job"),
                ("ListJobEvents", "list_job_events"),
                ("ExecuteJob", "execute_job"),
                ("GetExecution", "get_execution"),
                ("GetCheckpoint", "get_checkpoint"),
                ("ResumeJob", "resume_job"),
                ("GetRollbackJournal", "get_rollback_journal"),
                ("CompleteJob", "complete_job"),
                ("GetEvidence", "get_evidence"),
                ("ExportEvidence", "export_evidence"),
                ("DownloadEvidencePackage", "download_evidence_package"),
            ];
            Some(Value::Object(
                targets
                    .iter()
                    .map(|(name, target)| ((*name).to_owned(), job(target)))
                    .collect::<Map<_, _>>(),
            ))
        }
        // A paused execution (and its checkpoint) leads to the resume that
        // expects its checksums; the finished one to its evidence.
        ("execute_job" | "resume_job", "202") | ("get_checkpoint", "200") => Some(json!({
            "ResumeJob": resume_link(),
            "GetCheckpoint": job("get_checkpoint"),
            "GetExecution": job("get_execution"),
        })),
        ("execute_job" | "resume_job", "200") => Some(json!({
            "GetExecution": job("get_execution"),
            "GetRollbackJournal": job("get_rollback_journal"),
            "GetEvidence": job("get_evidence"),
            "ExportEvidence": job("export_evidence"),
            "DownloadEvidencePackage": job("download_evidence_package"),
        })),
        ("create_token", "201") => Some(json!({
            "RevokeToken": {
                "operationId": "revoke_token",
                "parameters": { "token_id": "$response.body#/token_id" },
                "description": "Revoke the token just issued."
            }
        })),
        ("put_target_table", "200") => Some(json!({
            "GetTargetTable": {
                "operationId": "get_target_table",
                "parameters": {
                    "tenant_id": "$response.body#/tenant_id",
                    "instance_id": "$response.body#/instance_id",
                    "table": "$response.body#/table"
                }
            }
        })),
        _ => None,
    }
}

/// Resume the job where its last execution paused: the checksums the
/// resume must expect are the ones this response reports.
fn resume_link() -> Value {
    json!({
        "operationId": "resume_job",
        "parameters": { "job_id": "$response.body#/job_id" },
        "requestBody": {
            "expected_plan_checksum": "$response.body#/plan_checksum",
            "expected_precondition_checksum": "$response.body#/precondition_checksum"
        },
        "description": "Resume from the checkpoint this response reports."
    })
}

/// The component schemas a request body reaches, directly or through
/// other components.
fn request_schemas(doc: &Value) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for operations in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in operations.as_object().into_iter().flat_map(|o| o.values()) {
            collect_refs(&operation["requestBody"], &mut pending);
        }
    }
    while let Some(name) = pending.pop() {
        if found.contains(&name) {
            continue;
        }
        collect_refs(&doc["components"]["schemas"][&name], &mut pending);
        found.push(name);
    }
    found
}

/// Merges each component that is an `allOf` of object schemas (a tagged
/// union's variant: the tag's property beside the variant's fields) into
/// one object schema with the properties and required fields of all its
/// members. As an `allOf`, a variant whose fields are closed
/// (`additionalProperties: false`) would forbid the tag, so no value could
/// match; merged, it lists the tag among its own closed properties.
fn merge_object_all_of(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let resolve = |member: &Value| -> Option<Map<String, Value>> {
        let member = match member
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            Some(name) => schemas.get(name)?,
            None => member,
        };
        let object = member.as_object()?;
        object.contains_key("properties").then(|| object.clone())
    };
    let Some(targets) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in targets.values_mut() {
        let Some(Value::Array(members)) = schema.get("allOf") else {
            continue;
        };
        if members.len() < 2 {
            continue;
        }
        let Some(parts) = members.iter().map(resolve).collect::<Option<Vec<_>>>() else {
            continue;
        };
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        let mut closed = false;
        for part in parts {
            for (name, prop) in part
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let mut prop = prop.clone();
                // The tag poem-openapi adds has no description of its own.
                let tag = prop_tag(prop.get("enum"));
                if let (Some(object), Some(tag)) = (prop.as_object_mut(), tag) {
                    object
                        .entry("description")
                        .or_insert_with(|| json!(format!("The variant's tag: always `{tag}`.")));
                }
                properties.insert(name.clone(), prop);
            }
            for name in part
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !required.contains(name) {
                    required.push(name.clone());
                }
            }
            closed |= part.get("additionalProperties") == Some(&Value::Bool(false));
        }
        if let Some(object) = schema.as_object_mut() {
            object.remove("allOf");
            object.insert("type".to_owned(), json!("object"));
            object.insert("properties".to_owned(), Value::Object(properties));
            object.insert("required".to_owned(), Value::Array(required));
            if closed {
                object.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
        }
    }
}

/// The one value of a single-value enum (a tag).
fn prop_tag(values: Option<&Value>) -> Option<String> {
    match values.and_then(Value::as_array).map(Vec::as_slice) {
        Some([Value::String(tag)]) => Some(tag.clone()),
        _ => None,
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Marks optional properties `nullable` and reduces a documented
/// reference to a one-member `allOf` with its description beside it.
fn mark_optional_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(all)) = map.get_mut("allOf") {
                let description_only = |m: &Value| {
                    m.as_object()
                        .is_some_and(|o| o.keys().all(|k| k == "description"))
                };
                all.retain(|m| !description_only(m));
            }
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
                            // A bare reference cannot carry `nullable`.
                            if let Some(reference) = prop.remove("$ref") {
                                prop.insert("allOf".to_owned(), json!([{ "$ref": reference }]));
                            }
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
