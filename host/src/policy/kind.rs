//! The three kinds of policy decision. A kind fixes the WIT world a plugin
//! must export and the table it is configured under in the policy file.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which decision a policy makes (`GET /v1/policies` `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// The gate of a dry-run plan (world `gate`).
    Gate,
    /// The capability check of execute and resume (world `capability`).
    Capability,
    /// The media caps of execute and resume (world `media-caps`).
    MediaCaps,
}

impl PolicyKind {
    /// Every kind, in the order a policy set is loaded and listed.
    pub const ALL: [PolicyKind; 3] = [Self::Gate, Self::Capability, Self::MediaCaps];

    /// The API and configuration name: `gate`, `capability`, `media_caps`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gate => "gate",
            Self::Capability => "capability",
            Self::MediaCaps => "media_caps",
        }
    }

    /// The WIT world a plugin of this kind exports.
    pub fn world(self) -> &'static str {
        match self {
            Self::Gate => "gate",
            Self::Capability => "capability",
            Self::MediaCaps => "media-caps",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PolicyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gate" => Ok(Self::Gate),
            "capability" => Ok(Self::Capability),
            "media_caps" | "media-caps" => Ok(Self::MediaCaps),
            other => Err(format!(
                "unknown policy kind `{other}` (expected gate, capability or media_caps)"
            )),
        }
    }
}
