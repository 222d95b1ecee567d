//! Bad input, precisely: each kind of bad input is a 4xx naming what was wrong, decided before
//! any vendor call, and what is good reaches the vendor exactly as meant.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::body_json;
use wiremock::{MockServer, ResponseTemplate};

use crate::app::{
    API_KEY, APP_ID, CONSUMER_ID, TestApp, assert_error, call, exact, spawn_app, spawn_app_with,
};
use crate::hubspot::{answer, deal, expect, expect_read};
use crate::{copper, pipedrive};

/// A write with a body as text, so that numbers reach crmgate exactly as written.
fn raw(app: &TestApp, method: reqwest::Method, path: &str, body: &str) -> reqwest::RequestBuilder {
    app.request(method, path)
        .header("content-type", "application/json")
        .body(body.to_owned())
}

#[tokio::test]
async fn close_date_null_clears_the_date_at_every_vendor() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .and(body_json(
            json!({ "properties": { "closedate": "", "description": "" } }),
        ))
        .respond_with(answer(200, deal(1001)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = json!({ "close_date": null, "description": null });
    let (status, answer) = call(app.patch("/crm/opportunities/1001", &body)).await;
    assert_eq!(status, 200, "{answer}");

    let server = MockServer::start().await;
    pipedrive::connect(&app, &server).await;
    pipedrive::expect("PATCH", "/api/v2/deals/42")
        .and(body_json(json!({ "expected_close_date": null })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(pipedrive::envelope(pipedrive::deal(42), None)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let body = json!({ "close_date": null });
    let (status, answer) = call(pipedrive::pipedrive(
        app.patch("/crm/opportunities/42", &body),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");

    let server = MockServer::start().await;
    copper::connect(&app, &server).await;
    copper::expect("PUT", "/developer_api/v1/opportunities/4")
        .and(body_json(json!({ "close_date": null })))
        .respond_with(ResponseTemplate::new(200).set_body_json(copper::opportunity(4)))
        .expect(1)
        .mount(&server)
        .await;
    let (status, answer) = call(copper::copper(app.patch("/crm/opportunities/4", &body))).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn amounts_no_crm_stores_are_400s_naming_the_field_and_reach_no_vendor() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    for verb in ["POST", "PATCH"] {
        wiremock::Mock::given(wiremock::matchers::method(verb))
            .respond_with(answer(200, deal(1)))
            .expect(0)
            .mount(&app.hubspot)
            .await;
    }
    for (amount, problem) in [
        ("1e400", "more than 18 integer digits"),
        ("12345678901234567890", "more than 18 integer digits"),
        ("1.5E18", "more than 18 integer digits"),
        ("0.12345678901", "more than 10 decimals"),
        ("1e-11", "more than 10 decimals"),
    ] {
        let body = format!(r#"{{"title": "x", "monetary_amount": {amount}}}"#);
        for (method, path) in [
            (reqwest::Method::POST, "/crm/opportunities"),
            (reqwest::Method::PATCH, "/crm/opportunities/1"),
        ] {
            let refused = call(raw(&app, method, path, &body)).await;
            assert_error(&refused, 400, "RequestValidationError");
            let message = refused.1["message"].as_str().unwrap();
            assert!(
                message.starts_with("Invalid property monetary_amount: ")
                    && message.contains(problem),
                "{amount}: {message}"
            );
            let detail = refused.1["detail"]["invalid"][0]["monetary_amount"]
                .as_str()
                .unwrap();
            assert!(detail.contains(problem), "{amount}: {detail}");
        }
    }
    // JSON has no non-finite numbers: they are not JSON at all.
    let nan = call(raw(
        &app,
        reqwest::Method::POST,
        "/crm/opportunities",
        r#"{"title": "x", "monetary_amount": Infinity}"#,
    ))
    .await;
    assert_error(&nan, 400, "RequestValidationError");
}

#[tokio::test]
async fn amounts_reach_the_vendor_in_plain_decimal_with_the_clients_digits() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .and(body_json(exact(
            r#"{"properties": {"dealname": "Plain", "amount": "100"}}"#,
        )))
        .respond_with(answer(201, deal(1)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let created = call(raw(
        &app,
        reqwest::Method::POST,
        "/crm/opportunities",
        r#"{"title": "Plain", "monetary_amount": 1E2}"#,
    ))
    .await;
    assert_eq!(created.0, 201, "{}", created.1);

    let server = MockServer::start().await;
    pipedrive::connect(&app, &server).await;
    pipedrive::expect("POST", "/api/v2/deals")
        .and(body_json(exact(
            r#"{"title": "Plain", "value": 0.0015, "probability": 15.0}"#,
        )))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(pipedrive::envelope(pipedrive::deal(7), None)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let created = call(pipedrive::pipedrive(raw(
        &app,
        reqwest::Method::POST,
        "/crm/opportunities",
        r#"{"title": "Plain", "monetary_amount": 1.5e-3, "win_probability": 1.50E1}"#,
    )))
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
}

/// Sends a request head announcing `Content-Length: 100` and a shorter body, and answers the
/// status line and body of what comes back, with how long it took.
async fn short_body(app: &TestApp, close_write: bool) -> (String, Value, Duration) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /crm/opportunities HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {API_KEY}\r\n\
         x-apideck-app-id: {APP_ID}\r\nx-apideck-consumer-id: {CONSUMER_ID}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\": \"cut"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    if close_write {
        stream.shutdown().await.unwrap();
    }
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let response = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            received.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|l| l.trim().parse::<usize>().ok());
                if length.is_some_and(|l| body.len() >= l) || n == 0 {
                    return (head.to_owned(), body.to_owned());
                }
            } else if n == 0 {
                return (text, String::new());
            }
        }
    })
    .await
    .expect("crmgate answers a cut-off body");
    let status = response.0.lines().next().unwrap_or_default().to_owned();
    let body = serde_json::from_str(&response.1).unwrap_or(Value::String(response.1));
    (status, body, started.elapsed())
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_a_408_at_the_deadline_not_a_504() {
    let app = spawn_app_with(|options| options.request_deadline = Duration::from_millis(800)).await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(answer(201, deal(1)))
        .expect(0)
        .mount(&app.hubspot)
        .await;
    let (status, body, took) = short_body(&app, false).await;
    assert_eq!(status, "HTTP/1.1 408 Request Timeout", "{body}");
    assert_eq!(body["type_name"], "RequestValidationError", "{body}");
    assert_eq!(body["status_code"], 408);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Content-Length announced 100 bytes"),
        "{body}"
    );
    // Answered at the 0.8 s deadline, not after a vendor timeout (30 s); the bound is loose so
    // that a loaded machine cannot fail it.
    assert!(
        took < Duration::from_secs(10),
        "answered at the deadline, took {took:?}"
    );
}

#[tokio::test]
async fn a_body_that_ends_before_its_content_length_is_a_400() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(answer(201, deal(1)))
        .expect(0)
        .mount(&app.hubspot)
        .await;
    let (status, body, _) = short_body(&app, true).await;
    assert_eq!(status, "HTTP/1.1 400 Bad Request", "{body}");
    assert_eq!(body["type_name"], "RequestValidationError", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Content-Length announced 100 bytes"),
        "{body}"
    );
}

#[tokio::test]
async fn under_a_contended_budget_a_request_without_a_slot_in_time_is_a_429_at_once() {
    // Two calls per 20 seconds, a 5-second deadline: once the first read has used both slots,
    // no request can get one in time. (Waiting for a slot that does come in time is asserted
    // on tokio's paused clock in the SDK, where no timing can make it flaky.)
    let app = spawn_app_with(|options| {
        options.request_deadline = Duration::from_secs(5);
        let hubspot = crmgate::config::ConnectorSettings {
            rate_limit: Some(crmgate::config::RateLimitSettings {
                requests: 2,
                per_secs: 20,
            }),
            ..Default::default()
        };
        options.connectors.insert("hubspot".to_owned(), hubspot);
    })
    .await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    // The first read reads the account's custom properties too: both slots.
    assert_eq!(call(app.get("/crm/opportunities/1")).await.0, 200);

    let mut requests = Vec::new();
    for _ in 0..3 {
        let rq = app.get("/crm/opportunities/1");
        requests.push(tokio::spawn(async move {
            let started = Instant::now();
            let response = rq.send().await.unwrap();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body, retry_after, started.elapsed())
        }));
    }
    for rq in requests {
        let (status, body, retry_after, took) = rq.await.unwrap();
        assert_error(&(status, body), 429, "ConnectorRateLimitError");
        let retry_after = retry_after.expect("a Retry-After header");
        assert!(
            (10..=20).contains(&retry_after),
            "the wait until the earliest slot: {retry_after}"
        );
        assert!(
            took < Duration::from_secs(4),
            "answered without waiting out the deadline, took {took:?}"
        );
    }
}

#[tokio::test]
async fn a_custom_mapping_may_not_re_point_id() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let path = "/vault/custom-mappings/crm/hubspot/crm+opportunities+id";
    let refused = call(app.post(path, &json!({ "value": "$.properties.hs_object_id" }))).await;
    assert_error(&refused, 400, "RequestValidationError");
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap()
            .contains("id cannot be re-pointed"),
        "{}",
        refused.1
    );
    let (_, stored) = call(app.get("/vault/custom-mappings/crm/hubspot")).await;
    assert_eq!(stored["data"], json!([]), "{stored}");

    let whole = call(app.post(
        "/vault/custom-mappings/crm/hubspot/crm+opportunities+title",
        &json!({ "value": "$" }),
    ))
    .await;
    assert_error(&whole, 400, "RequestValidationError");
}

#[tokio::test]
async fn extend_paths_may_not_target_the_whole_body_and_never_set_nothing_silently() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    // `[-1]` is the last association: the company, after the two contacts.
    expect("POST", "/crm/objects/2026-09/deals")
        .and(body_json(exact(
            r#"{"properties": {"dealname": "Last"},
               "associations": [
                 {"to": {"id": "501"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
                 {"to": {"id": "901"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 99}]}]}"#,
        )))
        .respond_with(answer(201, deal(1)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = json!({ "title": "Last", "contact_ids": ["501"], "company_id": "901", "pass_through": [{
        "service_id": "hubspot",
        "extend_paths": [{ "path": "$.associations[-1].types[0].associationTypeId", "value": 99 }]
    }]});
    let (status, answer) = call(app.post("/crm/opportunities", &body)).await;
    assert_eq!(status, 201, "{answer}");

    for (path, needle) in [
        ("$", "whole vendor body"),
        (
            "$.properties.tags[-1]",
            "before the start of an array of 0 items",
        ),
        (
            "$.properties.tags[5]",
            "beyond the end of an array of 0 items",
        ),
        (
            "$.associations[*].types[0].associationTypeId",
            "matches nothing",
        ),
        ("$.properties[?@ == 'none'].x", "matches nothing"),
    ] {
        let body = json!({ "title": "x", "pass_through": [{
            "service_id": "hubspot",
            "extend_paths": [{ "path": path, "value": 1 }]
        }]});
        let refused = call(app.post("/crm/opportunities", &body)).await;
        assert_error(&refused, 400, "RequestValidationError");
        let message = refused.1["message"].as_str().unwrap();
        assert!(
            message.contains(path) && message.contains(needle),
            "{path}: {message}"
        );
    }
}

#[tokio::test]
async fn pass_through_may_not_set_a_connectors_paging_parameters() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    wiremock::Mock::given(wiremock::matchers::path("/crm/objects/2026-09/deals"))
        .respond_with(answer(200, json!({ "results": [] })))
        .expect(0)
        .mount(&app.hubspot)
        .await;
    let refused =
        call(app.get("/crm/opportunities?pass_through[after]=100&pass_through[limit]=5")).await;
    assert_error(&refused, 400, "RequestValidationError");
    let message = refused.1["message"].as_str().unwrap();
    assert!(
        message.contains("pass_through[after], pass_through[limit]"),
        "{message}"
    );

    let server = MockServer::start().await;
    pipedrive::connect(&app, &server).await;
    wiremock::Mock::given(wiremock::matchers::path("/api/v2/deals"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(pipedrive::envelope(json!([]), None)),
        )
        .expect(0)
        .mount(&server)
        .await;
    for param in ["cursor", "limit"] {
        let refused = call(pipedrive::pipedrive(
            app.get(&format!("/crm/opportunities?pass_through[{param}]=x")),
        ))
        .await;
        assert_error(&refused, 400, "RequestValidationError");
        assert!(
            refused.1["detail"]["invalid"][0][format!("pass_through[{param}]")].is_string(),
            "{}",
            refused.1
        );
    }

    let server = MockServer::start().await;
    copper::connect(&app, &server).await;
    wiremock::Mock::given(wiremock::matchers::path(
        "/developer_api/v1/opportunities/search",
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
    .expect(0)
    .mount(&server)
    .await;
    for param in ["page_number", "page_size"] {
        let refused = call(copper::copper(
            app.get(&format!("/crm/opportunities?pass_through[{param}]=2")),
        ))
        .await;
        assert_error(&refused, 400, "RequestValidationError");
        assert!(
            refused.1["message"].as_str().unwrap().contains(param),
            "{}",
            refused.1
        );
    }
}
