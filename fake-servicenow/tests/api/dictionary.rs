//! Schema discovery the way a client does it on a real instance.

use serde_json::json;

use crate::common::{assert_error, Fake};

#[tokio::test]
async fn sys_dictionary_lists_a_tables_columns() {
    let fake = Fake::start().await;
    let reply = fake
        .get(
            "/api/now/table/sys_dictionary?sysparm_query=name=incident^elementISNOTEMPTY\
             &sysparm_fields=name,element,internal_type,reference,max_length\
             &sysparm_exclude_reference_link=true",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["result"],
        json!([
            {"name": "incident", "element": "caller_id", "internal_type": "reference",
             "reference": "sys_user", "max_length": "32"},
            {"name": "incident", "element": "category", "internal_type": "string",
             "reference": "", "max_length": "40"},
        ])
    );
    let inherited = fake
        .get("/api/now/table/sys_dictionary?sysparm_query=nameINincident,task^element=short_description&sysparm_fields=name")
        .await;
    assert_eq!(
        inherited.body["result"],
        json!([{"name": "task"}]),
        "inherited columns live on the parent"
    );

    let with_links = fake
        .get("/api/now/table/sys_dictionary?sysparm_query=name=task^element=priority&sysparm_fields=internal_type")
        .await;
    assert_eq!(
        with_links.body["result"][0]["internal_type"],
        json!({"link": fake.url("/api/now/table/sys_glide_object/integer"), "value": "integer"})
    );
    let table_row = fake
        .get("/api/now/table/sys_dictionary?sysparm_query=name=incident^elementISEMPTY")
        .await;
    assert_eq!(table_row.header("x-total-count"), Some("1"));
}

#[tokio::test]
async fn sys_db_object_links_a_table_to_its_parent() {
    let fake = Fake::start().await;
    let reply = fake
        .get("/api/now/table/sys_db_object?sysparm_query=nameINincident,task&sysparm_exclude_reference_link=true")
        .await;
    let rows = reply.body["result"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap().clone();
    assert_eq!(row("incident")["super_class"], row("task")["sys_id"]);
    assert_eq!(row("task")["super_class"], "");
    let path = format!(
        "/api/now/table/sys_db_object/{}",
        row("task")["sys_id"].as_str().unwrap()
    );
    assert_eq!(fake.get(&path).await.body["result"]["name"], "task");
    let delete = fake.delete(&path).await;
    assert_error(&delete, 403, "User Not Authorized");
}
