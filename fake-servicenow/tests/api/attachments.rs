//! The Attachment API: upload, metadata, list, download, delete.

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{assert_error, Fake};

async fn upload(
    fake: &Fake,
    table: &str,
    sys_id: &str,
    name: &str,
    content: &[u8],
) -> crate::common::Reply {
    let path = format!(
        "/api/now/attachment/file?table_name={table}&table_sys_id={sys_id}&file_name={name}"
    );
    fake.send(
        fake.request(Method::POST, &path)
            .header("Content-Type", "application/pdf")
            .body(content.to_vec()),
    )
    .await
}

#[tokio::test]
async fn upload_list_download_delete() {
    let fake = Fake::start().await;
    let incident = fake.insert("incident", json!({"number": "INC1"})).await;
    let record_id = incident["sys_id"].as_str().unwrap();
    let content = b"%PDF-1.7 not really a pdf".to_vec();
    let sha = hex::encode(Sha256::digest(&content));

    let uploaded = upload(&fake, "incident", record_id, "report.pdf", &content).await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text);
    let meta = uploaded.body["result"].clone();
    let id = meta["sys_id"].as_str().unwrap().to_owned();
    assert_eq!(meta["file_name"], "report.pdf");
    assert_eq!(meta["content_type"], "application/pdf");
    assert_eq!(meta["size_bytes"], content.len().to_string());
    assert_eq!(meta["table_name"], "incident");
    assert_eq!(meta["table_sys_id"], record_id);
    assert_eq!(meta["hash"], sha);
    assert_eq!(
        meta["download_link"],
        fake.url(&format!("/api/now/attachment/{id}/file"))
    );
    assert!(crate::common::is_glide_date_time(&meta["sys_created_on"]));
    assert_eq!(
        uploaded.header("location"),
        Some(fake.url(&format!("/api/now/attachment/{id}")).as_str())
    );

    let query =
        format!("/api/now/attachment?sysparm_query=table_name=incident^table_sys_id={record_id}");
    let list = fake.get(&query).await;
    assert_eq!(list.header("x-total-count"), Some("1"));
    assert_eq!(list.body["result"], json!([meta.clone()]));
    let plain = fake
        .get(&format!(
            "/api/now/attachment?table_name=incident&table_sys_id={record_id}"
        ))
        .await;
    assert_eq!(plain.body["result"].as_array().unwrap().len(), 1);
    let none = fake
        .get("/api/now/attachment?sysparm_query=table_name=task")
        .await;
    assert_eq!(none.body["result"], json!([]));

    assert_eq!(
        fake.get(&format!("/api/now/attachment/{id}")).await.body["result"],
        meta
    );
    let file = fake
        .client
        .get(fake.url(&format!("/api/now/attachment/{id}/file")))
        .basic_auth("admin", Some("admin-password"))
        .header("Accept", "*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    let header_meta: Value =
        serde_json::from_str(file.headers()["x-attachment-metadata"].to_str().unwrap()).unwrap();
    assert_eq!(header_meta["hash"], sha);
    assert_eq!(file.bytes().await.unwrap().to_vec(), content);

    assert_eq!(
        fake.delete(&format!("/api/now/attachment/{id}"))
            .await
            .status,
        204
    );
    assert_error(
        &fake.get(&format!("/api/now/attachment/{id}")).await,
        404,
        "No Record found",
    );
    assert!(fake.handle().attachments().is_empty());
}

#[tokio::test]
async fn upload_needs_an_existing_record_and_its_parameters() {
    let fake = Fake::start().await;
    let missing = upload(
        &fake,
        "incident",
        "0123456789abcdef0123456789abcdef",
        "a.txt",
        b"x",
    )
    .await;
    assert_error(&missing, 404, "No Record found");
    let bad_table = upload(
        &fake,
        "nope",
        "0123456789abcdef0123456789abcdef",
        "a.txt",
        b"x",
    )
    .await;
    assert_error(&bad_table, 400, "Invalid table nope");
    let no_name = fake
        .send(
            fake.request(
                Method::POST,
                "/api/now/attachment/file?table_name=incident&table_sys_id=x",
            )
            .header("Content-Type", "text/plain")
            .body("x"),
        )
        .await;
    assert_error(&no_name, 400, "Bad Request");
    assert!(fake.handle().attachments().is_empty());
}

#[tokio::test]
async fn deleting_a_record_deletes_its_attachments() {
    let fake = Fake::start().await;
    let incident = fake.insert("incident", json!({})).await;
    let record_id = incident["sys_id"].as_str().unwrap();
    assert_eq!(
        upload(&fake, "incident", record_id, "a.txt", b"one")
            .await
            .status,
        201
    );
    assert_eq!(fake.handle().attachments().len(), 1);
    let path = format!("/api/now/table/incident/{record_id}");
    assert_eq!(fake.delete(&path).await.status, 204);
    assert!(fake.handle().attachments().is_empty());
}
