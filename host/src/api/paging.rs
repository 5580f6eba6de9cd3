//! Paging for list endpoints and long embedded lists.
//!
//! Lists answer `{"items": [...], "next_cursor": ...}` with `?limit=`
//! (default 100, at most 1000) and an opaque `?cursor=`. The cursor is the
//! last key served (a row's sequence number), so pages stay stable while
//! rows are added; its shape (digits) is in the schema so that every
//! schema-valid cursor is accepted.
//! Embedded row lists (outcomes, journal, events) default to 1000.

use super::error::ApiError;

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 100;
/// Default page size of long lists embedded in a document.
pub const DEFAULT_EMBEDDED_LIMIT: u32 = 1000;
/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows to return.
    pub limit: u32,
    /// The last key of the previous page, decoded.
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates `?limit=` and decodes `?cursor=` (`400 invalid_request`
    /// for a cursor this service did not issue).
    pub fn new(limit: Option<u32>, cursor: Option<String>, default: u32) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(default).clamp(1, MAX_LIMIT);
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(
                decode(&cursor).ok_or_else(|| ApiError::invalid("cursor is not a valid cursor"))?,
            ),
        };
        Ok(Self { limit, after })
    }
}

/// Encodes the last key of a page as a cursor.
pub fn encode(last_key: &str) -> String {
    last_key.to_owned()
}

fn decode(cursor: &str) -> Option<String> {
    (!cursor.is_empty() && cursor.len() <= 18 && cursor.bytes().all(|b| b.is_ascii_digit()))
        .then(|| cursor.to_owned())
}

/// Splits `limit + 1` fetched rows into the page and its `next_cursor`.
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|row| encode(&key(row)));
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let page = PageRequest::new(Some(5), Some(encode("42")), DEFAULT_LIMIT).unwrap();
        assert_eq!(page.after.as_deref(), Some("42"));
        assert_eq!(page.limit, 5);
        assert!(PageRequest::new(None, Some("!!!".into()), DEFAULT_LIMIT).is_err());
        assert!(PageRequest::new(None, Some("12a".into()), DEFAULT_LIMIT).is_err());
        assert_eq!(
            PageRequest::new(Some(5000), None, DEFAULT_LIMIT)
                .unwrap()
                .limit,
            MAX_LIMIT
        );
        assert_eq!(
            PageRequest::new(None, None, DEFAULT_LIMIT).unwrap().limit,
            DEFAULT_LIMIT
        );
    }

    #[test]
    fn finish_sets_cursor_only_when_more_rows_exist() {
        let (page, next) = finish(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page, vec![1, 2]);
        assert_eq!(next, Some(encode("2")));
        let (page, next) = finish(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(page, vec![1, 2]);
        assert_eq!(next, None);
    }
}
