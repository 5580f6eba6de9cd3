//! The checked-in OpenAPI document is a golden file: this fails when the
//! code's document drifts from `openapi/openapi.json`. Set
//! `RRS_UPDATE_OPENAPI=1` to rewrite it.

use serde_json::Value;

fn checked_in_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn document_matches_checked_in_copy() {
    let generated = rrs::api::spec_json();
    let path = checked_in_path();
    if std::env::var_os("RRS_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, format!("{generated}\n")).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `RRS_UPDATE_OPENAPI=1 cargo test -p rrs-tests --test e2e openapi` and commit it"
    );
}

#[test]
fn every_operation_is_named_described_and_tagged() {
    let spec: Value = serde_json::from_str(&rrs::api::spec_json()).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{id} is not snake_case"
            );
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(
                op["summary"].is_string() && op["description"].is_string(),
                "{method} {path} undocumented"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} untagged"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{id} {status}"
                );
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    param["description"].is_string(),
                    "{id}: parameter {} undocumented",
                    param["name"]
                );
            }
        }
    }
}

#[test]
fn every_schema_field_and_enum_is_described() {
    let spec: Value = serde_json::from_str(&rrs::api::spec_json()).unwrap();
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        assert!(
            schema["description"].is_string(),
            "schema {name} has no description"
        );
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            let described = prop["description"].is_string()
                || prop["allOf"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|p| p["description"].is_string()));
            assert!(described, "{name}.{field} has no description");
        }
    }
}

/// The checked-in document is valid OpenAPI 3 by `openapi-spec-validator`
/// (pinned in `.ci/requirements.txt`).
#[tokio::test]
async fn checked_in_document_validates() {
    use rrs_tests::tools::{repository_root, run, tool};
    let validator = tool("openapi-spec-validator");
    let (valid, log) =
        run(tokio::process::Command::new(validator)
            .arg(repository_root().join("openapi/openapi.json")))
        .await;
    assert!(valid, "openapi/openapi.json does not validate:\n{log}");
    assert!(log.contains("OK"), "{log}");
}

/// Every operation has an example of its request body (when it takes one)
/// and of its main success response (when that has a body other than raw
/// bytes), and every example matches its schema in the checked-in document
/// (`tests/clients/check_examples.py`, with `jsonschema` from the tools'
/// environment). The examples are `host/src/api/examples.json`, captured
/// from a running service by `tests/clients/capture_examples.py`.
#[tokio::test]
async fn every_operation_has_examples_matching_its_schemas() {
    use rrs_tests::tools::{repository_root, run, tool};
    let root = repository_root();
    let (ok, log) = run(tokio::process::Command::new(tool("python"))
        .arg(root.join("tests/clients/check_examples.py"))
        .arg(root.join("openapi/openapi.json")))
    .await;
    assert!(
        ok,
        "examples are missing or do not match their schemas (capture them with tests/clients/capture_examples.py):\n{log}"
    );
}
