//! Every error the suite provokes is checked against the OpenAPI document:
//! its status must be one the operation declares, and its `reason_code`
//! one that status lists. A refusal the service gives but the document
//! does not declare fails the test that provoked it.

use std::sync::OnceLock;

use serde_json::Value;

struct Operation {
    method: String,
    segments: Vec<String>,
    responses: Value,
}

fn operations() -> &'static Vec<Operation> {
    static OPERATIONS: OnceLock<Vec<Operation>> = OnceLock::new();
    OPERATIONS.get_or_init(|| {
        let doc: Value = serde_json::from_str(&rrs::api::spec_json()).expect("the document");
        let mut out = Vec::new();
        for (path, methods) in doc["paths"].as_object().expect("paths") {
            for (method, op) in methods.as_object().expect("methods") {
                out.push(Operation {
                    method: method.to_uppercase(),
                    segments: path.split('/').map(str::to_owned).collect(),
                    responses: op["responses"].clone(),
                });
            }
        }
        out
    })
}

fn matches(template: &[String], path: &str) -> bool {
    let actual: Vec<&str> = path.split('/').collect();
    actual.len() == template.len()
        && template
            .iter()
            .zip(&actual)
            .all(|(t, a)| (t.starts_with('{') && !a.is_empty()) || t == a)
}

/// Panics when an error answer of `method path` is not declared.
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    if status < 400 {
        return;
    }
    let path = path.split('?').next().unwrap_or(path);
    let Some(op) = operations()
        .iter()
        .find(|op| op.method == method && matches(&op.segments, path))
    else {
        return; // no such route: route_not_found / method_not_allowed
    };
    let response = &op.responses[status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which its operation does not declare: {body}"
    );
    let schema = &response["content"]["application/json; charset=utf-8"]["schema"];
    let allowed: Vec<&str> = schema["properties"]["reason_code"]["enum"]
        .as_array()
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let code = body["reason_code"].as_str().unwrap_or("<none>");
    assert!(
        allowed.contains(&code),
        "{method} {path} answered {status} {code}, not declared for it ({allowed:?})"
    );
}
