//! Apideck's `x-downstream-ratelimit-limit`, `-remaining` and `-reset` (Unix seconds) headers:
//! the vendor's own rate-limit account after the request's latest vendor call, on success and
//! error answers alike.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use crmgate_connector_sdk::RateLimitSlot;

const LIMIT: HeaderName = HeaderName::from_static("x-downstream-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-downstream-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-downstream-ratelimit-reset");

/// Middleware: gives the request a slot the outbound client fills, then copies it out.
pub async fn rate_limit_headers(mut request: Request, next: Next) -> Response {
    let slot = RateLimitSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let status = *slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(status) = status {
        let headers = response.headers_mut();
        headers.insert(LIMIT, HeaderValue::from(status.limit));
        headers.insert(REMAINING, HeaderValue::from(status.remaining));
        headers.insert(RESET, HeaderValue::from(status.reset));
    }
    response
}
