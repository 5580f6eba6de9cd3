//! How long to wait before retrying a request the instance answered `429`
//! or `503` (or, for a read, any 5xx or a lost connection): exponential
//! from 100 ms, jittered (a random point in the upper half, so clients that
//! failed together do not retry together), never shorter than the
//! instance's `Retry-After`, never longer than `max_backoff_ms`.
//!
//! A `Retry-After` longer than `max_backoff_ms` is cut to it: the retry then
//! most likely meets another `429` and counts against `retries`, after
//! which the call reports the instance unavailable and the domain waits
//! longer than any one request should.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The first retry's nominal delay.
const BASE: Duration = Duration::from_millis(100);

/// Retries and their delays.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    /// Retries after the first attempt.
    pub retries: u32,
    max: Duration,
}

impl Backoff {
    pub fn new(retries: u32, max_backoff_ms: u64) -> Self {
        Self {
            retries,
            max: Duration::from_millis(max_backoff_ms),
        }
    }

    /// The wait before retry `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let nominal = BASE
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.max);
        let half = nominal / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let jittered = half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms));
        jittered.max(retry_after.unwrap_or_default()).min(self.max)
    }
}

/// `Retry-After` in seconds, as ServiceNow sends it (an HTTP date is not
/// expected from it and is ignored).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn delays_grow_jittered_and_capped() {
        let backoff = Backoff::new(5, 1_000);
        for _ in 0..50 {
            let first = backoff.delay(0, None);
            assert!((50..=100).contains(&first.as_millis()), "{first:?}");
            let third = backoff.delay(2, None);
            assert!((200..=400).contains(&third.as_millis()), "{third:?}");
            assert!(backoff.delay(30, None) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let backoff = Backoff::new(5, 30_000);
        let wait = backoff.delay(0, Some(Duration::from_secs(2)));
        assert_eq!(wait, Duration::from_secs(2));
        let capped = Backoff::new(5, 500).delay(0, Some(Duration::from_secs(2)));
        assert_eq!(capped, Duration::from_millis(500));
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015"));
        assert_eq!(retry_after(&headers), None);
    }
}
