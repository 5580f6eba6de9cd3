//! Walking a list (`GET /api/now/table/{table}` or `/api/now/attachment`)
//! page by page with `sysparm_limit` / `sysparm_offset`.
//!
//! ServiceNow applies the limit before its ACLs [documented], so a page may
//! hold fewer records than asked (even none) while more follow: a short
//! page never ends the walk. The walk goes on while the `Link` header has a
//! `rel="next"` (its `sysparm_offset` is used when readable, in case the
//! instance capped the limit), or while `X-Total-Count` counts rows past
//! this page; with neither header (not expected: the connector never asks
//! to suppress them) it goes on until a page comes back empty.

use reqwest::Method;

use super::answer::{NextLink, Record};
use super::http::{Call, Effect, Instance};
use crate::target::TargetError;

/// One page of a list and where the next one starts (`None`: the last).
#[derive(Debug)]
pub(super) struct Page {
    pub records: Vec<Record>,
    pub next: Option<usize>,
}

/// What a list request is about, for messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Listing<'a> {
    pub path: &'a [&'a str],
    /// The table listed (`sys_attachment` for attachments).
    pub table: &'a str,
}

/// The page at `offset` of `listing` with the given query parameters.
pub(super) async fn page(
    instance: &Instance,
    listing: Listing<'_>,
    query: &[(&'static str, String)],
    offset: usize,
) -> Result<Page, TargetError> {
    let limit = instance.page_size;
    let mut params = query.to_vec();
    params.push(("sysparm_limit", limit.to_string()));
    params.push(("sysparm_offset", offset.to_string()));
    let call = Call {
        method: Method::GET,
        path: listing.path,
        query: params,
        body: None,
        effect: Effect::Read,
    };
    let answer = instance.call(&call).await?;
    if !answer.is_success() {
        let text = instance.error_text(&answer);
        return Err(match answer.status {
            // "Invalid table", an ACL denying the table, or (v1) no rows.
            400 | 403 | 404 => TargetError::NoTable(format!("{} ({text})", listing.table)),
            _ => TargetError::Protocol(format!("listing {}: {text}", listing.table)),
        });
    }
    let records = answer
        .records()
        .map_err(|e| TargetError::Protocol(format!("listing {}: {e}", listing.table)))?;
    let following = offset.saturating_add(limit);
    let next = match (answer.next_link(), answer.total_count()) {
        (NextLink::Next(Some(at)), _) if at > offset => Some(at),
        (NextLink::Next(_), _) => Some(following),
        (_, Some(total)) => (following < total).then_some(following),
        (NextLink::Last, None) => None,
        (NextLink::Absent, None) => (!records.is_empty()).then_some(following),
    };
    Ok(Page { records, next })
}
