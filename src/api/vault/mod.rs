//! Apideck's Vault: where consumers' connections and their settings live.

pub mod connections;
pub mod consumers;
pub mod custom_mappings;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Vault's envelope: `{status_code, status, data}`, without the CRM envelope's service keys.
fn respond(status: StatusCode, data: Value) -> Response {
    let body = json!({
        "status_code": status.as_u16(),
        "status": status.canonical_reason().unwrap_or("OK"),
        "data": data,
    });
    (status, Json(body)).into_response()
}
