//! A token without a metadata scope still reads records: what the metadata adds (names of
//! custom fields, tags, lookups) is left out or unnamed, and `meta.warnings` says why.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::app::{TestApp, call, spawn_app};

/// HubSpot's answer to a token lacking a scope.
fn missing_scopes() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(json!({
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "correlationId": "0b1c",
        "errors": [{
            "message": "One or more of the following scopes are required.",
            "context": { "requiredGranularScopes": ["crm.schemas.deals.read"] }
        }],
        "category": "MISSING_SCOPES"
    }))
}

async fn connect(app: &TestApp, service: &str, server: &MockServer, mut settings: Value) {
    settings["base_url"] = server.uri().into();
    let (status, body) = call(app.patch(
        &format!("/vault/connections/crm/{service}"),
        &json!({ "settings": settings }),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
}

fn only_warning(body: &Value) -> &Value {
    let warnings = body["meta"]["warnings"].as_array().expect("meta.warnings");
    assert_eq!(warnings.len(), 1, "{body}");
    &warnings[0]
}

#[tokio::test]
async fn hubspot_deals_are_read_without_custom_fields_when_the_properties_scope_is_missing() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, "hubspot", &server, json!({ "api_key": "hs-token" })).await;
    Mock::given(method("GET"))
        .and(path("/crm/properties/2026-09/deals"))
        .respond_with(missing_scopes())
        // Asked once: the refusal is answered again for 30 s instead of costing a call per read.
        .expect(1)
        .mount(&server)
        .await;
    let deal = json!({ "id": "7", "properties": { "dealname": "Rocket", "hs_tag_ids": "1;2" } });
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": [deal] })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(deal.clone()))
        .expect(1)
        .mount(&server)
        .await;

    for url in ["/crm/opportunities", "/crm/opportunities/7"] {
        let (status, body) = call(app.get(url)).await;
        assert_eq!(status, 200, "{body}");
        let record = if body["data"].is_array() {
            &body["data"][0]
        } else {
            &body["data"]
        };
        assert_eq!(record["id"], "7");
        assert_eq!(record["title"], "Rocket");
        assert_eq!(record["custom_fields"], json!([]));
        // The tag ids come as HubSpot sent them, unnamed, rather than disappearing.
        assert_eq!(record["tags"], json!(["1", "2"]));
        let warning = only_warning(&body);
        assert_eq!(warning["type"], "downstream_request_failed");
        assert_eq!(warning["status_code"], 403);
        assert_eq!(warning["error"], "MISSING_SCOPES");
        let message = warning["message"].as_str().unwrap();
        assert!(
            message.starts_with("The connection may not read custom_fields, so the answer goes without the names it gives")
                && message.contains("crm.schemas.deals.read"),
            "{message}"
        );
    }
    // Without the catalog, the deals were asked for without custom properties: only the
    // mapped ones, the tag ids among them.
    let requests = server.received_requests().await.unwrap();
    let list = requests
        .iter()
        .find(|r| r.url.path() == "/crm/objects/2026-09/deals")
        .unwrap();
    let asked: Vec<(String, String)> = list.url.query_pairs().into_owned().collect();
    assert!(
        asked.contains(&("properties".to_owned(), crate::hubspot::asked(&[]))),
        "{}",
        list.url
    );
}

#[tokio::test]
async fn a_proxied_vendor_error_keeps_the_vendors_context() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, "hubspot", &server, json!({ "api_key": "hs-token" })).await;
    crate::app::hubspot_without_custom_properties(&server).await;
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/7"))
        .respond_with(missing_scopes())
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(app.get("/crm/opportunities/7")).await;
    assert_eq!(status, 401, "{body}");
    let downstream = body["downstream_errors"].as_array().unwrap();
    assert_eq!(downstream[0]["code"], "MISSING_SCOPES");
    assert_eq!(
        downstream[1]["detail"],
        r#"{"requiredGranularScopes":["crm.schemas.deals.read"]}"#
    );
}

#[tokio::test]
async fn pipedrive_deals_keep_their_ids_unnamed_when_deal_fields_are_forbidden() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, "pipedrive", &server, json!({ "api_key": "pd-token" })).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/dealFields"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "success": false, "error": "You do not have permissions to access deal fields", "code": "forbidden"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let hash = "9dc80c50d78a15643bfc4ca79d76156a73a1ca0e";
    Mock::given(method("GET"))
        .and(path("/api/v2/deals"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "data": [{ "id": 7, "title": "Rocket", "label_ids": [5], "custom_fields": { hash: 12 } }],
            "additional_data": { "next_cursor": null }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(app.get("/crm/opportunities")).await;
    assert_eq!(status, 200, "{body}");
    let record = &body["data"][0];
    assert_eq!(
        record["custom_fields"],
        json!([{ "id": hash, "name": null, "value": 12 }])
    );
    assert_eq!(record["tags"], json!(["5"]));
    let warning = only_warning(&body);
    assert_eq!(warning["status_code"], 403);
    assert_eq!(warning["error"], "forbidden");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("permissions to access deal fields"),
        "{warning}"
    );
}

#[tokio::test]
async fn copper_opportunities_are_read_without_names_when_metadata_is_forbidden() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(
        &app,
        "copper",
        &server,
        json!({ "api_key": "cu-key", "user_email": "ops@acme.test" }),
    )
    .await;
    for metadata in [
        "/developer_api/v1/custom_field_definitions",
        "/developer_api/v1/loss_reasons",
    ] {
        Mock::given(method("GET"))
            .and(path(metadata))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "success": false, "status": 403, "message": "Forbidden"
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/developer_api/v1/opportunities/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": 7, "name": "Rocket", "loss_reason_id": 3,
            "custom_fields": [{ "custom_field_definition_id": 11, "value": "x" }]
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(
        app.get("/crm/opportunities")
            .header("x-apideck-service-id", "copper"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let record = &body["data"][0];
    assert_eq!(record["title"], "Rocket");
    assert_eq!(
        record["custom_fields"],
        json!([{ "id": "11", "name": null, "value": "x" }])
    );
    assert_eq!(record["loss_reason"], Value::Null);
    let warnings = body["meta"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{body}");
    assert!(warnings.iter().all(|w| w["status_code"] == 403));
}
