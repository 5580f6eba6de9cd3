//! Wire types shared by several resources.

use poem_openapi::Enum;

use crate::domain::principal::Capability;

/// A capability: `restore_read` (read plans, jobs and their documents),
/// `restore_plan` (dry-runs), `restore_execute` (jobs, execute, resume),
/// `restore_delete` (plans that delete rows), `restore_override_caps`
/// (exceed media caps and other high-risk scopes), `evidence_export`,
/// `index_write` (sidecar ingestion and target set-up), `ops_admin`
/// (`/v1/admin/*` and token issuance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "snake_case", remote = "Capability")]
#[serde(rename_all = "snake_case")]
pub enum CapabilityName {
    RestoreRead,
    RestorePlan,
    RestoreExecute,
    RestoreDelete,
    RestoreOverrideCaps,
    EvidenceExport,
    IndexWrite,
    OpsAdmin,
}

/// An RFC 3339 UTC timestamp written with `Z` (`2026-11-20T10:00:00Z`),
/// as the contract shows them; any RFC 3339 offset is accepted on input
/// and converted to UTC. Use it for every timestamp on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub chrono::DateTime<chrono::Utc>);

impl Timestamp {
    /// The wire form.
    pub fn to_wire(&self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

impl From<chrono::DateTime<chrono::Utc>> for Timestamp {
    fn from(at: chrono::DateTime<chrono::Utc>) -> Self {
        Timestamp(at)
    }
}

impl From<Timestamp> for chrono::DateTime<chrono::Utc> {
    fn from(at: Timestamp) -> Self {
        at.0
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_wire())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|at| Timestamp(at.with_timezone(&chrono::Utc)))
            .map_err(|e| {
                serde::de::Error::custom(format!("{text:?} is not an RFC 3339 timestamp: {e}"))
            })
    }
}

mod timestamp_openapi {
    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
    use poem_openapi::types::{
        ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
    };
    use serde_json::Value;

    use super::Timestamp;

    impl Type for Timestamp {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn name() -> Cow<'static, str> {
            "string_date-time".into()
        }

        fn schema_ref() -> MetaSchemaRef {
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
        }

        fn as_raw_value(&self) -> Option<&Self::RawValueType> {
            Some(self)
        }

        fn raw_element_iter<'a>(
            &'a self,
        ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
            Box::new(self.as_raw_value().into_iter())
        }
    }

    fn parse(text: &str) -> ParseResult<Timestamp> {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| Timestamp(at.with_timezone(&chrono::Utc)))
            .map_err(|e| ParseError::custom(format!("{text:?} is not an RFC 3339 timestamp: {e}")))
    }

    impl ParseFromJSON for Timestamp {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            match value.unwrap_or_default() {
                Value::String(text) => parse(&text),
                other => Err(ParseError::expected_type(other)),
            }
        }
    }

    impl ParseFromParameter for Timestamp {
        fn parse_from_parameter(value: &str) -> ParseResult<Self> {
            parse(value)
        }
    }

    impl ToJSON for Timestamp {
        fn to_json(&self) -> Option<Value> {
            Some(Value::String(self.to_wire()))
        }
    }
}

/// The OpenAPI face of the domain's [`ReasonCode`]: a string enum schema
/// listing every code, so generated clients get a typed enum and the
/// document says which values a `reason_code` can take.
mod reason_code_openapi {
    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
    use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
    use serde_json::Value;
    use strum::IntoEnumIterator;

    use crate::domain::ReasonCode;

    impl Type for ReasonCode {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn name() -> Cow<'static, str> {
            "ReasonCode".into()
        }

        fn schema_ref() -> MetaSchemaRef {
            MetaSchemaRef::Reference(Self::name().into_owned())
        }

        fn register(registry: &mut Registry) {
            registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
                description: Some(
                    "A stable, machine-readable reason. Each has an entry in the runbooks \
                     (docs/runbooks.md): what it means, what to check, what to do.",
                ),
                enum_items: ReasonCode::iter()
                    .map(|c| Value::from(c.as_str()))
                    .collect(),
                ..MetaSchema::new("string")
            });
        }

        fn as_raw_value(&self) -> Option<&Self::RawValueType> {
            Some(self)
        }

        fn raw_element_iter<'a>(
            &'a self,
        ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
            Box::new(self.as_raw_value().into_iter())
        }
    }

    impl ParseFromJSON for ReasonCode {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            match value.unwrap_or_default() {
                Value::String(text) => ReasonCode::parse(&text)
                    .ok_or_else(|| ParseError::custom(format!("unknown reason code {text:?}"))),
                other => Err(ParseError::expected_type(other)),
            }
        }
    }

    impl ToJSON for ReasonCode {
        fn to_json(&self) -> Option<Value> {
            Some(Value::from(self.as_str()))
        }
    }
}
