//! Inbound REST rate limiting as ServiceNow documents it: a per-user budget
//! of requests per window; over it the instance answers 429 with
//! `Retry-After`, and while a rule applies every response carries
//! `X-RateLimit-Limit`/`-Reset`/`-Rule`. A scripted burst ("the next K
//! requests get 429") lets a test hit the 429 path without counting.
//! Counts are exact here (the real instance flushes them every 30 s).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// `sys_id` reported in `X-RateLimit-Rule` (a fixed fake rule record).
pub const RULE_SYS_ID: &str = "5f3a1c2b9d8e4f60a7b8c9d0e1f2a3b4";

/// Limit figure reported by a burst when no rule is configured: the
/// figure of the example in ServiceNow's documentation.
const BURST_DEFAULT_LIMIT: u32 = 100;

/// A rate limit rule: `requests` per `window_secs`, counted per user.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    #[serde(default = "hour")]
    pub window_secs: u64,
}

fn hour() -> u64 {
    3600
}

/// "The next `count` requests get 429 with `Retry-After: retry_after_secs`".
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Burst {
    pub count: u32,
    #[serde(default = "one")]
    pub retry_after_secs: u64,
}

fn one() -> u64 {
    1
}

/// Headers and, when refused, the retry delay for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RateDecision {
    /// `X-RateLimit-*` headers to add (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// `Some(seconds)` when the request is refused with 429.
    pub retry_after: Option<u64>,
    /// Text of the 429 body's `detail`.
    pub detail: String,
}

#[derive(Debug, Default)]
pub(crate) struct RateState {
    windows: HashMap<String, Window>,
    burst_left: u32,
    burst_retry_after: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    started_epoch: i64,
    count: u32,
}

impl RateState {
    pub fn start_burst(&mut self, burst: Burst) {
        self.burst_left = burst.count;
        self.burst_retry_after = burst.retry_after_secs;
    }

    pub fn burst_left(&self) -> u32 {
        self.burst_left
    }

    /// Counts one authenticated request of `user` and decides on it.
    pub fn check(&mut self, rule: Option<RateLimit>, user: &str, api: &str) -> RateDecision {
        if self.burst_left > 0 {
            self.burst_left -= 1;
            let limit = rule.map_or(BURST_DEFAULT_LIMIT, |r| r.requests);
            let window = rule.map_or(3600, |r| r.window_secs);
            let reset = now_epoch() + secs_i64(self.burst_retry_after);
            return RateDecision {
                headers: headers(limit, reset),
                retry_after: Some(self.burst_retry_after),
                detail: detail(limit, window, api),
            };
        }
        let Some(rule) = rule else {
            return RateDecision {
                headers: Vec::new(),
                retry_after: None,
                detail: String::new(),
            };
        };
        let window = self.count(rule, user);
        let window_len = Duration::from_secs(rule.window_secs);
        let left = window_len.saturating_sub(window.started.elapsed());
        let reset = window.started_epoch + secs_i64(rule.window_secs);
        RateDecision {
            headers: headers(rule.requests, reset),
            retry_after: (window.count > rule.requests).then(|| left.as_secs().max(1)),
            detail: detail(rule.requests, rule.window_secs, api),
        }
    }

    fn count(&mut self, rule: RateLimit, user: &str) -> Window {
        let fresh = Window {
            started: Instant::now(),
            started_epoch: now_epoch(),
            count: 0,
        };
        let window = self.windows.entry(user.to_owned()).or_insert(fresh);
        if window.started.elapsed() >= Duration::from_secs(rule.window_secs) {
            *window = fresh;
        }
        window.count = window.count.saturating_add(1);
        *window
    }
}

fn headers(limit: u32, reset_epoch: i64) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-reset", reset_epoch.to_string()),
        ("x-ratelimit-rule", RULE_SYS_ID.to_owned()),
    ]
}

fn detail(limit: u32, window_secs: u64, api: &str) -> String {
    let per = if window_secs == 3600 {
        "hour".to_owned()
    } else {
        format!("{window_secs} seconds")
    };
    format!("Rate limit of {limit} requests per {per} for {api} exceeded")
}

fn now_epoch() -> i64 {
    chrono::Utc::now().timestamp()
}

fn secs_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_budget_per_user() {
        let mut state = RateState::default();
        let rule = Some(RateLimit {
            requests: 2,
            window_secs: 60,
        });
        assert_eq!(state.check(rule, "a", "Table API").retry_after, None);
        assert_eq!(state.check(rule, "a", "Table API").retry_after, None);
        let third = state.check(rule, "a", "Table API");
        assert!(third.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(third.headers[0], ("x-ratelimit-limit", "2".to_owned()));
        assert_eq!(state.check(rule, "b", "Table API").retry_after, None);
    }

    #[test]
    fn a_burst_refuses_exactly_k_requests() {
        let mut state = RateState::default();
        state.start_burst(Burst {
            count: 2,
            retry_after_secs: 7,
        });
        assert_eq!(state.check(None, "a", "Table API").retry_after, Some(7));
        assert_eq!(state.check(None, "a", "Table API").retry_after, Some(7));
        assert_eq!(state.check(None, "a", "Table API").retry_after, None);
    }
}
