//! Paging on the wire: `?limit=` (default 100 for lists, 1000 for long
//! lists embedded in a document; at most 1000) and an opaque `?cursor=`
//! that is the key of the last row served. The cursor's shape (digits) is
//! in the schema, so every schema-valid cursor is accepted; it is parsed
//! here once into the domain's [`PageRequest`].

use crate::domain::paging::PageRequest;

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 100;
/// Default page size of long lists embedded in a document.
pub const DEFAULT_EMBEDDED_LIMIT: u32 = 1000;
/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;

/// The page a list call asks for. The schema admits only 1-18 digits as a
/// cursor, which always parses; anything else reads as the first page.
pub fn request(limit: Option<u32>, cursor: Option<&str>, default: u32) -> PageRequest {
    PageRequest {
        after: cursor.and_then(|c| c.parse().ok()).unwrap_or(0),
        limit: limit.unwrap_or(default).clamp(1, MAX_LIMIT),
    }
}

/// The `next_cursor` of a page.
pub fn cursor(next_after: Option<i64>) -> Option<String> {
    next_after.map(|key| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_and_cursors_are_keys() {
        assert_eq!(
            request(Some(5), Some("42"), DEFAULT_LIMIT),
            PageRequest {
                after: 42,
                limit: 5
            }
        );
        assert_eq!(request(Some(5000), None, DEFAULT_LIMIT).limit, MAX_LIMIT);
        assert_eq!(
            request(None, None, DEFAULT_EMBEDDED_LIMIT).limit,
            DEFAULT_EMBEDDED_LIMIT
        );
        assert_eq!(cursor(Some(7)).as_deref(), Some("7"));
        assert_eq!(cursor(None), None);
    }
}
