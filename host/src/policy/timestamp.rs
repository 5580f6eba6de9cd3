//! Timestamps at the policy boundary. The API speaks RFC 3339; WIT carries
//! unix seconds. Inputs accept either (an author's case file may use
//! whichever is handier) and always serialise as RFC 3339.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Either {
    Seconds(i64),
    Text(String),
}

fn parse<E: serde::de::Error>(value: Either) -> Result<DateTime<Utc>, E> {
    match value {
        Either::Seconds(s) => DateTime::from_timestamp(s, 0)
            .ok_or_else(|| E::custom(format!("unix time {s} is out of range"))),
        Either::Text(t) => DateTime::parse_from_rfc3339(&t)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| E::custom(format!("`{t}` is not an RFC 3339 timestamp: {e}"))),
    }
}

pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    parse(Either::deserialize(d)?)
}

/// The same for `Option<DateTime<Utc>>` (null or absent is `None`).
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D>(d: D) -> Result<Option<DateTime<Utc>>, D::Error>
    where
        D: Deserializer<'de>,
    {
        Option::<Either>::deserialize(d)?.map(parse).transpose()
    }
}
