//! Copper through the same unified calls: its three auth headers, M/D/YYYY and unix-second
//! dates, search paging by page number, and its error body.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use crate::app::{TestApp, assert_error, call, every_page, page_ids, spawn_app};

const TOKEN: &str = "cu-key-789";
const EMAIL: &str = "ops@acme.test";

pub fn expect(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("x-pw-accesstoken", TOKEN))
        .and(header("x-pw-application", "developer_api"))
        .and(header("x-pw-useremail", EMAIL))
}

pub fn opportunity(id: u64) -> Value {
    serde_json::from_str(&format!(
        r#"{{"id": {id}, "name": "Office chairs {id}", "assignee_id": 2, "close_date": "10/30/2020",
            "company_id": 3, "company_name": "Dunder Mifflin", "customer_source_id": 6,
            "details": "Sample", "loss_reason_id": null, "pipeline_id": 3, "pipeline_stage_id": 13,
            "primary_contact_id": 5, "priority": "None", "status": "Open", "tags": ["chairs"],
            "interaction_count": 0, "monetary_unit": "USD", "monetary_value": 75000,
            "win_probability": 40, "date_stage_changed": 1515434869, "date_last_contacted": null,
            "leads_converted_from": [], "date_lead_created": null, "date_created": 1515434869,
            "date_modified": 1601452800, "custom_fields": []}}"#
    ))
    .unwrap()
}

pub async fn connect(app: &TestApp, server: &MockServer) {
    // The names of the source every test opportunity carries, and of the loss reasons.
    for (path, names) in [
        (
            "/developer_api/v1/customer_sources",
            json!([{ "id": 6, "name": "Referral" }]),
        ),
        (
            "/developer_api/v1/loss_reasons",
            json!([{ "id": 4, "name": "Price" }]),
        ),
    ] {
        expect("GET", path)
            .respond_with(ResponseTemplate::new(200).set_body_json(names))
            .mount(server)
            .await;
    }
    let body =
        json!({ "settings": { "api_key": TOKEN, "user_email": EMAIL, "base_url": server.uri() } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/copper", &body))
            .await
            .0,
        200
    );
}

pub fn copper(rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", "copper")
}

/// Each page after the first re-reads the five records served last (the overlap that keeps
/// page numbers exact under change) in one call: page 2 of 195 starts at record 196, page 3
/// of 192 at record 385. So 450 records cost three calls, and pages hold 200, 190 and 60.
#[tokio::test]
async fn a_450_opportunity_account_is_read_by_page_number_one_call_a_page() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    for (page, size, ids) in [(1, 200, 1..201), (2, 195, 196..391), (3, 192, 385..451)] {
        expect("POST", "/developer_api/v1/opportunities/search")
            .and(body_json(json!({ "page_number": page, "page_size": size, "sort_by": "date_created", "sort_direction": "asc" })))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(ids.map(opportunity).collect())))
            .expect(1)
            .mount(&server)
            .await;
    }
    let pages = every_page(&app, "copper", "opportunities", 200).await;
    let seen: Vec<u64> = pages.iter().flat_map(page_ids).collect();
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(seen, (1..451).collect::<Vec<_>>());
    assert_eq!(sizes, [200, 190, 60]);
}

#[tokio::test]
async fn a_status_filter_becomes_copper_status_ids() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("POST", "/developer_api/v1/opportunities/search")
        .and(body_json(json!({ "page_number": 1, "page_size": 20, "sort_by": "name", "sort_direction": "desc", "status_ids": [1] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([opportunity(9)])))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(copper(
        app.get("/crm/opportunities?filter[status]=Won&sort[by]=title&sort[direction]=desc"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "9");
    assert_eq!(
        body["meta"]["cursors"]["next"],
        Value::Null,
        "a short page is the end"
    );
}

/// Copper's search filters by name, assignee, company and primary contact; its id filters
/// take lists of numbers. A filter value that cannot be a Copper id is a 400 before any call.
#[tokio::test]
async fn copper_search_filters_by_name_assignee_company_and_contact() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("POST", "/developer_api/v1/opportunities/search")
        .and(body_json(
            json!({ "page_number": 1, "page_size": 20, "sort_by": "date_created",
            "sort_direction": "asc", "name": "Rocket", "assignee_ids": [2], "company_ids": [3],
            "primary_contact_ids": [5] }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([opportunity(9)])))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(copper(app.get(
        "/crm/opportunities?filter[title]=Rocket&filter[owner_id]=2&filter[company_id]=3&filter[primary_contact_id]=5",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "9");
    let bad = call(copper(
        app.get("/crm/opportunities?filter[company_id]=acme"),
    ))
    .await;
    assert_error(&bad, 400, "RequestValidationError");
}

/// Company lists filter by name and by Copper's minimum modified date, in unix seconds, and
/// sort by name.
#[tokio::test]
async fn company_filters_become_copper_search_fields_in_unix_seconds() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("GET", "/developer_api/v1/custom_field_definitions")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    expect("POST", "/developer_api/v1/companies/search")
        .and(body_json(
            json!({ "page_number": 1, "page_size": 20, "sort_by": "name",
            "sort_direction": "desc", "name": "Dunder Mifflin",
            "minimum_modified_date": 1767225600 }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "id": 3,
            "name": "Dunder Mifflin", "websites": [], "phone_numbers": [], "socials": [],
            "custom_fields": [], "date_created": 1515434869, "date_modified": 1767225601 }])))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(copper(app.get(
        "/crm/companies?filter[name]=Dunder%20Mifflin&filter[updated_since]=2026-01-01T00:00:00Z&sort[by]=name&sort[direction]=desc",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "3");
    assert_eq!(body["data"][0]["updated_at"], "2026-01-01T00:00:01Z");
    assert_eq!(body["data"][0]["websites"], json!([]));
}

#[tokio::test]
async fn a_copper_connection_needs_the_user_email() {
    let app = spawn_app().await;
    let body = json!({ "settings": { "api_key": TOKEN } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/copper", &body))
            .await
            .0,
        200
    );
    let answer = call(copper(app.get("/crm/opportunities"))).await;
    assert_error(&answer, 422, "ConnectionSettingsError");
    assert_eq!(
        answer.1["detail"],
        json!({ "missing": [{ "user_email": "required" }] })
    );
}

#[tokio::test]
async fn custom_fields_are_named_on_read_and_found_by_name_on_write() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    // Read once: for the first record, not for the update (cached), and not for the unknown
    // name either, since the definitions were read moments ago (a later miss reads them again).
    expect("GET", "/developer_api/v1/custom_field_definitions")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "id": 8, "name": "Region", "data_type": "String" },
            { "id": 9, "name": "Seats", "data_type": "Float" }
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let mut record = opportunity(4);
    record["custom_fields"] = json!([{ "custom_field_definition_id": 8, "value": "EMEA" }, { "custom_field_definition_id": 9, "value": 25 }]);
    expect("GET", "/developer_api/v1/opportunities/4")
        .respond_with(ResponseTemplate::new(200).set_body_json(record.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let (_, one) = call(copper(app.get("/crm/opportunities/4"))).await;
    assert_eq!(
        one["data"]["custom_fields"],
        json!([{ "id": "8", "name": "Region", "value": "EMEA" }, { "id": "9", "name": "Seats", "value": 25 }])
    );

    expect("PUT", "/developer_api/v1/opportunities/4")
        .and(body_json(json!({ "custom_fields": [
            { "custom_field_definition_id": 8, "value": "APAC" },
            { "custom_field_definition_id": 9, "value": 30 }
        ] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(record))
        .expect(1)
        .mount(&server)
        .await;
    let update = json!({ "custom_fields": [{ "name": "Region", "value": "APAC" }, { "id": "9", "value": 30 }] });
    let (status, body) = call(copper(app.patch("/crm/opportunities/4", &update))).await;
    assert_eq!(status, 200, "{body}");

    let unknown = json!({ "custom_fields": [{ "name": "Nope", "value": 1 }] });
    let answer = call(copper(app.patch("/crm/opportunities/4", &unknown))).await;
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_error(&answer, 400, "RequestValidationError");
    assert_eq!(
        answer.1["message"],
        "Copper has no custom field named \"Nope\". If it was added at the vendor in the last 30 seconds, try again shortly."
    );
}

/// `loss_reason` and `lead_source` are written by name: the name becomes Copper's id, null
/// clears it, and a name Copper does not have is refused before anything is written.
#[tokio::test]
async fn loss_reasons_and_sources_are_written_by_name() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("PUT", "/developer_api/v1/opportunities/4")
        .and(body_json(
            json!({ "loss_reason_id": 4, "customer_source_id": null }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(opportunity(4)))
        .expect(1)
        .mount(&server)
        .await;
    let update = json!({ "loss_reason": "Price", "lead_source": null });
    let (status, body) = call(copper(app.patch("/crm/opportunities/4", &update))).await;
    assert_eq!(status, 200, "{body}");

    let unknown = json!({ "loss_reason": "Too blue" });
    let answer = call(copper(app.patch("/crm/opportunities/4", &unknown))).await;
    assert_error(&answer, 400, "RequestValidationError");
    assert!(
        answer.1["detail"].to_string().contains("Too blue"),
        "{}",
        answer.1
    );
}
