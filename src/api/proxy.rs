//! Apideck's Proxy API: a raw call to the connection's CRM with the connection's credentials
//! injected, for what the unified model does not cover.
//!
//! The destination (`x-apideck-downstream-url`, absolute or relative to the connection's base
//! URL) must be one the connection may call under the outbound rules, checked before anything
//! is sent; no redirect is followed (a 3xx is the client's answer). The vendor's status,
//! headers and body come back as they stream, minus hop-by-hop headers, cookies and anything
//! that carries the connection's credentials. The call takes a slot of the connection's rate
//! budget and is never retried: the gateway cannot know which raw calls are safe to repeat.

use axum::body::Body as ResponseBody;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::Response;
use crmgate_connector_sdk::ErrorKind;
use url::Url;

use super::crm::Body;
use super::tenant::Connection;
use crate::error::{Error, ErrorType, Result};

const DOWNSTREAM_URL: &str = "x-apideck-downstream-url";
const DOWNSTREAM_METHOD: &str = "x-apideck-downstream-method";
const DOWNSTREAM_AUTHORIZATION: &str = "x-apideck-downstream-authorization";

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1), and so are never passed
/// on in either direction.
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

macro_rules! proxy_operations {
    ($($name:ident, $verb:ident, $id:literal;)*) => {$(
        #[utoipa::path($verb, path = "/proxy", operation_id = $id, tag = "Proxy",
            params(
                ("x-apideck-app-id" = String, Header),
                ("x-apideck-consumer-id" = String, Header),
                ("x-apideck-service-id" = Option<String>, Header, description = "The connection to call, when the consumer has several"),
                ("x-apideck-downstream-url" = String, Header, description = "The vendor URL: absolute, or relative to the connection's base URL"),
                ("x-apideck-downstream-method" = Option<String>, Header, description = "The vendor call's method; the request's own by default"),
                ("x-apideck-downstream-authorization" = Option<String>, Header, description = "Sent as the vendor call's Authorization instead of the connection's credentials"),
            ),
            responses(
                (status = 200, description = "The vendor's answer, whatever its status, as it came"),
                (status = 400, description = "Invalid request or a destination the connection may not call", body = crate::api::openapi::ErrorBody),
                (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody),
                (status = 404, description = "No such connection", body = crate::api::openapi::ErrorBody),
                (status = 502, description = "The vendor could not be reached", body = crate::api::openapi::ErrorBody),
            ),
            security(("apiKey" = [])))]
        pub async fn $name(conn: Connection, method: Method, headers: HeaderMap, Body(body): Body) -> Result<Response> {
            execute(conn, method, headers, body).await
        }
    )*};
}

proxy_operations! {
    get, get, "getProxy";
    post, post, "postProxy";
    put, put, "putProxy";
    patch, patch, "patchProxy";
    delete, delete, "deleteProxy";
    options, options, "optionsProxy";
}

async fn execute(
    conn: Connection,
    method: Method,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Result<Response> {
    let url = destination(&headers, &conn)?;
    let method = match text(&headers, DOWNSTREAM_METHOD)? {
        None => method,
        Some(name) => downstream_method(name)?,
    };
    let mut outgoing = forwarded(&headers);
    let own_authorization = headers.get(DOWNSTREAM_AUTHORIZATION).cloned();
    if let Some(mut value) = own_authorization.clone() {
        value.set_sensitive(true);
        outgoing.insert(header::AUTHORIZATION, value);
    }
    let http = &conn.cx.http;
    http.policy()
        .check(&url)
        .map_err(|refusal| refused(&refusal.to_string()))?;
    tracing::debug!(%method, host = url.host_str(), path = url.path(), "Proxy call.");
    let vendor = http
        .forward(method, url, outgoing, body, own_authorization.is_none())
        .await
        .map_err(|e| match e.kind {
            ErrorKind::Refused => refused(&e.message),
            _ => Error::from_connector(e, conn.service()),
        })?;
    let status = vendor.status();
    let mut answer_headers = vendor.headers().clone();
    scrub_answer(
        &mut answer_headers,
        &http.auth_header_names(),
        &http.secrets(),
    );
    let mut response = Response::new(ResponseBody::from_stream(vendor.bytes_stream()));
    *response.status_mut() = status;
    *response.headers_mut() = answer_headers;
    Ok(response)
}

fn text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| invalid_header(format!("Header {name} must be visible ASCII")))
        })
        .transpose()
}

fn invalid_header(detail: String) -> Error {
    Error::new(
        StatusCode::BAD_REQUEST,
        ErrorType::RequestHeadersValidationError,
        "Invalid Headers",
    )
    .with_detail(detail.into())
}

fn refused(why: &str) -> Error {
    invalid_header(format!(
        "Header {DOWNSTREAM_URL} names a destination the connection may not call: {why}"
    ))
}

/// The vendor URL a proxy call goes to: an absolute URL as given, a relative one below the
/// connection's base URL (its path appended, so `/v1/x` under `https://h/api` is
/// `https://h/api/v1/x`).
fn destination(headers: &HeaderMap, conn: &Connection) -> Result<Url> {
    let given = text(headers, DOWNSTREAM_URL)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::missing_header(DOWNSTREAM_URL))?;
    if given.starts_with("//") || given.starts_with("\\\\") {
        return Err(invalid_header(format!(
            "Header {DOWNSTREAM_URL} is a scheme-relative URL; give an absolute URL or a path below the connection's base URL"
        )));
    }
    match Url::parse(given) {
        Ok(url) => Ok(url),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let base = conn.cx.base_url.as_str().trim_end_matches('/');
            let relative = given.trim_start_matches('/');
            Url::parse(&format!("{base}/{relative}")).map_err(|e| {
                invalid_header(format!(
                    "Header {DOWNSTREAM_URL} does not make a URL below the connection's base URL: {e}"
                ))
            })
        }
        Err(e) => Err(invalid_header(format!(
            "Header {DOWNSTREAM_URL} is not a URL: {e}"
        ))),
    }
}

fn downstream_method(name: &str) -> Result<Method> {
    let method = Method::from_bytes(name.to_ascii_uppercase().as_bytes()).ok();
    match method {
        Some(m)
            if [
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ]
            .contains(&m) =>
        {
            Ok(m)
        }
        _ => Err(invalid_header(format!(
            "Header {DOWNSTREAM_METHOD} must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; got {name:?}"
        ))),
    }
}

/// The client's headers that go on to the vendor: all but crmgate's own (`x-apideck-*`, its
/// `Authorization`), cookies, `Host` and the length (which the client sets), and hop-by-hop
/// headers, including those the client's `Connection` header names.
fn forwarded(headers: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let dropped = name.as_str().starts_with("x-apideck-")
            || [
                header::AUTHORIZATION,
                header::COOKIE,
                header::HOST,
                header::CONTENT_LENGTH,
                header::UPGRADE,
            ]
            .contains(name)
            || HOP_BY_HOP.contains(name)
            || named_by_connection.iter().any(|n| n == name.as_str());
        if !dropped {
            out.append(name, value.clone());
        }
    }
    out
}

/// Takes out of the vendor's answer what must not reach the client: hop-by-hop headers,
/// cookies (set for the vendor's domain, not crmgate's), headers named like the connection's
/// auth headers, and any header whose value holds one of its secrets. The length stays: the
/// body is passed on byte for byte.
fn scrub_answer(headers: &mut HeaderMap, auth_names: &[HeaderName], secrets: &[String]) {
    for name in HOP_BY_HOP
        .iter()
        .chain(&[header::SET_COOKIE, header::UPGRADE])
    {
        headers.remove(name);
    }
    for name in auth_names {
        headers.remove(name);
    }
    let leaking: Vec<HeaderName> = headers
        .iter()
        .filter(|(_, v)| {
            v.to_str()
                .is_ok_and(|v| secrets.iter().any(|secret| v.contains(secret)))
        })
        .map(|(n, _)| n.clone())
        .collect();
    for name in leaking {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn only_the_clients_own_headers_go_on() {
        let out = forwarded(&map(&[
            ("authorization", "Bearer crmgate-key"),
            ("x-apideck-app-id", "app"),
            ("x-apideck-downstream-url", "/x"),
            ("cookie", "a=b"),
            ("host", "gateway"),
            ("content-length", "3"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("te", "trailers"),
            ("accept", "application/json"),
            ("x-custom", "kept"),
        ]));
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "x-custom"]);
    }

    #[test]
    fn the_answer_loses_cookies_hop_headers_and_echoed_credentials() {
        let mut answer = map(&[
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("set-cookie", "session=1"),
            ("transfer-encoding", "chunked"),
            ("x-api-token", "tok-123456"),
            ("x-debug", "called with tok-123456"),
            ("x-ratelimit-remaining", "9"),
        ]);
        let auth = [HeaderName::from_static("x-api-token")];
        scrub_answer(&mut answer, &auth, &["tok-123456".to_owned()]);
        let names: Vec<&str> = answer.keys().map(HeaderName::as_str).collect();
        assert_eq!(
            names,
            ["content-type", "content-length", "x-ratelimit-remaining"]
        );
    }

    #[test]
    fn methods_are_the_http_ones_a_vendor_api_takes() {
        assert_eq!(downstream_method("put").unwrap(), Method::PUT);
        assert!(downstream_method("CONNECT").is_err());
        assert!(downstream_method("TRACE").is_err());
        assert!(downstream_method("BREW").is_err());
    }
}
