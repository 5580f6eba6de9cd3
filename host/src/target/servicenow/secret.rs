//! Credentials kept out of every text the connector produces: a [`Secret`]
//! never shows in a `Debug` output, and [`scrub`] removes the known secrets
//! from a message (an instance's error text, a transport error) before it
//! becomes a `TargetError`, a row's message or a log line.

use std::fmt;

/// A password, client secret or access token.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// What stands for a secret in a text.
pub(super) const REDACTED: &str = "[redacted]";

/// `text` with every occurrence of each secret replaced by [`REDACTED`].
pub(super) fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if !secret.0.is_empty() && out.contains(&secret.0) {
            out = out.replace(&secret.0, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows() {
        let secret = Secret::new("hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(
            scrub("bad password hunter2 for hunter2", &[&secret]),
            "bad password [redacted] for [redacted]"
        );
        assert_eq!(scrub("kept", &[&Secret::new(String::new())]), "kept");
    }
}
