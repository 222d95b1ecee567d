use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use bytes::Bytes;
pub use http::HeaderMap;
use http::{Method, StatusCode, header};
use serde_json::Value;
use url::Url;

use crate::{ConnectorError, DownstreamError, ErrorKind, Result};

/// Timeouts of the outbound client; one value per process, tunable per connector in config.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The one outbound HTTP client every connector calls its vendor through. It injects the
/// connection's auth headers, applies timeouts and turns transport failures and vendor error
/// statuses into typed [`ConnectorError`]s, so connectors only describe their vendor.
#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    auth: Arc<HeaderMap>,
}

/// One vendor call before it is sent.
#[derive(Debug)]
pub struct VendorRequest {
    pub method: Method,
    pub url: Url,
    pub body: Option<Value>,
}

impl VendorRequest {
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            body: None,
        }
    }

    #[must_use]
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A vendor answer with a success status.
#[derive(Debug)]
pub struct VendorResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl VendorResponse {
    /// The body as JSON; a body that is not JSON is a typed `BadResponse`, never a panic.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ConnectorError::bad_response(self.status.as_u16(), e))
    }
}

static CRYPTO_PROVIDER: Once = Once::new();

impl OutboundClient {
    /// A client shared by all connections; cheap to clone per call with [`Self::with_auth`].
    pub fn new(config: HttpConfig) -> Self {
        CRYPTO_PROVIDER.call_once(|| {
            // Another part of the process may have installed one already; either is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("crmgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend is compiled in, so the client builds");
        Self {
            client,
            auth: Arc::new(HeaderMap::new()),
        }
    }

    /// A client for unit tests that never sends anything.
    pub fn for_tests() -> Self {
        Self::new(HttpConfig::default())
    }

    /// The same client with one connection's auth headers, which are marked sensitive.
    #[must_use]
    pub fn with_auth(&self, mut auth: HeaderMap) -> Self {
        for value in auth.values_mut() {
            value.set_sensitive(true);
        }
        Self {
            client: self.client.clone(),
            auth: Arc::new(auth),
        }
    }

    /// Sends one request. Non-success statuses become typed errors; `downstream` extracts the
    /// vendor's own error messages from its error body for the client.
    pub async fn send(
        &self,
        rq: VendorRequest,
        downstream: fn(&[u8]) -> Vec<DownstreamError>,
    ) -> Result<VendorResponse> {
        let started = Instant::now();
        let method = rq.method.clone();
        let path = rq.url.path().to_owned();
        let mut builder = self
            .client
            .request(rq.method, rq.url)
            .headers((*self.auth).clone())
            .header(header::ACCEPT, "application/json");
        if let Some(body) = &rq.body {
            let bytes = serde_json::to_vec(body).expect("a JSON value always serialises");
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let response = builder.send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(
            %method,
            path,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Vendor answered."
        );
        if status.is_success() {
            return Ok(VendorResponse {
                status,
                headers,
                body,
            });
        }
        let mut err = status_error(status, &headers, &body, downstream);
        self.scrub(&mut err.downstream);
        Err(err)
    }

    /// Vendors sometimes echo the credential they rejected; it is cut out of every message
    /// before the error can reach a client or a log.
    fn scrub(&self, errors: &mut [DownstreamError]) {
        let secrets: Vec<&str> = self
            .auth
            .values()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| [Some(v), v.split_once(' ').map(|(_, token)| token)])
            .flatten()
            .filter(|s| s.len() >= 4)
            .collect();
        let clean = |text: &mut String| {
            for secret in &secrets {
                if text.contains(secret) {
                    *text = text.replace(secret, "[REDACTED]");
                }
            }
        };
        for e in errors {
            clean(&mut e.message);
            if let Some(detail) = &mut e.detail {
                clean(detail);
            }
            if let Some(code) = &mut e.code {
                clean(code);
            }
        }
    }
}

fn transport_error(err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::new(ErrorKind::Timeout, "The CRM did not answer in time.")
    } else if err.is_connect() {
        ConnectorError::new(ErrorKind::Unavailable, "The CRM could not be reached.")
    } else if err.is_decode() || err.is_body() {
        ConnectorError::new(
            ErrorKind::Unavailable,
            "The CRM's answer was cut off before its end.",
        )
    } else {
        ConnectorError::new(ErrorKind::Unavailable, "The call to the CRM failed.")
    }
}

fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    downstream: fn(&[u8]) -> Vec<DownstreamError>,
) -> ConnectorError {
    let (kind, message) = match status.as_u16() {
        401 | 403 => (
            ErrorKind::Unauthorized,
            "The CRM rejected the connection's credentials.",
        ),
        404 => (ErrorKind::NotFound, "The CRM has no such record."),
        429 => (ErrorKind::RateLimited, "The CRM's rate limit was reached."),
        500..=599 => (
            ErrorKind::Unavailable,
            "The CRM failed to answer the request.",
        ),
        _ => (ErrorKind::Rejected, "The CRM refused the request."),
    };
    let mut err = ConnectorError::new(kind, message)
        .with_status(status.as_u16())
        .with_downstream(downstream(body))
        .with_retry_after(retry_after(headers));
    // The vendor answered, so even a missing record is the vendor's word, not a malformed id.
    err.origin = crate::Origin::Vendor;
    err
}

/// `Retry-After` in seconds (HTTP-dates are handled by the resilience layer's parser).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_headers_are_marked_sensitive() {
        let mut auth = HeaderMap::new();
        auth.insert(
            header::AUTHORIZATION,
            "Bearer secret-token".parse().unwrap(),
        );
        let client = OutboundClient::for_tests().with_auth(auth);
        let value = client.auth.get(header::AUTHORIZATION).unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("secret-token"));
    }

    #[test]
    fn echoed_credentials_are_cut_out_of_vendor_messages() {
        let mut auth = HeaderMap::new();
        auth.insert(
            header::AUTHORIZATION,
            "Bearer tok-SECRET-9".parse().unwrap(),
        );
        auth.insert("x-api-token", "other-SECRET-8".parse().unwrap());
        let client = OutboundClient::for_tests().with_auth(auth);
        let mut errors = vec![DownstreamError {
            message: "token tok-SECRET-9 is invalid".into(),
            detail: Some("got header Bearer tok-SECRET-9 and other-SECRET-8".into()),
            code: None,
        }];
        client.scrub(&mut errors);
        assert_eq!(errors[0].message, "token [REDACTED] is invalid");
        assert_eq!(
            errors[0].detail.as_deref(),
            Some("got header [REDACTED] and [REDACTED]")
        );
    }

    #[test]
    fn statuses_become_typed_errors() {
        let none = |_: &[u8]| Vec::new();
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        let cases = [
            (401, ErrorKind::Unauthorized),
            (403, ErrorKind::Unauthorized),
            (404, ErrorKind::NotFound),
            (400, ErrorKind::Rejected),
            (422, ErrorKind::Rejected),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
        ];
        for (status, kind) in cases {
            let err = status_error(StatusCode::from_u16(status).unwrap(), &headers, b"", none);
            assert_eq!(err.kind, kind, "status {status}");
            assert_eq!(err.vendor_status, Some(status));
            assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
        }
    }
}
