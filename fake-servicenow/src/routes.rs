//! Which documented operation a method and path name. The versioned forms
//! (`/api/now/v1/...`, `/api/now/v2/...`) are accepted beside the
//! unversioned one (= latest), as on a real instance.

use poem::http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    TableList {
        table: String,
    },
    TableGet {
        table: String,
        sys_id: String,
    },
    TableInsert {
        table: String,
    },
    TableUpdate {
        table: String,
        sys_id: String,
    },
    TableDelete {
        table: String,
        sys_id: String,
    },
    AttachmentList,
    AttachmentGet {
        sys_id: String,
    },
    AttachmentFile {
        sys_id: String,
    },
    AttachmentUpload,
    AttachmentDelete {
        sys_id: String,
    },
    /// A known resource, a method it does not support.
    MethodNotAllowed,
    /// Not a resource of the supported APIs.
    Unknown,
}

/// A parsed request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routed {
    pub route: Route,
    /// `/api/now/v1/...`: an empty list answers 404 (documented v1 quirk).
    pub v1: bool,
}

impl Routed {
    pub fn parse(method: &Method, path: &str) -> Self {
        let Some(rest) = path.strip_prefix("/api/now/") else {
            return Self {
                route: Route::Unknown,
                v1: false,
            };
        };
        let mut segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let v1 = segments.first() == Some(&"v1");
        if matches!(segments.first(), Some(&"v1" | &"v2")) {
            segments.remove(0);
        }
        let read = method == Method::GET || method == Method::HEAD;
        let route = match segments.as_slice() {
            ["table", table] => table_collection(method, read, table),
            ["table", table, sys_id] => table_record(method, read, table, sys_id),
            ["attachment"] if read => Route::AttachmentList,
            ["attachment", "file"] if method == Method::POST => Route::AttachmentUpload,
            ["attachment", sys_id] if read => Route::AttachmentGet {
                sys_id: (*sys_id).to_owned(),
            },
            ["attachment", sys_id] if method == Method::DELETE => Route::AttachmentDelete {
                sys_id: (*sys_id).to_owned(),
            },
            ["attachment", sys_id, "file"] if read => Route::AttachmentFile {
                sys_id: (*sys_id).to_owned(),
            },
            ["attachment", ..] => Route::MethodNotAllowed,
            _ => Route::Unknown,
        };
        Self { route, v1 }
    }
}

fn table_collection(method: &Method, read: bool, table: &str) -> Route {
    let table = table.to_owned();
    if read {
        Route::TableList { table }
    } else if method == Method::POST {
        Route::TableInsert { table }
    } else {
        Route::MethodNotAllowed
    }
}

fn table_record(method: &Method, read: bool, table: &str, sys_id: &str) -> Route {
    let (table, sys_id) = (table.to_owned(), sys_id.to_owned());
    if read {
        Route::TableGet { table, sys_id }
    } else if method == Method::PUT || method == Method::PATCH {
        Route::TableUpdate { table, sys_id }
    } else if method == Method::DELETE {
        Route::TableDelete { table, sys_id }
    } else {
        Route::MethodNotAllowed
    }
}

impl Route {
    /// Writes are what faults target and what the log hashes.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Route::TableInsert { .. }
                | Route::TableUpdate { .. }
                | Route::TableDelete { .. }
                | Route::AttachmentUpload
                | Route::AttachmentDelete { .. }
        )
    }

    /// The API name ServiceNow uses in rate-limit messages.
    pub fn api_name(&self) -> &'static str {
        match self {
            Route::AttachmentList
            | Route::AttachmentGet { .. }
            | Route::AttachmentFile { .. }
            | Route::AttachmentUpload
            | Route::AttachmentDelete { .. } => "Attachment API",
            _ => "Table API",
        }
    }

    /// Table and record named by the path, for the request log.
    pub fn target(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Route::TableList { table } | Route::TableInsert { table } => (Some(table), None),
            Route::TableGet { table, sys_id }
            | Route::TableUpdate { table, sys_id }
            | Route::TableDelete { table, sys_id } => (Some(table), Some(sys_id)),
            Route::AttachmentGet { sys_id }
            | Route::AttachmentFile { sys_id }
            | Route::AttachmentDelete { sys_id } => (Some("sys_attachment"), Some(sys_id)),
            Route::AttachmentList | Route::AttachmentUpload => (Some("sys_attachment"), None),
            Route::MethodNotAllowed | Route::Unknown => (None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_operations() {
        let route = |m: Method, p: &str| Routed::parse(&m, p).route;
        assert_eq!(
            route(Method::GET, "/api/now/table/incident"),
            Route::TableList {
                table: "incident".into()
            }
        );
        assert_eq!(
            route(Method::PATCH, "/api/now/v2/table/incident/abc"),
            Route::TableUpdate {
                table: "incident".into(),
                sys_id: "abc".into()
            }
        );
        assert_eq!(
            route(Method::POST, "/api/now/attachment/file"),
            Route::AttachmentUpload
        );
        assert_eq!(
            route(Method::GET, "/api/now/attachment/abc/file"),
            Route::AttachmentFile {
                sys_id: "abc".into()
            }
        );
        assert_eq!(
            route(Method::POST, "/api/now/table/incident/abc"),
            Route::MethodNotAllowed
        );
        assert_eq!(
            route(Method::GET, "/api/now/stats/incident"),
            Route::Unknown
        );
        assert!(Routed::parse(&Method::GET, "/api/now/v1/table/incident").v1);
    }
}
