//! A fake per test, a client, and replies as tests look at them.

use reqwest::header::HeaderMap;
use reqwest::RequestBuilder;
use rrs_fake_servicenow::{Config, FakeHandle, FakeServiceNow, Running};
use serde_json::{Map, Value};

pub const USER: &str = "admin";
pub const PASSWORD: &str = "admin-password";
pub const CLIENT_ID: &str = "rrs-connector";
pub const CLIENT_SECRET: &str = "connector-secret";
/// The OAuth application user tokens of `CLIENT_ID` act as.
pub const APP_USER: &str = "svc_rrs";

pub fn config() -> Config {
    Config::new()
        .demo_tables()
        .basic_user(USER, PASSWORD)
        .oauth_client(CLIENT_ID, CLIENT_SECRET, APP_USER)
}

pub struct Fake {
    pub running: Running,
    pub client: reqwest::Client,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Fake {
    pub async fn start() -> Self {
        Self::start_with(config()).await
    }

    pub async fn start_with(config: Config) -> Self {
        Self {
            running: FakeServiceNow::start(config).await.unwrap(),
            client: reqwest::Client::new(),
        }
    }

    pub fn handle(&self) -> &FakeHandle {
        &self.running.handle
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    /// A request authenticated as `USER` with HTTP Basic.
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/json")
    }

    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn write(&self, method: reqwest::Method, path: &str, body: Value) -> Reply {
        self.send(self.request(method, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Inserts through the Table API; returns the `result`.
    pub async fn insert(&self, table: &str, body: Value) -> Value {
        let path = format!("/api/now/table/{table}");
        let reply = self.write(reqwest::Method::POST, &path, body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body["result"].clone()
    }

    /// Seeds records directly (no API request).
    pub fn seed(&self, table: &str, rows: Vec<Value>) -> Vec<rrs_fake_servicenow::Fields> {
        let rows: Vec<Map<String, Value>> = rows
            .into_iter()
            .map(|r| r.as_object().unwrap().clone())
            .collect();
        self.handle().seed(table, rows).unwrap()
    }
}

/// `{"error":{"message":..,"detail":..},"status":"failure"}` with this message.
pub fn assert_error(reply: &Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.body["status"], "failure", "{}", reply.text);
    assert_eq!(reply.body["error"]["message"], message, "{}", reply.text);
    assert!(
        reply.body["error"].get("detail").is_some(),
        "{}",
        reply.text
    );
}

/// `YYYY-MM-DD HH:MM:SS`.
pub fn is_glide_date_time(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").is_ok()
}

pub fn is_sys_id(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
