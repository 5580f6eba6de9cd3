//! `JsonBody<T>`: the JSON request payload every operation takes.
//!
//! poem-openapi's own `Json` is lenient (it turns a number into a string)
//! and its messages do not name the offending field. This payload first
//! deserialises strictly with serde, reporting the field's path
//! (`tenants[1]: invalid type: integer, expected a string`), then applies
//! the schema's validators through poem-openapi, so what the document
//! promises is exactly what is accepted.

use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::error::ParseRequestPayloadError;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A strictly parsed JSON request body.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(mime) if mime.type_() == "application"
            && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

fn rejected(reason: String) -> poem::Error {
    ParseRequestPayloadError { reason }.into()
}

impl<T: ParseFromJSON + DeserializeOwned> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        if data.is_empty() {
            return Err(rejected(
                "the request body is empty; a JSON object is required".to_owned(),
            ));
        }
        let value: Value = serde_json::from_slice(&data)
            .map_err(|e| rejected(format!("the body is not valid JSON: {e}")))?;
        let mut track = serde_path_to_error::Track::new();
        let strict = serde_path_to_error::Deserializer::new(&value, &mut track);
        if let Err(error) = T::deserialize(strict) {
            let path = track.path().to_string();
            let error = error.to_string();
            return Err(rejected(if path == "." {
                error
            } else {
                format!("field `{path}`: {error}")
            }));
        }
        let parsed = T::parse_from_json(Some(value)).map_err(|e| rejected(e.into_message()))?;
        Ok(Self(parsed))
    }
}

impl<'a, T: ParseFromJSON + DeserializeOwned> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> Result<Self> {
        match request.content_type() {
            Some(content_type) if Self::check_content_type(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(content_type) => Err(poem_openapi::error::ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into()),
            None => Err(poem_openapi::error::ContentTypeError::ExpectContentType.into()),
        }
    }
}
