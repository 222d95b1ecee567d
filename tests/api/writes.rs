//! Nothing written is lost without a word: per connector, what reaches the vendor for writes it
//! cannot store, clears, values it would refuse or misstore, and list pass-through on searches.
//! Each test mounts a catch-all `.expect(0)` last, so any vendor call not listed fails it.

use serde_json::{Value, json};
use wiremock::matchers::{any, body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use crate::app::{HUBSPOT_TOKEN, TestApp, assert_error, call, spawn_app};
use crate::hubspot::{self, asked};

const PIPEDRIVE_TOKEN: &str = "pd-token-456";
const COPPER_TOKEN: &str = "cu-key-789";
const COPPER_EMAIL: &str = "ops@acme.test";
const REGION: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0";

/// Connects `service` to `server` with the settings its tests use.
async fn connect(app: &TestApp, service: &str, server: &MockServer) {
    let settings = match service {
        "hubspot" => json!({ "api_key": HUBSPOT_TOKEN, "base_url": server.uri() }),
        "pipedrive" => json!({ "api_key": PIPEDRIVE_TOKEN, "base_url": server.uri() }),
        _ => {
            json!({ "api_key": COPPER_TOKEN, "user_email": COPPER_EMAIL, "base_url": server.uri() })
        }
    };
    let path = format!("/vault/connections/crm/{service}");
    let (status, body) = call(app.patch(&path, &json!({ "settings": settings }))).await;
    assert_eq!(status, 200, "{body}");
}

/// A vendor for one connector, connected, with nothing mounted yet.
async fn vendor(app: &TestApp, service: &str) -> MockServer {
    let server = MockServer::start().await;
    connect(app, service, &server).await;
    server
}

/// Any vendor call the test did not list fails it.
async fn nothing_else(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599))
        .expect(0)
        .mount(server)
        .await;
}

fn to(service: &str, rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", service)
}

fn pipedrive(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("x-api-token", PIPEDRIVE_TOKEN))
}

fn copper(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("x-pw-accesstoken", COPPER_TOKEN))
}

fn envelope(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({ "success": true, "data": data, "additional_data": { "next_cursor": null } }),
    )
}

fn warning(service: &str, operation: &str, fields: &[&str]) -> Value {
    json!({ "warnings": [{
        "type": "unmapped_fields",
        "operation": operation,
        "message": format!("{service} has no field for: {}; these values were not stored", fields.join(", ")),
        "fields": fields,
    }] })
}

/// Pipedrive's `dealFields`: the label options and one custom field.
async fn deal_fields(server: &MockServer, times: u64) {
    pipedrive("GET", "/api/v2/dealFields")
        .respond_with(envelope(json!([
            { "field_code": "label_ids", "field_name": "Label", "is_custom_field": false,
              "options": [{ "id": 5, "label": "Hot" }] },
            { "field_code": REGION, "field_name": "Region", "is_custom_field": true }
        ])))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn pipedrive_source_id_is_not_sent_and_is_reported() {
    let app = spawn_app().await;
    let server = vendor(&app, "pipedrive").await;
    pipedrive("PATCH", "/api/v2/deals/42")
        .and(body_json(json!({ "title": "Rocket" })))
        .respond_with(envelope(json!({ "id": 42, "title": "Rocket" })))
        .expect(1)
        .mount(&server)
        .await;
    nothing_else(&server).await;
    let body = json!({ "title": "Rocket", "source_id": "12" });
    let (status, answer) = call(to("pipedrive", app.patch("/crm/opportunities/42", &body))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"], json!({ "id": "42" }));
    assert_eq!(
        answer["meta"],
        warning("pipedrive", "update", &["source_id"])
    );
}

/// HubSpot answers `PATCH {}` with a 400; an update with nothing HubSpot can store is answered
/// with the warnings and no call, and so is an empty update at any connector.
#[tokio::test]
async fn an_update_with_nothing_to_store_makes_no_vendor_call() {
    let app = spawn_app().await;
    let server = vendor(&app, "hubspot").await;
    nothing_else(&server).await;
    let body = json!({ "win_probability": 50, "source_id": "7", "contact_id": null });
    let (status, answer) = call(to(
        "hubspot",
        app.patch("/crm/opportunities/1001?raw=true", &body),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({
            "status_code": 200, "status": "OK", "service": "hubspot",
            "resource": "opportunities", "operation": "update",
            "data": { "id": "1001" },
            "meta": warning("hubspot", "update", &["source_id", "win_probability"]),
            "_raw": null
        })
    );

    let pipedrive = vendor(&app, "pipedrive").await;
    nothing_else(&pipedrive).await;
    let (status, answer) = call(to(
        "pipedrive",
        app.patch("/crm/opportunities/42", &json!({})),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"], json!({ "id": "42" }));
    assert!(answer.get("meta").is_none(), "nothing to warn of: {answer}");
}

/// `tags: null` clears the labels or tags, without reading their names first.
#[tokio::test]
async fn tags_null_clears_labels_and_tags() {
    let app = spawn_app().await;
    let server = vendor(&app, "pipedrive").await;
    deal_fields(&server, 0).await;
    pipedrive("PATCH", "/api/v2/deals/42")
        .and(body_json(json!({ "label_ids": [] })))
        .respond_with(envelope(json!({ "id": 42, "label_ids": [] })))
        .expect(1)
        .mount(&server)
        .await;
    nothing_else(&server).await;
    let clear = json!({ "tags": null });
    let (status, answer) = call(to("pipedrive", app.patch("/crm/opportunities/42", &clear))).await;
    assert_eq!(status, 200, "{answer}");

    let hubspot = vendor(&app, "hubspot").await;
    hubspot::expect("GET", "/crm/properties/2026-09/deals")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": [] })))
        .expect(0)
        .mount(&hubspot)
        .await;
    hubspot::expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .and(body_json(json!({ "properties": { "hs_tag_ids": "" } })))
        .respond_with(hubspot::answer(200, hubspot::deal(1001)))
        .expect(1)
        .mount(&hubspot)
        .await;
    nothing_else(&hubspot).await;
    let (status, answer) = call(to("hubspot", app.patch("/crm/opportunities/1001", &clear))).await;
    assert_eq!(status, 200, "{answer}");

    let copper_server = vendor(&app, "copper").await;
    copper("PUT", "/developer_api/v1/opportunities/4")
        .and(body_json(json!({ "tags": [] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": 4, "tags": [] })))
        .expect(1)
        .mount(&copper_server)
        .await;
    nothing_else(&copper_server).await;
    let (status, answer) = call(to("copper", app.patch("/crm/opportunities/4", &clear))).await;
    assert_eq!(status, 200, "{answer}");
}

/// A HubSpot custom property cleared with null is sent as `""`, and HubSpot's `""` reads back
/// as null.
#[tokio::test]
async fn a_hubspot_custom_field_cleared_with_null_reads_null() {
    let app = spawn_app().await;
    let server = vendor(&app, "hubspot").await;
    hubspot::expect("GET", "/crm/properties/2026-09/deals")
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "results": [
            { "name": "dealname", "label": "Deal Name", "hubspotDefined": true },
            { "name": "region", "label": "Region" }
        ] })),
        )
        .expect(1)
        .mount(&server)
        .await;
    hubspot::expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .and(body_json(json!({ "properties": { "region": "" } })))
        .respond_with(hubspot::answer(200, hubspot::deal(1001)))
        .expect(1)
        .mount(&server)
        .await;
    let mut record = hubspot::deal(1001);
    record["properties"]["region"] = json!("");
    hubspot::expect("GET", "/crm/objects/2026-09/deals/1001")
        .and(query_param("properties", asked(&["region"]).as_str()))
        .respond_with(hubspot::answer(200, record))
        .expect(1)
        .mount(&server)
        .await;
    nothing_else(&server).await;
    let clear = json!({ "custom_fields": [{ "id": "region", "value": null }] });
    let (status, answer) = call(to("hubspot", app.patch("/crm/opportunities/1001", &clear))).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = call(to("hubspot", app.get("/crm/opportunities/1001"))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["custom_fields"],
        json!([{ "id": "region", "name": "Region", "value": null }])
    );
}

/// Writes a vendor would refuse or misstore are 400s naming the field, and reach no vendor.
#[tokio::test]
async fn writes_that_cannot_be_honoured_are_refused_before_any_vendor_call() {
    let app = spawn_app().await;
    let server = vendor(&app, "pipedrive").await;
    nothing_else(&server).await;
    for (body, field, problem) in [
        (
            json!({ "win_probability": 101 }),
            "win_probability",
            "must be from 0 to 100, got 101",
        ),
        (
            json!({ "win_probability": -0.5 }),
            "win_probability",
            "must be from 0 to 100, got -0.5",
        ),
        (
            json!({ "priority": "Urgent" }),
            "priority",
            "must be one of None, Low, Medium, High, got \"Urgent\"",
        ),
        (
            json!({ "status": "Closed" }),
            "status",
            "must be one of Open, Won, Lost, Abandoned, got \"Closed\"",
        ),
        (
            json!({ "status": "Abandoned" }),
            "status",
            "\"Abandoned\" is not supported by this connector; it takes Lost, Open, Won",
        ),
        (
            json!({ "contact_id": "501", "primary_contact_id": "502" }),
            "contact_id",
            "differs from primary_contact_id",
        ),
        (
            json!({ "contact_id": null, "primary_contact_id": "502" }),
            "contact_id",
            "differs from primary_contact_id",
        ),
    ] {
        let answer = call(to("pipedrive", app.patch("/crm/opportunities/42", &body))).await;
        assert_error(&answer, 400, "RequestValidationError");
        assert_eq!(
            answer.1["detail"]["invalid"][0],
            json!({ field: problem }),
            "{body}: {}",
            answer.1
        );
        assert!(
            answer.1["message"].as_str().unwrap().contains(field),
            "{}",
            answer.1
        );
    }
}

/// A custom field id the vendor does not have is refused like an unknown name: the names are
/// read, and nothing is written.
#[tokio::test]
async fn an_unknown_custom_field_id_is_refused() {
    let app = spawn_app().await;
    let server = vendor(&app, "pipedrive").await;
    deal_fields(&server, 1).await;
    nothing_else(&server).await;
    let body = json!({ "custom_fields": [{ "id": "0000000000000000000000000000000000000000", "value": "x" }] });
    let answer = call(to("pipedrive", app.patch("/crm/opportunities/42", &body))).await;
    assert_error(&answer, 400, "RequestValidationError");
    let message = answer.1["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Pipedrive has no custom field with id \"0000000000000000000000000000000000000000\"."
        ),
        "{message}"
    );
}

/// Status and priority are matched without regard to case and sent in one spelling.
#[tokio::test]
async fn status_and_priority_are_sent_in_their_one_spelling() {
    let app = spawn_app().await;
    let server = vendor(&app, "copper").await;
    copper("PUT", "/developer_api/v1/opportunities/4")
        .and(body_json(json!({ "status": "Won", "priority": "High" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": 4 })))
        .expect(1)
        .mount(&server)
        .await;
    nothing_else(&server).await;
    let body = json!({ "status": "won", "priority": "HIGH" });
    let (status, answer) = call(to("copper", app.patch("/crm/opportunities/4", &body))).await;
    assert_eq!(status, 200, "{answer}");
}

/// List parameters a connector cannot honour are 400s before any vendor call.
#[tokio::test]
async fn list_parameters_that_cannot_be_honoured_are_refused() {
    let app = spawn_app().await;
    let server = vendor(&app, "pipedrive").await;
    nothing_else(&server).await;
    let answer = call(to(
        "pipedrive",
        app.get("/crm/opportunities?filter[status]=Abandoned"),
    ))
    .await;
    assert_error(&answer, 400, "RequestValidationError");
    assert_eq!(
        answer.1["detail"]["invalid"][0],
        json!({ "filter[status]": "must be one of Lost, Open, Won" })
    );
    let answer = call(to(
        "pipedrive",
        app.get("/crm/opportunities?sort[direction]=desc"),
    ))
    .await;
    assert_error(&answer, 400, "RequestValidationError");
    assert_eq!(
        answer.1["detail"]["invalid"][0],
        json!({ "sort[direction]": "needs sort[by]" })
    );
}

fn has_no_query(request: &Request) -> bool {
    request.url.query().is_none()
}

/// Copper's search reads only its body: pass-through parameters go there, as JSON where they
/// parse, and a key the list sets itself is refused.
#[tokio::test]
async fn copper_pass_through_goes_into_the_search_body() {
    let app = spawn_app().await;
    let server = vendor(&app, "copper").await;
    copper("POST", "/developer_api/v1/opportunities/search")
        .and(has_no_query)
        .and(body_json(json!({
            "page_number": 1, "page_size": 20, "sort_by": "date_created", "sort_direction": "asc",
            "name": "chairs", "assignee_ids": [2]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    nothing_else(&server).await;
    let (status, answer) = call(to(
        "copper",
        app.get("/crm/opportunities?pass_through[name]=chairs&pass_through[assignee_ids]=%5B2%5D"),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"], json!([]));

    let answer = call(to(
        "copper",
        app.get("/crm/opportunities?pass_through[sort_by]=name"),
    ))
    .await;
    assert_error(&answer, 400, "ConnectorOperationUnsupportedError");
    let message = answer.1["detail"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("pass_through[sort_by] cannot be used here"),
        "{message}"
    );
}

/// HubSpot's filtered lists are searches too: pass-through goes into the search body.
#[tokio::test]
async fn hubspot_search_pass_through_goes_into_the_body() {
    let app = spawn_app().await;
    let server = vendor(&app, "hubspot").await;
    hubspot::expect("GET", "/crm/properties/2026-09/deals")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": [] })))
        .mount(&server)
        .await;
    hubspot::expect("POST", "/crm/objects/2026-09/deals/search")
        .and(has_no_query)
        .and(body_partial_json(json!({
            "query": "rocket",
            "filterGroups": [{ "filters": [
                { "propertyName": "dealname", "operator": "EQ", "value": "Rocket" }
            ] }]
        })))
        .respond_with(hubspot::answer(200, json!({ "total": 0, "results": [] })))
        .expect(1)
        .mount(&server)
        .await;
    nothing_else(&server).await;
    let (status, answer) = call(to(
        "hubspot",
        app.get("/crm/opportunities?filter[title]=Rocket&pass_through[query]=rocket"),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");
}

/// A `pass_through` item that names an operation applies to that operation only, by
/// Apideck's operation ids; one that names none applies to every write.
#[tokio::test]
async fn pass_through_items_apply_to_the_operation_they_name() {
    let app = spawn_app().await;
    let server = vendor(&app, "pipedrive").await;
    pipedrive("POST", "/api/v2/deals")
        .and(body_json(
            json!({ "title": "Rocket", "on_add": 1, "always": 3 }),
        ))
        .respond_with(envelope(json!({ "id": 42, "title": "Rocket" })))
        .expect(1)
        .mount(&server)
        .await;
    pipedrive("PATCH", "/api/v2/deals/42")
        .and(body_json(
            json!({ "title": "Rocket", "on_update": 2, "always": 3 }),
        ))
        .respond_with(envelope(json!({ "id": 42, "title": "Rocket" })))
        .expect(1)
        .mount(&server)
        .await;
    nothing_else(&server).await;
    let body = json!({ "title": "Rocket", "pass_through": [
        { "service_id": "pipedrive", "operation_id": "opportunitiesAdd", "extend_object": { "on_add": 1 } },
        { "service_id": "pipedrive", "operation_id": "opportunitiesUpdate", "extend_object": { "on_update": 2 } },
        { "service_id": "pipedrive", "extend_object": { "always": 3 } }
    ]});
    let (status, answer) = call(to("pipedrive", app.post("/crm/opportunities", &body))).await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = call(to("pipedrive", app.patch("/crm/opportunities/42", &body))).await;
    assert_eq!(status, 200, "{answer}");
}
