//! Which methods each path accepts, read from the OpenAPI document, so a
//! `405 Method Not Allowed` can carry the `Allow` header RFC 9110 requires.

use serde_json::Value;

/// Path templates of the document and their methods.
#[derive(Debug, Clone, Default)]
pub struct RouteMethods {
    routes: Vec<(Vec<Segment>, String)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param,
}

impl RouteMethods {
    /// Builds the table from a document's `paths`.
    pub fn from_document(document: &str) -> Self {
        let Ok(doc) = serde_json::from_str::<Value>(document) else {
            return Self::default();
        };
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return Self::default();
        };
        let routes = paths
            .iter()
            .map(|(path, item)| {
                let mut methods: Vec<String> = item
                    .as_object()
                    .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".to_owned());
                }
                (parse(path), methods.join(", "))
            })
            .collect();
        Self { routes }
    }

    /// The `Allow` value for a request path (`GET` for paths outside the
    /// document, such as `/docs`).
    pub fn allow(&self, path: &str) -> String {
        let wanted: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .find(|(segments, _)| {
                segments.len() == wanted.len()
                    && segments.iter().zip(&wanted).all(|(s, w)| match s {
                        Segment::Literal(lit) => lit == w,
                        Segment::Param => !w.is_empty(),
                    })
            })
            .map(|(_, methods)| methods.clone())
            .unwrap_or_else(|| "GET, HEAD".to_owned())
    }
}

fn parse(template: &str) -> Vec<Segment> {
    template
        .trim_matches('/')
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                Segment::Param
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates() {
        let table = RouteMethods::from_document(
            r#"{"paths":{"/v1/jobs/{job_id}":{"get":{}},"/v1/jobs":{"get":{},"post":{}}}}"#,
        );
        assert_eq!(table.allow("/v1/jobs/j1"), "GET, HEAD");
        assert_eq!(table.allow("/v1/jobs"), "GET, POST, HEAD");
        assert_eq!(table.allow("/docs"), "GET, HEAD");
    }
}
