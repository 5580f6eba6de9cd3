//! The binary announces its address and serves the configured tables.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rrs-fake-servicenow"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--user",
            "admin",
            "--password",
            "pw",
        ])
        .args([
            "--table",
            "cmdb_ci:name,owner=ref:sys_user",
            "--table",
            "sys_user:user_name",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let reply = client
        .post(format!("{base}/api/now/table/cmdb_ci"))
        .basic_auth("admin", Some("pw"))
        .json(&serde_json::json!({"name": "db01", "owner": "0123456789abcdef0123456789abcdef"}))
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let body: serde_json::Value = reply.json().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["result"]["owner"]["link"],
        format!("{base}/api/now/table/sys_user/0123456789abcdef0123456789abcdef")
    );
}
