//! The peer's JSON and Matrix error responses, shared by the key endpoints ([`super::server`])
//! and the media endpoints ([`super::media`]).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A JSON response (axum's `json` feature is not enabled in this crate).
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) fn matrix_error(status: StatusCode, errcode: &str, error: &str) -> Response {
    json_response(status, &json!({"errcode": errcode, "error": error}))
}
