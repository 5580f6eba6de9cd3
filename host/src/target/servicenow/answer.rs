//! What the instance answered, read the way ServiceNow writes it: records
//! in `{"result": ...}` with every value a string (a reference may still
//! come as `{"value": ..}`: only its value is kept), failures in
//! `{"error": {"message", "detail"}, "status": "failure"}` (or the OAuth
//! endpoint's `{"error", "error_description"}`), and the paging headers
//! `X-Total-Count` and `Link`.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

/// A record as the instance returned it.
pub(super) type Record = Map<String, Value>;

/// One HTTP answer, body read whole.
pub(super) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Status and size only: a token endpoint's body holds a token.
impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What the `Link` header says of the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NextLink {
    /// No `Link` header (ServiceNow leaves it out when all fits one page).
    Absent,
    /// A `Link` header without `rel="next"`: this is the last page.
    Last,
    /// `rel="next"`, with its `sysparm_offset` when it has a readable one.
    Next(Option<usize>),
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The value of `{"result": ...}`.
    pub fn result(&self) -> Result<Value, String> {
        let mut body: Value = serde_json::from_slice(&self.body)
            .map_err(|e| format!("{} answer is not JSON: {e}", self.status))?;
        match body.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(format!("{} answer has no \"result\"", self.status)),
        }
    }

    /// The records of a list answer, references flattened to their value.
    pub fn records(&self) -> Result<Vec<Record>, String> {
        match self.result()? {
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(record) => Ok(plain(record)),
                    _ => Err("a list answer holds something else than records".to_owned()),
                })
                .collect(),
            _ => Err("a list answer's \"result\" is not an array".to_owned()),
        }
    }

    /// The one record of a write's answer.
    pub fn record(&self) -> Result<Record, String> {
        match self.result()? {
            Value::Object(record) => Ok(plain(record)),
            _ => Err("the answer's \"result\" is not a record".to_owned()),
        }
    }

    /// `"<status> <message>: <detail>"` from whichever error shape the body
    /// has (detail left out when empty), or the status alone.
    pub fn error_text(&self) -> String {
        let body: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let (message, detail) = match body.get("error") {
            Some(Value::Object(error)) => (
                error.get("message").and_then(text),
                error.get("detail").and_then(text),
            ),
            Some(other) => (text(other), body.get("error_description").and_then(text)),
            None => (None, None),
        };
        match (message, detail) {
            (Some(m), Some(d)) => format!("{} {m}: {d}", self.status),
            (Some(m), None) | (None, Some(m)) => format!("{} {m}", self.status),
            (None, None) => format!("{} (no error text)", self.status),
        }
    }

    /// `X-Total-Count`: the rows the query matches, all pages together.
    pub fn total_count(&self) -> Option<usize> {
        let value = self.headers.get("x-total-count")?.to_str().ok()?;
        value.trim().parse().ok()
    }

    /// What `Link` says of the next page.
    pub fn next_link(&self) -> NextLink {
        let Some(header) = self
            .headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .reduce(|_, last| last)
        else {
            return NextLink::Absent;
        };
        link_targets(header)
            .into_iter()
            .find(|(_, rel)| rel.split_whitespace().any(|r| r == "next"))
            .map_or(NextLink::Last, |(url, _)| NextLink::Next(offset_of(url)))
    }
}

/// A record whose values are all plain: `{"value": "x", ...}` -> `"x"`.
fn plain(record: Record) -> Record {
    record
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                Value::Object(mut object) => match object.remove("value") {
                    Some(inner) => inner,
                    None => Value::Object(object),
                },
                other => other,
            };
            (name, value)
        })
        .collect()
}

/// `(url, rel)` of each `<url>;rel="..."` of a `Link` header. URLs are
/// taken between `<` and `>`, so a comma inside one (an unencoded
/// `sys_idINa,b`) does not split it.
fn link_targets(header: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let url = &after[..end];
        let params = &after[end + 1..];
        let params = &params[..params.find('<').unwrap_or(params.len())];
        let rel = params
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .map(|r| r.trim().trim_end_matches(',').trim().trim_matches('"'))
            .next()
            .unwrap_or("");
        out.push((url, rel));
        rest = &after[end + 1..];
    }
    out
}

/// The `sysparm_offset` of a page URL.
fn offset_of(url: &str) -> Option<usize> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("sysparm_offset="))
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderValue, LINK};

    use super::*;

    fn answer(status: u16, body: &str, link: Option<&'static str>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(link) = link {
            headers.insert(LINK, HeaderValue::from_static(link));
        }
        headers.insert("x-total-count", HeaderValue::from_static("12"));
        Answer {
            status,
            headers,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn reads_the_link_header_whatever_its_commas() {
        let link = "<https://i/api/now/table/t?sysparm_query=sys_idINa,b&sysparm_offset=0&sysparm_limit=5>;rel=\"first\",\
            <https://i/api/now/table/t?sysparm_query=sys_idINa,b&sysparm_offset=5&sysparm_limit=5>;rel=\"next\",\
            <https://i/api/now/table/t?sysparm_offset=10&sysparm_limit=5>;rel=\"last\"";
        assert_eq!(
            answer(200, "", Some(link)).next_link(),
            NextLink::Next(Some(5))
        );
        let last = "<https://i/t?sysparm_offset=0>;rel=\"first\",<https://i/t?sysparm_offset=0>;rel=\"last\"";
        assert_eq!(answer(200, "", Some(last)).next_link(), NextLink::Last);
        assert_eq!(answer(200, "", None).next_link(), NextLink::Absent);
        assert_eq!(answer(200, "", None).total_count(), Some(12));
    }

    #[test]
    fn reads_records_and_errors() {
        let list = answer(
            200,
            r#"{"result":[{"sys_id":"a","caller":{"link":"l","value":"u1"}}]}"#,
            None,
        );
        let records = list.records().unwrap();
        assert_eq!(records[0]["caller"], "u1");
        let error = answer(
            403,
            r#"{"error":{"message":"User Not Authorized","detail":"ACL"},"status":"failure"}"#,
            None,
        );
        assert_eq!(error.error_text(), "403 User Not Authorized: ACL");
        let oauth = answer(
            401,
            r#"{"error":"server_error","error_description":"access_denied"}"#,
            None,
        );
        assert_eq!(oauth.error_text(), "401 server_error: access_denied");
        let null_detail = answer(
            400,
            r#"{"error":{"message":"Invalid table x","detail":null}}"#,
            None,
        );
        assert_eq!(null_detail.error_text(), "400 Invalid table x");
        assert_eq!(
            answer(502, "<html>", None).error_text(),
            "502 (no error text)"
        );
    }
}
