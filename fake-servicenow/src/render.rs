//! How records and pages leave the fake: every value a string, reference
//! columns as `{"link", "value"}` unless `sysparm_exclude_reference_link`
//! is true, `sysparm_fields` selecting columns, and the paging headers
//! (`X-Total-Count`, RFC 5988 `Link` with first/prev/next/last) that tell a
//! client how to walk a result with `sysparm_offset`.

use serde_json::{Map, Value};

use crate::reply::{bad_request, Reply};
use crate::schema::ResolvedTable;
use crate::urlencoded::encode;
use crate::values::Fields;

/// Query parameters as sent, in order.
pub(crate) type Params = Vec<(String, String)>;

/// The first value of a query parameter.
pub(crate) fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn flag(params: &Params, name: &str) -> bool {
    param(params, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Column selection and reference shape for rendering records.
#[derive(Debug, Clone)]
pub(crate) struct RenderOptions {
    fields: Option<Vec<String>>,
    exclude_reference_link: bool,
    base_url: String,
}

impl RenderOptions {
    pub fn from_params(params: &Params, base_url: &str) -> Self {
        let fields = param(params, "sysparm_fields")
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.split(',').map(|f| f.trim().to_owned()).collect());
        Self {
            fields,
            exclude_reference_link: flag(params, "sysparm_exclude_reference_link"),
            base_url: base_url.to_owned(),
        }
    }

    /// Renders one record; unknown names in `sysparm_fields` are ignored.
    pub fn render(&self, table: &ResolvedTable, fields: &Fields) -> Value {
        let mut out = Map::new();
        let names: Vec<&str> = match &self.fields {
            Some(list) => list.iter().map(String::as_str).collect(),
            None => table
                .columns
                .iter()
                .map(|c| c.column.name.as_str())
                .collect(),
        };
        for name in names {
            let Some(column) = table.column(name) else {
                continue;
            };
            let value = fields.get(name).cloned().unwrap_or_default();
            let rendered = match &column.reference {
                Some(target) if !value.is_empty() && !self.exclude_reference_link => {
                    let link = format!("{}/api/now/table/{target}/{value}", self.base_url);
                    serde_json::json!({ "link": link, "value": value })
                }
                _ => Value::String(value),
            };
            out.insert(name.to_owned(), rendered);
        }
        Value::Object(out)
    }
}

/// `sysparm_limit` / `sysparm_offset` of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub limit: usize,
    pub offset: usize,
}

impl Page {
    /// Reads the page; a limit above `max` is clamped, 0 counts as 1.
    pub fn from_params(params: &Params, default_limit: usize, max: usize) -> Result<Self, Reply> {
        let number = |name: &str, default: usize| match param(params, name) {
            None | Some("") => Ok(default),
            Some(v) => v.trim().parse::<usize>().map_err(|_| {
                bad_request(
                    "Invalid request",
                    &format!("{name} must be a non-negative integer"),
                )
            }),
        };
        Ok(Self {
            limit: number("sysparm_limit", default_limit)?.clamp(1, max.max(1)),
            offset: number("sysparm_offset", 0)?,
        })
    }

    /// The `Link` header for a result of `total` rows, `None` when it fits
    /// on one page. `path` is the request path; other parameters are echoed.
    pub fn link_header(
        &self,
        base_url: &str,
        path: &str,
        params: &Params,
        total: usize,
    ) -> Option<String> {
        if self.offset == 0 && total <= self.limit {
            return None;
        }
        let kept: Vec<String> = params
            .iter()
            .filter(|(k, _)| k != "sysparm_offset" && k != "sysparm_limit")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let url = |offset: usize| {
            let mut query = kept.clone();
            query.push(format!("sysparm_offset={offset}"));
            query.push(format!("sysparm_limit={}", self.limit));
            format!("<{base_url}{path}?{}>", query.join("&"))
        };
        let last = total.saturating_sub(1) / self.limit * self.limit;
        let mut links = vec![format!("{};rel=\"first\"", url(0))];
        if self.offset > 0 {
            let prev = self.offset.saturating_sub(self.limit);
            links.push(format!("{};rel=\"prev\"", url(prev)));
        }
        if self.offset + self.limit < total {
            links.push(format!("{};rel=\"next\"", url(self.offset + self.limit)));
        }
        links.push(format!("{};rel=\"last\"", url(last)));
        Some(links.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn link_header_walks_pages() {
        let p = params(&[
            ("sysparm_query", "active=true^ORDERBYsys_id"),
            ("sysparm_limit", "2"),
            ("sysparm_offset", "2"),
        ]);
        let page = Page::from_params(&p, 10_000, 10_000).unwrap();
        let link = page
            .link_header("http://h", "/api/now/table/task", &p, 5)
            .unwrap();
        let q = "sysparm_query=active%3Dtrue%5EORDERBYsys_id";
        assert_eq!(
            link,
            format!(
                "<http://h/api/now/table/task?{q}&sysparm_offset=0&sysparm_limit=2>;rel=\"first\",\
                 <http://h/api/now/table/task?{q}&sysparm_offset=0&sysparm_limit=2>;rel=\"prev\",\
                 <http://h/api/now/table/task?{q}&sysparm_offset=4&sysparm_limit=2>;rel=\"next\",\
                 <http://h/api/now/table/task?{q}&sysparm_offset=4&sysparm_limit=2>;rel=\"last\""
            )
        );
        assert_eq!(
            Page {
                limit: 10,
                offset: 0
            }
            .link_header("h", "/p", &p, 10),
            None
        );
    }

    #[test]
    fn limits_are_clamped_and_validated() {
        let page =
            Page::from_params(&params(&[("sysparm_limit", "50000")]), 10_000, 10_000).unwrap();
        assert_eq!(
            page,
            Page {
                limit: 10_000,
                offset: 0
            }
        );
        assert!(Page::from_params(&params(&[("sysparm_offset", "-1")]), 10, 10).is_err());
    }
}
