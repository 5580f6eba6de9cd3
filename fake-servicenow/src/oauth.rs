//! `POST /oauth_token.do`, ServiceNow's OAuth token endpoint. It takes a
//! form-encoded body only (a JSON body is refused) and answers tokens in
//! the documented shape; failures use the OAuth error shape
//! (`{"error", "error_description"}`), not the REST error envelope.

use poem::http::Method;
use poem::Request;
use serde_json::json;

use crate::reply::Reply;
use crate::state::Shared;
use crate::urlencoded::decode;

pub(crate) fn token_endpoint(shared: &Shared, req: &Request, body: &[u8]) -> Reply {
    if req.method() != Method::POST {
        return Reply::error(405, "Method not Supported", None);
    }
    let form = req
        .content_type()
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Reply::json(
            400,
            json!({"error": "invalid_request",
                "error_description": "Content-Type must be application/x-www-form-urlencoded"}),
        );
    }
    let reply = match shared.lock().auth.token(&decode(body)) {
        Ok(token) => Reply::json(200, token),
        Err(error) => Reply::json(error.status, error.body),
    };
    reply.header("Cache-Control", "no-store")
}
