//! Request ids: a client's `x-request-id` is kept (when it is a short visible string), otherwise
//! one is generated; it is returned on every response (also as Apideck's `Request-Id`) and is a
//! field of the request's tracing span, so every log line of the request carries it.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const APIDECK_REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const MAX_LEN: usize = 128;

fn generate() -> String {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).expect("the operating system provides randomness");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

fn accepted(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    (!text.is_empty() && text.len() <= MAX_LEN && text.bytes().all(|b| b.is_ascii_graphic()))
        .then_some(text)
}

/// Middleware: assigns the id, runs the request inside a span that carries it, stamps the
/// response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(accepted)
        .map_or_else(generate, str::to_owned);
    let value = HeaderValue::from_str(&id).expect("ids are visible ASCII");
    request.headers_mut().insert(X_REQUEST_ID, value.clone());
    // A Hosted Vault page's path holds its session token, which no log or trace may keep.
    let path = request.uri().path();
    let path = if path.starts_with("/vault/session/") {
        "/vault/session/[REDACTED]"
    } else {
        path
    };
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %path);
    let mut response = next.run(request).instrument(span).await;
    response.headers_mut().insert(X_REQUEST_ID, value.clone());
    response.headers_mut().insert(APIDECK_REQUEST_ID, value);
    response
}
