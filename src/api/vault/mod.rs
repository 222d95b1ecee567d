//! Apideck's Vault: where consumers' connections and their settings live.

pub mod authorize;
pub mod connections;
pub mod consumers;
pub mod custom_mappings;
pub mod sessions;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::Error;

/// A write body that must be a JSON object, with Apideck's errors when it is not.
fn object_body(body: &[u8]) -> Result<Map<String, Value>, Error> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            Error::validation(
                "The body must be a JSON object",
                json!({ "body": "expected an object" }),
            )
        } else {
            Error::malformed_body(&e)
        }
    })
}

/// Vault's envelope: `{status_code, status, data}`, without the CRM envelope's service keys.
fn respond(status: StatusCode, data: Value) -> Response {
    let body = json!({
        "status_code": status.as_u16(),
        "status": status.canonical_reason().unwrap_or("OK"),
        "data": data,
    });
    (status, Json(body)).into_response()
}
