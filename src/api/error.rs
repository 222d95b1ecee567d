//! The one place where errors become HTTP: Apideck's error body, with `Retry-After` when the
//! vendor asked for one.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                type_name = self.type_name(),
                message = self.message(),
                "Request failed."
            );
        } else {
            tracing::debug!(
                status = status.as_u16(),
                type_name = self.type_name(),
                message = self.message(),
                "Request refused."
            );
        }
        let mut body = json!({
            "status_code": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "type_name": self.type_name(),
            "message": self.message(),
            "ref": format!("https://developers.apideck.com/errors#{}", self.type_name().to_ascii_lowercase()),
        });
        // The contract types `detail`, and each downstream error's `detail` and `code`, as
        // strings or objects that are never null: what is unknown is left out.
        if !self.detail().is_null() {
            body["detail"] = self.detail().clone();
        }
        if !self.downstream().is_empty() {
            body["downstream_errors"] = self
                .downstream()
                .iter()
                .map(|d| {
                    let mut error = json!({ "message": d.message });
                    if let Some(detail) = &d.detail {
                        error["detail"] = json!(detail);
                    }
                    if let Some(code) = &d.code {
                        error["code"] = json!(code);
                    }
                    error
                })
                .collect();
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after() {
            // Rounded up: a client that comes back a fraction early meets the same 429.
            let secs = after
                .as_secs()
                .saturating_add(u64::from(after.subsec_nanos() > 0))
                .max(1)
                .to_string();
            if let Ok(value) = HeaderValue::from_str(&secs) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
