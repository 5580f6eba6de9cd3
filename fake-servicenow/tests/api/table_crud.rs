//! Insert, read, update, delete through the Table API, and who owns the
//! `sys_*` fields.

use reqwest::Method;
use serde_json::json;

use crate::common::{assert_error, is_glide_date_time, is_sys_id, Fake, USER};

#[tokio::test]
async fn crud_round_trip_with_server_maintained_sys_fields() {
    let fake = Fake::start().await;
    let created = fake
        .write(
            Method::POST,
            "/api/now/table/incident",
            json!({
                "short_description": "Printer on fire",
                "priority": 2,
                "active": true,
                "sys_created_on": "2000-01-01 00:00:00",
                "sys_mod_count": "99",
                "sys_created_by": "mallory",
                "not_a_column": "dropped"
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let record = &created.body["result"];
    let sys_id = record["sys_id"].as_str().unwrap().to_owned();
    assert!(is_sys_id(&record["sys_id"]));
    let location = created.header("location").unwrap();
    assert_eq!(
        location,
        fake.url(&format!("/api/now/table/incident/{sys_id}"))
    );
    assert_eq!(record["priority"], "2", "numbers come back as strings");
    assert_eq!(record["active"], "true", "booleans come back as strings");
    assert_eq!(record["description"], "", "unset columns are empty strings");
    assert_eq!(record["sys_mod_count"], "0");
    assert_eq!(record["sys_created_by"], USER);
    assert_eq!(record["sys_updated_by"], USER);
    assert_eq!(record["sys_class_name"], "incident");
    assert!(is_glide_date_time(&record["sys_created_on"]));
    assert_ne!(record["sys_created_on"], "2000-01-01 00:00:00");
    assert_eq!(record["sys_created_on"], record["sys_updated_on"]);
    assert!(record.get("not_a_column").is_none());

    let path = format!("/api/now/table/incident/{sys_id}");
    let read = fake.get(&path).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["result"], *record);

    let patched = fake
        .write(
            Method::PATCH,
            &path,
            json!({"short_description": "Out of toner", "sys_mod_count": "7"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let after = &patched.body["result"];
    assert_eq!(after["short_description"], "Out of toner");
    assert_eq!(after["sys_mod_count"], "1");
    assert_eq!(after["sys_created_on"], record["sys_created_on"]);
    assert!(is_glide_date_time(&after["sys_updated_on"]));

    let unchanged = fake
        .write(
            Method::PATCH,
            &path,
            json!({"short_description": "Out of toner"}),
        )
        .await;
    assert_eq!(
        unchanged.body["result"]["sys_mod_count"], "1",
        "no change, no count"
    );

    let put = fake
        .write(Method::PUT, &path, json!({"priority": "3"}))
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.body["result"]["sys_mod_count"], "2");
    assert_eq!(
        put.body["result"]["short_description"], "Out of toner",
        "PUT merges"
    );

    let deleted = fake.delete(&path).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.text, "");
    let gone = fake.get(&path).await;
    assert_error(&gone, 404, "No Record found");
    assert_eq!(
        gone.body["error"]["detail"],
        "Record doesn't exist or ACL restricts the record retrieval"
    );
    assert_error(&fake.delete(&path).await, 404, "No Record found");
    let patch_missing = fake
        .write(Method::PATCH, &path, json!({"priority": "1"}))
        .await;
    assert_error(&patch_missing, 404, "No Record found");
}

#[tokio::test]
async fn client_chosen_sys_id_is_kept_and_a_duplicate_refused() {
    let fake = Fake::start().await;
    let chosen = "0123456789abcdef0123456789abcdef";
    let record = fake
        .insert(
            "incident",
            json!({"sys_id": chosen, "short_description": "x"}),
        )
        .await;
    assert_eq!(record["sys_id"], chosen);
    let again = fake
        .write(
            Method::POST,
            "/api/now/table/incident",
            json!({"sys_id": chosen}),
        )
        .await;
    assert_error(&again, 403, "Operation Failed");
    let malformed = fake
        .insert("incident", json!({"sys_id": "NOT-A-SYS-ID"}))
        .await;
    assert!(is_sys_id(&malformed["sys_id"]));
    assert_ne!(malformed["sys_id"], "NOT-A-SYS-ID");
    assert_eq!(fake.handle().records("incident").unwrap().len(), 2);
}

#[tokio::test]
async fn bad_requests_are_answered_with_the_error_envelope() {
    let fake = Fake::start().await;
    assert_error(
        &fake.get("/api/now/table/no_such_table").await,
        400,
        "Invalid table no_such_table",
    );
    let not_json = fake
        .send(
            fake.request(Method::POST, "/api/now/table/incident")
                .header("Content-Type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_error(&not_json, 400, "Exception while reading request");
    let xml = fake
        .send(
            fake.request(Method::POST, "/api/now/table/incident")
                .header("Content-Type", "application/xml")
                .body("<x/>"),
        )
        .await;
    assert_error(&xml, 415, "Unsupported Media Type");
    let derived = fake
        .write(
            Method::POST,
            "/api/now/table/sys_dictionary",
            json!({"name": "x"}),
        )
        .await;
    assert_error(&derived, 403, "User Not Authorized");
    let xml_only = fake
        .send(
            fake.client
                .get(fake.url("/api/now/table/incident"))
                .basic_auth("admin", Some("admin-password"))
                .header("Accept", "application/xml"),
        )
        .await;
    assert_error(&xml_only, 406, "Not Acceptable");
    let unknown = fake.get("/api/now/stats/incident").await;
    assert_error(
        &unknown,
        400,
        "Requested URI does not represent any resource",
    );
}

#[tokio::test]
async fn array_bodies_insert_their_first_record_and_no_body_header_is_honoured() {
    let fake = Fake::start().await;
    let first = fake
        .insert(
            "incident",
            json!([{"short_description": "first"}, {"short_description": "second"}]),
        )
        .await;
    assert_eq!(first["short_description"], "first");
    assert_eq!(fake.handle().records("incident").unwrap().len(), 1);
    let quiet = fake
        .send(
            fake.request(Method::POST, "/api/now/table/incident")
                .header("X-no-response-body", "true")
                .json(&json!({"short_description": "quiet"})),
        )
        .await;
    assert_eq!(quiet.status, 201);
    assert_eq!(quiet.text, "");
    assert!(quiet.header("location").is_some());
}
