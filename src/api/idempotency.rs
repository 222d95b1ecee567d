//! `Idempotency-Key` on creates: a client that repeats a create (after a timeout, say) gets the
//! first answer back instead of a second record at the vendor.
//!
//! The key is claimed in the database before the vendor is called, so it holds across
//! processes. An answer that may mean the record exists (success, 5xx, timeout) is kept for 24
//! hours and replayed; an answer that means nothing was created (a 4xx: invalid body, rejected
//! credentials, rate limit) releases the key so the client can try again with it. A request
//! that arrives while the first is still running waits for its answer.

use std::future::Future;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorType, Result};
use crate::store::{IdempotencyClaim, Tenant};

use super::AppState;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const MAX_KEY_LEN: usize = 255;
/// How long a key's answer is kept.
const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a repeat waits for the first request's answer, and how often it looks.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
/// Largest answer kept (create answers are a few hundred bytes).
const MAX_KEPT_BODY: usize = 1024 * 1024;

/// The request's key, if it sent one.
pub fn key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k)
            if !k.is_empty()
                && k.len() <= MAX_KEY_LEN
                && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(k.to_owned()))
        }
        _ => Err(Error::new(
            StatusCode::BAD_REQUEST,
            ErrorType::RequestHeadersValidationError,
            "Invalid Headers",
        )
        .with_detail(
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters").into(),
        )),
    }
}

/// What makes two requests "the same": the service, the resource, the query and the exact body.
pub fn fingerprint(service: &str, resource: &str, query: Option<&str>, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [
        service.as_bytes(),
        resource.as_bytes(),
        query.unwrap_or_default().as_bytes(),
        body,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `create` at most once per key and body, answering repeats with the kept answer.
pub async fn run<F, Fut>(
    state: &AppState,
    tenant: &Tenant,
    key: &str,
    fingerprint: &str,
    create: F,
) -> Result<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Response>>,
{
    let waited_since = tokio::time::Instant::now();
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let expired_before = now - RETENTION.as_millis() as i64;
        match state
            .store
            .claim_idempotency(tenant, key, fingerprint, now, expired_before)
            .await?
        {
            IdempotencyClaim::Claimed => break,
            IdempotencyClaim::Done { status, body } => return Ok(replay(status, body)),
            IdempotencyClaim::Mismatch => {
                return Err(Error::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorType::RequestValidationError, "Idempotency-Key reused")
                    .with_detail("This Idempotency-Key was used with a different request; use a new key for a new request".into()));
            }
            IdempotencyClaim::InFlight if waited_since.elapsed() < WAIT_FOR_FIRST => {
                tokio::time::sleep(POLL).await
            }
            IdempotencyClaim::InFlight => {
                return Err(Error::new(
                    StatusCode::CONFLICT,
                    ErrorType::RequestValidationError,
                    "Request in progress",
                )
                .with_detail(
                    "A request with this Idempotency-Key is still running; try again later".into(),
                ));
            }
        }
    }
    let response = create().await.unwrap_or_else(IntoResponse::into_response);
    let status = response.status();
    if status.is_client_error() {
        state.store.release_idempotency(tenant, key).await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_KEPT_BODY)
        .await
        .map_err(Error::internal)?;
    state
        .store
        .complete_idempotency(tenant, key, status.as_u16(), &bytes)
        .await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reused_on_another_resource_service_query_or_body_is_another_request() {
        let first = fingerprint("hubspot", "opportunities", None, b"{}");
        assert_eq!(first, fingerprint("hubspot", "opportunities", None, b"{}"));
        for other in [
            fingerprint("hubspot", "contacts", None, b"{}"),
            fingerprint("pipedrive", "opportunities", None, b"{}"),
            fingerprint("hubspot", "opportunities", Some("raw=true"), b"{}"),
            fingerprint("hubspot", "opportunities", None, b"{ }"),
            // Parts are length-prefixed: moving bytes from one to the next is another request.
            fingerprint("hub", "spotopportunities", None, b"{}"),
        ] {
            assert_ne!(first, other);
        }
    }
}
