//! Opened connections are reused while they are current, and never once a Vault write, from
//! this process or another, has changed what a call is made with.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

use crate::app::{
    APP_ID, HUBSPOT_TOKEN, PostgresSchema, TestApp, assert_error, call, sample, spawn_app,
    spawn_app_with, spawn_on,
};
use crate::hubspot::{answer, deal, expect, expect_read};

/// `crmgate_connection_cache_total` for one part and result, as `/metrics` shows it now.
async fn cache_count(app: &TestApp, part: &str, result: &str) -> f64 {
    sample(
        &app.metrics().await,
        &format!("crmgate_connection_cache_total{{part=\"{part}\",result=\"{result}\"}}"),
    )
}

/// A deal read from `server` with this bearer token, expected `times` times.
async fn read_with_token(server: &MockServer, token: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/1"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(answer(200, deal(1)))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_second_request_reuses_the_opened_connection_and_compiled_mappings() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(3)
        .mount(&app.hubspot)
        .await;
    for _ in 0..3 {
        let (status, body) = call(app.get("/crm/opportunities/1")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["title"], "Deal 1");
    }
    assert_eq!(cache_count(&app, "connection", "miss").await, 1.0);
    assert_eq!(cache_count(&app, "connection", "hit").await, 2.0);
    assert_eq!(cache_count(&app, "mappings", "miss").await, 1.0);
    assert_eq!(cache_count(&app, "mappings", "hit").await, 2.0);
}

#[tokio::test]
async fn a_new_credential_is_sent_by_the_very_next_request() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    read_with_token(&app.hubspot, HUBSPOT_TOKEN, 2).await;
    read_with_token(&app.hubspot, "hs-token-rotated", 1).await;
    for _ in 0..2 {
        assert_eq!(call(app.get("/crm/opportunities/1")).await.0, 200);
    }
    let rotated = json!({ "settings": { "api_key": "hs-token-rotated" } });
    let (status, body) = call(app.patch("/vault/connections/crm/hubspot", &rotated)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(app.get("/crm/opportunities/1")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_custom_mapping_applies_from_the_next_request_and_stops_when_deleted() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(3)
        .mount(&app.hubspot)
        .await;
    let description = async || {
        let (status, body) = call(app.get("/crm/opportunities/1")).await;
        assert_eq!(status, 200, "{body}");
        body["data"]["description"].clone()
    };
    // HubSpot's empty description is no description.
    assert_eq!(description().await, Value::Null);
    let route = "/vault/custom-mappings/crm/hubspot/crm+opportunities+description";
    let saved = call(app.post(route, &json!({ "value": "$.properties.dealtype" }))).await;
    assert_eq!(saved.0, 200, "{}", saved.1);
    assert_eq!(description().await, "newbusiness");
    assert_eq!(call(app.delete(route)).await.0, 204);
    assert_eq!(description().await, Value::Null);
}

#[tokio::test]
async fn a_disabled_or_deleted_connection_is_refused_by_the_very_next_request() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(2)
        .mount(&app.hubspot)
        .await;
    assert_eq!(call(app.get("/crm/opportunities/1")).await.0, 200);
    let route = "/vault/connections/crm/hubspot";
    assert_eq!(
        call(app.patch(route, &json!({ "enabled": false }))).await.0,
        200
    );
    assert_error(
        &call(app.get("/crm/opportunities/1")).await,
        404,
        "ConnectionNotFoundError",
    );
    assert_eq!(
        call(app.patch(route, &json!({ "enabled": true }))).await.0,
        200
    );
    assert_eq!(call(app.get("/crm/opportunities/1")).await.0, 200);
    assert_eq!(call(app.delete(route)).await.0, 204);
    assert_error(
        &call(app.get("/crm/opportunities/1")).await,
        404,
        "ConnectionNotFoundError",
    );
}

#[tokio::test]
async fn tenants_beyond_the_cache_size_are_served_all_the_same() {
    let app = spawn_app_with(|o| o.connection_cache_tenants = 1).await;
    let consumers = ["c-one", "c-two"];
    for consumer in consumers {
        let body = json!({ "settings": { "api_key": format!("token-{consumer}"), "base_url": app.hubspot.uri() } });
        let rq = app
            .request_for(
                reqwest::Method::PATCH,
                "/vault/connections/crm/hubspot",
                consumer,
            )
            .json(&body);
        assert_eq!(call(rq).await.0, 200);
        read_with_token(&app.hubspot, &format!("token-{consumer}"), 2).await;
    }
    for _ in 0..2 {
        for consumer in consumers {
            let rq = app.request_for(reqwest::Method::GET, "/crm/opportunities/1", consumer);
            assert_eq!(call(rq).await.0, 200);
        }
    }
    // One tenant fits, and they alternate: every request opens its connection again.
    assert_eq!(cache_count(&app, "connection", "miss").await, 4.0);
    assert_eq!(cache_count(&app, "connection", "hit").await, 0.0);
}

#[tokio::test]
async fn a_write_through_one_gateway_reaches_the_next_request_of_another() {
    let Some(db) = PostgresSchema::create().await else {
        return;
    };
    let (one, two) = tokio::join!(
        spawn_on(db.url.clone(), tempfile::tempdir().unwrap()),
        spawn_on(db.url.clone(), tempfile::tempdir().unwrap())
    );
    one.connect_hubspot().await;
    read_with_token(&one.hubspot, HUBSPOT_TOKEN, 2).await;
    read_with_token(&one.hubspot, "hs-token-rotated", 1).await;
    for _ in 0..2 {
        assert_eq!(call(two.get("/crm/opportunities/1")).await.0, 200);
    }
    assert_eq!(cache_count(&two, "connection", "hit").await, 1.0);
    let rotated = json!({ "settings": { "api_key": "hs-token-rotated" } });
    assert_eq!(
        call(one.patch("/vault/connections/crm/hubspot", &rotated))
            .await
            .0,
        200
    );
    let (status, body) = call(two.get("/crm/opportunities/1")).await;
    assert_eq!(status, 200, "{body}");
    // An application-layer mapping written through `one` applies to `two`'s next request.
    let route = "/vault/custom-mappings/crm/hubspot/crm+opportunities+description";
    let app_layer = one
        .client
        .post(format!("{}{route}", one.address))
        .bearer_auth(crate::app::API_KEY)
        .header("x-apideck-app-id", APP_ID)
        .json(&json!({ "value": "$.properties.dealtype" }));
    assert_eq!(call(app_layer).await.0, 200);
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/2"))
        .and(header("authorization", "Bearer hs-token-rotated"))
        .respond_with(answer(200, deal(2)))
        .expect(1)
        .mount(&one.hubspot)
        .await;
    let (status, body) = call(two.get("/crm/opportunities/2")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["description"], "newbusiness", "{body}");
    db.drop_schema().await;
}
