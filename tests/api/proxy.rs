//! The Proxy API: a raw call reaches the connection's vendor with its credentials injected and
//! comes back as the vendor answered, only ever to a host the connection may call, and never
//! through a redirect.

use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{any, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::app::{HUBSPOT_TOKEN, TestApp, assert_error, call, spawn_app};
use crate::outbound::{allowing_only, untouched};
use crate::pipedrive;

fn proxy(app: &TestApp, verb: Method, url: &str) -> reqwest::RequestBuilder {
    app.request(verb, "/proxy")
        .header("x-apideck-downstream-url", url)
}

/// The one request a mock received.
async fn only_request(server: &MockServer) -> wiremock::Request {
    let mut received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    received.remove(0)
}

#[tokio::test]
async fn a_relative_call_reaches_the_vendor_with_the_connections_credentials() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/7"))
        .and(query_param("properties", "dealname"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-hubspot-ratelimit-max", "100")
                .insert_header("x-hubspot-ratelimit-remaining", "99")
                .insert_header("x-hubspot-ratelimit-interval-milliseconds", "10000")
                .insert_header("set-cookie", "__cf_bm=abc; Domain=hubapi.com")
                .set_body_raw(
                    r#"{"id":"7","properties":{"amount":"1500.50"}}"#,
                    "application/json",
                ),
        )
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let response = proxy(
        &app,
        Method::GET,
        "/crm/objects/2026-09/deals/7?properties=dealname",
    )
    .header("accept", "application/json")
    .header("x-trace", "t-1")
    .header("cookie", "gateway-session=1")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-hubspot-ratelimit-remaining"], "99");
    // The vendor's count, read as for unified calls, in Apideck's headers too.
    assert_eq!(headers["x-downstream-ratelimit-limit"], "100");
    assert_eq!(headers["x-downstream-ratelimit-remaining"], "99");
    assert!(headers.get("set-cookie").is_none(), "{headers:?}");
    assert!(headers.get("x-request-id").is_some());
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"id":"7","properties":{"amount":"1500.50"}}"#,
        "the body is the vendor's bytes, digits and all"
    );
    let sent = only_request(&app.hubspot).await;
    let h = &sent.headers;
    assert_eq!(h["authorization"], format!("Bearer {HUBSPOT_TOKEN}"));
    assert_eq!(h["accept"], "application/json");
    assert_eq!(h["x-trace"], "t-1");
    assert!(h.get("cookie").is_none());
    assert!(
        h.keys().all(|n| !n.as_str().starts_with("x-apideck-")),
        "crmgate's own headers stay with crmgate: {h:?}"
    );
}

#[tokio::test]
async fn the_downstream_method_and_body_are_the_clients() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    pipedrive::connect(&app, &server).await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/leads/abc"))
        .and(header("x-api-token", "pd-token-456"))
        .and(header("content-type", "application/json"))
        .and(body_string(r#"{"title":"Renamed"}"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "success": true })))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(
        pipedrive::pipedrive(proxy(&app, Method::POST, "api/v1/leads/abc"))
            .header("x-apideck-downstream-method", "put")
            // The client cannot replace the connection's credentials by naming their header.
            .header("x-api-token", "someone-elses")
            .header("content-type", "application/json")
            .body(r#"{"title":"Renamed"}"#),
    )
    .await;
    assert_eq!((status, body), (200, json!({ "success": true })));
}

#[tokio::test]
async fn vendor_errors_come_back_as_the_vendor_sent_them_and_are_not_retried() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_raw(r#"{"status":"error","message":"busy"}"#, "application/json"),
        )
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, body) = call(proxy(&app, Method::GET, "/crm/objects/2026-09/deals")).await;
    assert_eq!(status, 503);
    assert_eq!(body, json!({ "status": "error", "message": "busy" }));
}

#[tokio::test]
async fn a_downstream_authorization_replaces_the_connections_credentials() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    pipedrive::connect(&app, &server).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": {} })))
        .expect(1)
        .mount(&server)
        .await;
    let (status, _) = call(
        pipedrive::pipedrive(proxy(&app, Method::GET, "/api/v1/users/me"))
            .header("x-apideck-downstream-authorization", "Bearer oauth-own"),
    )
    .await;
    assert_eq!(status, 200);
    let sent = only_request(&server).await;
    assert_eq!(sent.headers["authorization"], "Bearer oauth-own");
    assert!(
        sent.headers.get("x-api-token").is_none(),
        "{:?}",
        sent.headers
    );
}

#[tokio::test]
async fn a_destination_the_connection_may_not_call_is_refused_before_anything_is_sent() {
    let vendor = MockServer::start().await;
    let elsewhere = untouched().await;
    let app = allowing_only(&vendor).await;
    pipedrive::connect(&app, &vendor).await;
    for url in [
        format!("{}/api/v1/users/me", elsewhere.uri()),
        "https://api.pipedrive.com.evil.example/api/v1/users/me".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        format!("http://token@127.0.0.1:{}/x", vendor.address().port()),
        "file:///etc/passwd".to_owned(),
        "//evil.example/x".to_owned(),
    ] {
        let answer = call(pipedrive::pipedrive(proxy(&app, Method::GET, &url))).await;
        assert_error(&answer, 400, "RequestHeadersValidationError");
        let text = answer.1.to_string();
        assert!(
            text.contains("x-apideck-downstream-url") && !text.contains("pd-token-456"),
            "{url}: {text}"
        );
    }
    assert!(vendor.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_redirect_is_answered_not_followed() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let target = untouched().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{}/steal", target.uri())),
        )
        .expect(1)
        .mount(&app.hubspot)
        .await;
    // A client that does not follow redirects either, so the 302 is seen as crmgate gave it.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let rq = proxy(&app, Method::GET, "/moved").build().unwrap();
    let response = client.execute(rq).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        format!("{}/steal", target.uri()).as_str()
    );
}

#[tokio::test]
async fn bad_proxy_headers_are_named() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let missing = call(app.get("/proxy")).await;
    assert_error(&missing, 400, "RequestHeadersValidationError");
    assert_eq!(
        missing.1["detail"],
        "Missing Header: x-apideck-downstream-url"
    );
    let bad_method =
        call(proxy(&app, Method::GET, "/x").header("x-apideck-downstream-method", "TRACE")).await;
    assert_error(&bad_method, 400, "RequestHeadersValidationError");
    assert!(
        bad_method.1["detail"]
            .as_str()
            .is_some_and(|d| d.contains("x-apideck-downstream-method") && d.contains("TRACE")),
        "{}",
        bad_method.1
    );
    let no_connection = call(
        app.request_for(Method::GET, "/proxy", "nobody")
            .header("x-apideck-downstream-url", "/x"),
    )
    .await;
    assert_error(&no_connection, 404, "ConnectionNotFoundError");
    assert!(
        app.hubspot
            .received_requests()
            .await
            .unwrap()
            .iter()
            .all(|r| r.url.path() != "/x")
    );
}
