//! What goes wrong gets its Apideck error: vendor failures and bad client input alike.

use serde_json::json;
use wiremock::ResponseTemplate;

use crate::app::{APP_ID, CONSUMER_ID, HUBSPOT_TOKEN, assert_error, call, exchange, spawn_app};
use crate::hubspot::{answer, deal, error_body, expect, expect_read, list_answered_with};

#[tokio::test]
async fn vendor_failures_become_typed_errors_without_the_token() {
    let cases = [
        (401, 401, "UnauthorizedError"),
        (403, 401, "UnauthorizedError"),
        (404, 404, "EntityNotFoundError"),
        (400, 400, "ConnectorExecutionError"),
        (422, 422, "ConnectorExecutionError"),
        (500, 502, "ConnectorExecutionError"),
    ];
    for (vendor, status, type_name) in cases {
        let app = spawn_app().await;
        app.connect_hubspot().await;
        let message = format!("Bad token {HUBSPOT_TOKEN} for this portal");
        expect_read("GET", "/crm/objects/2026-09/deals/7")
            .respond_with(answer(vendor, error_body(&message, "VALIDATION_ERROR")))
            .expect(1)
            .mount(&app.hubspot)
            .await;
        let answer = call(app.get("/crm/opportunities/7")).await;
        assert_error(&answer, status, type_name);
        let text = answer.1.to_string();
        assert!(!text.contains(HUBSPOT_TOKEN), "vendor {vendor}: {text}");
        if matches!(vendor, 400 | 422) {
            assert_eq!(
                answer.1["downstream_errors"][0]["message"],
                "Bad token [REDACTED] for this portal"
            );
            assert_eq!(answer.1["downstream_errors"][0]["code"], "VALIDATION_ERROR");
            assert_eq!(answer.1["detail"]["downstream_status"], vendor);
        }
    }
}

#[tokio::test]
async fn a_vendor_rate_limit_is_a_429_with_retry_after() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/7")
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "45")
                .set_body_json(json!({ "status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT" })),
        )
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, headers, body) = exchange(app.get("/crm/opportunities/7")).await;
    assert_eq!(headers["retry-after"], "45");
    assert_error(&(status, body), 429, "ConnectorRateLimitError");
}

#[tokio::test]
async fn an_unreachable_vendor_is_a_502() {
    let app = spawn_app().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let settings = json!({ "settings": { "api_key": HUBSPOT_TOKEN, "base_url": closed } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/hubspot", &settings))
            .await
            .0,
        200
    );
    let answer = call(app.get("/crm/opportunities/7")).await;
    assert_error(&answer, 502, "ConnectorExecutionError");
}

#[tokio::test]
async fn a_vendor_answer_that_is_not_json_is_a_502() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/7")
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let answer = call(app.get("/crm/opportunities/7")).await;
    assert_error(&answer, 502, "ConnectorExecutionError");
    assert_eq!(answer.1["detail"]["downstream_status"], 200);
}

#[tokio::test]
async fn a_list_page_cut_off_is_a_502_that_says_where() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let page = json!({ "results": [deal(1), deal(2)] }).to_string();
    let cut = &page[..page.len() / 2];
    let answer = list_answered_with(&app, cut).await;
    assert_error(&answer, 502, "ConnectorExecutionError");
    let text = answer.1.to_string();
    assert!(
        text.contains("its body is not JSON (expected")
            && text.contains(&format!("at byte {}", cut.len())),
        "{text}"
    );
}

#[tokio::test]
async fn auth_and_tenant_headers_are_checked_first() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("GET", "/crm/objects/2026-09/deals/7")
        .respond_with(answer(200, json!({})))
        .expect(0)
        .mount(&app.hubspot)
        .await;
    let url = format!("{}/crm/opportunities/7", app.address);
    let bare = || {
        app.client
            .get(&url)
            .header("x-apideck-app-id", APP_ID)
            .header("x-apideck-consumer-id", CONSUMER_ID)
    };

    assert_error(&call(bare()).await, 401, "UnauthorizedError");
    assert_error(
        &call(bare().bearer_auth("wrong")).await,
        401,
        "UnauthorizedError",
    );

    let no_app = app
        .client
        .get(&url)
        .bearer_auth(crate::app::API_KEY)
        .header("x-apideck-consumer-id", CONSUMER_ID);
    let answer = call(no_app).await;
    assert_error(&answer, 400, "RequestHeadersValidationError");
    assert_eq!(answer.1["detail"], "Missing Header: x-apideck-app-id");

    let no_consumer = app
        .client
        .get(&url)
        .bearer_auth(crate::app::API_KEY)
        .header("x-apideck-app-id", APP_ID);
    let answer = call(no_consumer).await;
    assert_error(&answer, 400, "RequestHeadersValidationError");
    assert_eq!(answer.1["detail"], "Missing Header: x-apideck-consumer-id");

    let unknown = call(
        app.get("/crm/opportunities/7")
            .header("x-apideck-service-id", "nope"),
    )
    .await;
    assert_error(&unknown, 404, "ConnectionNotFoundError");
}

#[tokio::test]
async fn bad_bodies_and_queries_are_400s_naming_what_is_wrong() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(answer(201, json!({})))
        .expect(0)
        .mount(&app.hubspot)
        .await;
    let unknown = call(app.post("/crm/opportunities", &json!({ "title": "x", "foobar": 1 }))).await;
    assert_error(&unknown, 400, "RequestValidationError");
    assert_eq!(unknown.1["message"], "Unknown property foobar");

    let wrong = call(app.post(
        "/crm/opportunities",
        &json!({ "title": "x", "monetary_amount": "lots" }),
    ))
    .await;
    assert_error(&wrong, 400, "RequestValidationError");
    assert!(
        wrong.1["message"]
            .as_str()
            .unwrap()
            .contains("monetary_amount")
    );
    assert!(
        wrong.1["message"]
            .as_str()
            .unwrap()
            .contains("expected a JSON number")
    );

    let malformed = app
        .request(reqwest::Method::POST, "/crm/opportunities")
        .header("content-type", "application/json")
        .body("{\"title\": ");
    assert_error(&call(malformed).await, 400, "RequestValidationError");

    let missing = call(app.post("/crm/opportunities", &json!({ "description": "no title" }))).await;
    assert_eq!(missing.1["message"], "Missing property title");

    for query in ["limit=0", "limit=201", "limit=x", "raw=maybe", "colour=red"] {
        assert_error(
            &call(app.get(&format!("/crm/opportunities?{query}"))).await,
            400,
            "RequestValidationError",
        );
    }
    let filter = call(app.get("/crm/opportunities?filter[name]=x")).await;
    assert_error(&filter, 400, "UnsupportedFiltersError");
    assert!(
        filter.1["detail"]["supported_filters"]
            .as_array()
            .unwrap()
            .contains(&json!("status"))
    );
    assert_error(
        &call(app.get("/crm/opportunities?sort[by]=status")).await,
        400,
        "UnsupportedSortFieldError",
    );

    let huge = app
        .request(reqwest::Method::POST, "/crm/opportunities")
        .header("content-type", "application/json")
        .body(format!(
            "{{\"title\": \"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        ));
    assert_eq!(call(huge).await.0, 413);
}

#[tokio::test]
async fn connections_must_exist_and_be_complete() {
    let app = spawn_app().await;
    assert_error(
        &call(app.get("/crm/opportunities")).await,
        404,
        "ConnectionNotFoundError",
    );
    let half = json!({ "settings": { "base_url": app.hubspot.uri() } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/hubspot", &half))
            .await
            .0,
        200
    );
    let answer = call(app.get("/crm/opportunities")).await;
    assert_error(&answer, 422, "ConnectionSettingsError");
    assert_eq!(
        answer.1["detail"],
        json!({ "missing": [{ "api_key": "required" }] })
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_apideck_errors() {
    let app = spawn_app().await;
    assert_error(
        &call(app.get("/crm/nothing")).await,
        404,
        "EntityNotFoundError",
    );
    let put = app.request(reqwest::Method::PUT, "/crm/opportunities");
    assert_error(&call(put).await, 405, "RequestValidationError");
}
