//! Paging, one way for every list: rows are keyed by an ascending integer
//! (a sequence number or a plan row id), a page asks for the rows after a
//! key, and the answer says the key to continue after when more follow.
//! Keys rather than offsets keep pages stable while rows are added.

/// Which rows a page wants: those with a key above `after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: i64,
    pub limit: u32,
}

impl PageRequest {
    /// The first `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self { after: 0, limit }
    }

    /// How many rows to fetch to know whether another page follows.
    pub fn fetch(&self) -> u64 {
        u64::from(self.limit) + 1
    }
}

/// A page of rows and the key of its last row when more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// Splits rows fetched with [`PageRequest::fetch`] into the page and
    /// its continuation key.
    pub fn of(mut rows: Vec<T>, request: PageRequest, key: impl Fn(&T) -> i64) -> Self {
        let limit = request.limit as usize;
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&key)
        } else {
            None
        };
        Self {
            items: rows,
            next_after,
        }
    }

    /// The same page with each row converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_after: self.next_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_continues_only_when_more_rows_were_fetched() {
        let request = PageRequest { after: 0, limit: 2 };
        assert_eq!(request.fetch(), 3);
        let page = Page::of(vec![1, 2, 3], request, |n| *n);
        assert_eq!((page.items, page.next_after), (vec![1, 2], Some(2)));
        let page = Page::of(vec![1, 2], request, |n| *n);
        assert_eq!((page.items, page.next_after), (vec![1, 2], None));
    }
}
