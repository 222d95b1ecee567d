//! A tenant re-points a unified field at one of the account's custom fields: `description`
//! then writes to that custom field and reads from it. The custom field is still listed in
//! `custom_fields`, because re-pointing a field adds a way to reach the data and takes nothing
//! away. For each vendor one test creates with `description: "X"` and checks the exact body the
//! vendor receives, and one reads a record whose custom field holds "X".
//!
//! Copper keeps custom fields as a list of `{custom_field_definition_id, value}`, so the path
//! picks the entry with an equality filter: `$.custom_fields[?@.custom_field_definition_id ==
//! 11].value`. The custom-mappings API accepts that path. Writing through it means updating the
//! matching entry, or appending `{custom_field_definition_id: 11, value}` when there is none.

use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

use crate::app::{TestApp, call, spawn_app};
use crate::hubspot::{answer as hubspot_answer, expect};
use crate::{copper, pipedrive};

/// The account's custom field: HubSpot names it, Pipedrive hashes it, Copper numbers it.
const PIPEDRIVE_HASH: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0";
const COPPER_DEFINITION: u64 = 11;

/// Stores the consumer's mapping of `description` to `path` and checks it was accepted.
async fn re_point_description(app: &TestApp, service: &str, path: &str) {
    let route = format!("/vault/custom-mappings/crm/{service}/crm+opportunities+description");
    let (status, saved) = call(app.post(&route, &json!({ "value": path }))).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["value"], path, "{saved}");
}

/// The JSON body of the one `verb` request the vendor received at `route`.
async fn sent_body(server: &MockServer, verb: &str, route: &str) -> Value {
    let requests = server.received_requests().await.unwrap_or_default();
    let matching: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "one {verb} {route}, got {}",
        matching.len()
    );
    serde_json::from_slice(&matching[0].body).unwrap()
}

/// Creates `{title: Rocket, description: X}` and checks the answer is a clean 201.
async fn create(app: &TestApp, service: &str) {
    let body = json!({ "title": "Rocket", "description": "X" });
    let rq = app
        .post("/crm/opportunities", &body)
        .header("x-apideck-service-id", service);
    let (status, answer) = call(rq).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["meta"]["warnings"],
        Value::Null,
        "description was stored: {answer}"
    );
}

/// Reads the record back: `description` from the custom field, which stays listed.
async fn assert_read_back(app: &TestApp, service: &str, id: &str, custom_field: Value) {
    let rq = app
        .get(&format!("/crm/opportunities/{id}"))
        .header("x-apideck-service-id", service);
    let (status, one) = call(rq).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["data"]["description"], "X", "{one}");
    assert_eq!(one["data"]["custom_fields"], json!([custom_field]), "{one}");
}

/// A HubSpot account with the custom property `region`, and the consumer's re-pointing.
async fn hubspot() -> TestApp {
    let app = spawn_app().await;
    // Mounted over the default answer of no custom properties.
    expect("GET", "/crm/properties/2026-09/deals")
        .respond_with(hubspot_answer(
            200,
            json!({ "results": [
                { "name": "dealname", "label": "Deal Name", "type": "string", "fieldType": "text", "hubspotDefined": true },
                { "name": "region", "label": "Region", "type": "string", "fieldType": "text" }
            ] }),
        ))
        .with_priority(1)
        .mount(&app.hubspot)
        .await;
    app.connect_hubspot().await;
    re_point_description(&app, "hubspot", "$.properties.region").await;
    app
}

fn hubspot_deal() -> Value {
    let mut record = crate::hubspot::deal(1001);
    record["properties"]["region"] = json!("X");
    record
}

#[tokio::test]
async fn hubspot_description_is_written_to_a_custom_property() {
    let app = hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .respond_with(hubspot_answer(201, hubspot_deal()))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    create(&app, "hubspot").await;
    assert_eq!(
        sent_body(&app.hubspot, "POST", "/crm/objects/2026-09/deals").await,
        json!({ "properties": { "dealname": "Rocket", "region": "X" } })
    );
}

#[tokio::test]
async fn hubspot_description_is_read_from_a_custom_property() {
    let app = hubspot().await;
    expect("GET", "/crm/objects/2026-09/deals/1001")
        .respond_with(hubspot_answer(200, hubspot_deal()))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    assert_read_back(
        &app,
        "hubspot",
        "1001",
        json!({ "id": "region", "name": "Region", "value": "X" }),
    )
    .await;
}

/// A Pipedrive account with one custom deal field, and the consumer's re-pointing.
async fn pipedrive() -> (TestApp, MockServer) {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    pipedrive::expect("GET", "/api/v2/dealFields")
        .respond_with(ResponseTemplate::new(200).set_body_json(pipedrive::envelope(
            json!([
                { "field_code": "title", "field_name": "Title", "is_custom_field": false },
                { "field_code": PIPEDRIVE_HASH, "field_name": "Region", "is_custom_field": true }
            ]),
            None,
        )))
        .mount(&server)
        .await;
    pipedrive::connect(&app, &server).await;
    re_point_description(
        &app,
        "pipedrive",
        &format!("$.custom_fields.{PIPEDRIVE_HASH}"),
    )
    .await;
    (app, server)
}

fn pipedrive_deal() -> Value {
    let mut record = pipedrive::deal(42);
    record["title"] = json!("Rocket");
    record["custom_fields"] = json!({ PIPEDRIVE_HASH: "X" });
    pipedrive::envelope(record, None)
}

#[tokio::test]
async fn pipedrive_description_is_written_to_a_custom_field() {
    let (app, server) = pipedrive().await;
    pipedrive::expect("POST", "/api/v2/deals")
        .respond_with(ResponseTemplate::new(201).set_body_json(pipedrive_deal()))
        .expect(1)
        .mount(&server)
        .await;
    create(&app, "pipedrive").await;
    assert_eq!(
        sent_body(&server, "POST", "/api/v2/deals").await,
        json!({ "title": "Rocket", "custom_fields": { PIPEDRIVE_HASH: "X" } })
    );
}

#[tokio::test]
async fn pipedrive_description_is_read_from_a_custom_field() {
    let (app, server) = pipedrive().await;
    pipedrive::expect("GET", "/api/v2/deals/42")
        .respond_with(ResponseTemplate::new(200).set_body_json(pipedrive_deal()))
        .expect(1)
        .mount(&server)
        .await;
    assert_read_back(
        &app,
        "pipedrive",
        "42",
        json!({ "id": PIPEDRIVE_HASH, "name": "Region", "value": "X" }),
    )
    .await;
}

/// A Copper account with one custom field definition, and the consumer's re-pointing.
async fn copper() -> (TestApp, MockServer) {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    copper::expect("GET", "/developer_api/v1/custom_field_definitions")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "id": COPPER_DEFINITION, "name": "Region", "data_type": "String", "available_on": ["opportunity"] }
        ])))
        .mount(&server)
        .await;
    copper::connect(&app, &server).await;
    re_point_description(
        &app,
        "copper",
        &format!("$.custom_fields[?@.custom_field_definition_id == {COPPER_DEFINITION}].value"),
    )
    .await;
    (app, server)
}

fn copper_opportunity() -> Value {
    let mut record = copper::opportunity(4);
    record["name"] = json!("Rocket");
    record["custom_fields"] =
        json!([{ "custom_field_definition_id": COPPER_DEFINITION, "value": "X" }]);
    record
}

#[tokio::test]
async fn copper_description_is_written_to_a_custom_field() {
    let (app, server) = copper().await;
    copper::expect("POST", "/developer_api/v1/opportunities")
        .respond_with(ResponseTemplate::new(200).set_body_json(copper_opportunity()))
        .expect(1)
        .mount(&server)
        .await;
    create(&app, "copper").await;
    assert_eq!(
        sent_body(&server, "POST", "/developer_api/v1/opportunities").await,
        json!({ "name": "Rocket", "custom_fields": [
            { "custom_field_definition_id": COPPER_DEFINITION, "value": "X" }
        ] })
    );
}

#[tokio::test]
async fn copper_description_is_read_from_a_custom_field() {
    let (app, server) = copper().await;
    copper::expect("GET", "/developer_api/v1/opportunities/4")
        .respond_with(ResponseTemplate::new(200).set_body_json(copper_opportunity()))
        .expect(1)
        .mount(&server)
        .await;
    assert_read_back(
        &app,
        "copper",
        "4",
        json!({ "id": COPPER_DEFINITION.to_string(), "name": "Region", "value": "X" }),
    )
    .await;
}
