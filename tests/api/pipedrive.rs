//! Pipedrive (API v2, v1 for notes) through the same unified calls: the exact requests and
//! answers, paging by cursor and by offset, filters, and choosing between two connections.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use crate::app::{TestApp, assert_error, call, every_page, page_ids, spawn_app};
use crate::hubspot::answer;

const TOKEN: &str = "pd-token-456";

pub fn expect(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("x-api-token", TOKEN))
}

pub fn deal(id: u64) -> Value {
    serde_json::from_str(&format!(
        r#"{{"id": {id}, "title": "Deal {id}", "value": 1500.50, "currency": "EUR", "probability": 40,
            "expected_close_date": "2026-12-31", "lost_reason": null, "pipeline_id": 1, "stage_id": 3,
            "channel": null, "origin": "API", "person_id": 501, "org_id": 901, "owner_id": 77,
            "status": "open", "label_ids": [], "stage_change_time": "2026-03-01T10:00:00Z",
            "creator_user_id": 77, "is_deleted": false, "add_time": "2026-01-02T03:04:05Z",
            "update_time": "2026-02-03T04:05:06Z", "custom_fields": {{}}}}"#
    ))
    .unwrap()
}

pub fn envelope(data: Value, next: Option<&str>) -> Value {
    json!({ "success": true, "data": data, "additional_data": { "next_cursor": next } })
}

pub async fn connect(app: &TestApp, server: &MockServer) {
    let body = json!({ "settings": { "api_key": TOKEN, "base_url": server.uri() } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/pipedrive", &body))
            .await
            .0,
        200
    );
}

pub fn pipedrive(rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", "pipedrive")
}

#[tokio::test]
async fn a_250_deal_account_is_read_once_through_cursors() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    let pages = [
        (None, 1..101, Some("c2")),
        (Some("c2"), 101..201, Some("c3")),
        (Some("c3"), 201..251, None),
    ];
    for (cursor, ids, next) in pages {
        let mock = expect("GET", "/api/v2/deals").and(query_param("limit", "100"));
        let mock = match cursor {
            Some(c) => mock.and(query_param("cursor", c)),
            None => mock.and(query_param_is_missing("cursor")),
        };
        let data: Vec<Value> = ids.map(deal).collect();
        mock.respond_with(ResponseTemplate::new(200).set_body_json(envelope(json!(data), next)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let pages = every_page(&app, "pipedrive", "opportunities", 100).await;
    let seen: Vec<u64> = pages.iter().flat_map(page_ids).collect();
    assert_eq!(seen, (1..251).collect::<Vec<_>>());
}

#[tokio::test]
async fn filters_and_sort_become_pipedrive_query_parameters() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("GET", "/api/v2/deals")
        .and(query_param("status", "won"))
        .and(query_param("org_id", "901"))
        .and(query_param("sort_by", "add_time"))
        .and(query_param("sort_direction", "desc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(json!([deal(3)]), None)))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(pipedrive(app.get(
        "/crm/opportunities?filter[status]=Won&filter[company_id]=901&sort[by]=created_at&sort[direction]=desc",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "3");
    let probability = call(pipedrive(
        app.get("/crm/opportunities?filter[win_probability]=50"),
    ))
    .await;
    assert_error(&probability, 400, "UnsupportedFiltersError");
}

fn note(id: u64) -> Value {
    json!({ "id": id, "content": format!("Note {id}"), "deal_id": 42, "person_id": null,
            "org_id": null, "lead_id": null, "user_id": 77, "last_update_user_id": 77,
            "active_flag": true, "add_time": "2026-01-02 03:04:05", "update_time": "2026-01-02 03:04:05" })
}

/// Notes live on v1: offsets (`start`) with `more_items_in_collection`, not cursors.
#[tokio::test]
async fn a_250_note_account_is_read_once_through_v1_offsets() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    for (start, ids) in [(0, 1..101), (100, 101..201), (200, 201..251)] {
        let mock = expect("GET", "/v1/notes").and(query_param("limit", "100"));
        let mock = match start {
            0 => mock.and(query_param_is_missing("start")),
            s => mock.and(query_param("start", s.to_string())),
        };
        let more = start < 200;
        let data: Vec<Value> = ids.map(note).collect();
        let page = json!({ "success": true, "data": data, "additional_data": { "pagination":
            { "start": start, "limit": 100, "more_items_in_collection": more } } });
        mock.respond_with(ResponseTemplate::new(200).set_body_json(page))
            .expect(1)
            .mount(&server)
            .await;
    }
    let pages = every_page(&app, "pipedrive", "notes", 100).await;
    let seen: Vec<u64> = pages.iter().flat_map(page_ids).collect();
    assert_eq!(seen, (1..251).collect::<Vec<_>>());
    assert_eq!(pages[0]["data"][0]["created_at"], "2026-01-02T03:04:05Z");
}

/// A note's owner and `updated_since` (sent on in UTC) are v1 query parameters; Pipedrive's
/// notes filter creation by day only, so `created_since` is refused rather than loosened.
#[tokio::test]
async fn note_filters_become_v1_query_parameters() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("GET", "/v1/notes")
        .and(query_param("user_id", "77"))
        .and(query_param("updated_since", "2026-01-01T08:00:00Z"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "success": true,
            "data": [note(3)], "additional_data": { "pagination": { "start": 0, "limit": 20,
            "more_items_in_collection": false } } })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(pipedrive(app.get(
        "/crm/notes?filter[owner_id]=77&filter[updated_since]=2026-01-01T10:00:00%2B02:00",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "3");
    assert_eq!(body["data"][0]["opportunity_id"], "42");
    let created = call(pipedrive(
        app.get("/crm/notes?filter[created_since]=2026-01-01T00:00:00Z"),
    ))
    .await;
    assert_error(&created, 400, "UnsupportedFiltersError");
}

/// Organizations filter by `updated_since` and sort by change time as query parameters; a
/// name filter, which needs Pipedrive's search endpoint, is refused with the ones there are.
#[tokio::test]
async fn company_filters_and_sorts_become_organization_query_parameters() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("GET", "/api/v2/organizationFields")
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(json!([]), None)))
        .mount(&server)
        .await;
    expect("GET", "/api/v2/organizations")
        .and(query_param("updated_since", "2026-01-01T00:00:00Z"))
        .and(query_param("sort_by", "update_time"))
        .and(query_param("sort_direction", "asc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            json!([{ "id": 901, "name": "Acme", "custom_fields": {}, "address": null }]),
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(pipedrive(app.get(
        "/crm/companies?filter[updated_since]=2026-01-01T00:00:00Z&sort[by]=updated_at",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["name"], "Acme");
    assert_eq!(body["data"][0]["addresses"], json!([]));
    let created = call(pipedrive(
        app.get("/crm/companies?filter[created_since]=2026-01-01T00:00:00Z"),
    ))
    .await;
    assert_error(&created, 400, "UnsupportedFiltersError");
}

#[tokio::test]
async fn with_two_connections_the_service_must_be_named() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    let answer = call(app.get("/crm/opportunities/1")).await;
    assert_error(&answer, 400, "RequestHeadersValidationError");
    let detail = answer.1["detail"].as_str().unwrap();
    assert!(detail.contains("hubspot, pipedrive"), "{detail}");
}

/// One `dealFields` read names both custom fields and labels; a write names labels by name
/// or id, and a label Pipedrive does not have is refused before anything is written.
#[tokio::test]
async fn labels_and_custom_fields_are_named_from_one_deal_fields_read() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    let hash = "8d5a3f0e2c1b4a6d9e7f0a1b2c3d4e5f6a7b8c9d";
    expect("GET", "/api/v2/dealFields")
        .and(query_param("limit", "500"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            json!([
                { "field_code": "title", "field_name": "Title", "is_custom_field": false },
                { "field_code": "label_ids", "field_name": "Label", "is_custom_field": false,
                  "options": [{ "id": 5, "label": "Hot" }, { "id": 6, "label": "Warm" }] },
                { "field_code": hash, "field_name": "Region", "is_custom_field": true }
            ]),
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let mut record = deal(42);
    record["custom_fields"] = json!({ hash: "EMEA" });
    record["label_ids"] = json!([6, 9]);
    expect("GET", "/api/v2/deals/42")
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(record.clone(), None)))
        .expect(1)
        .mount(&server)
        .await;
    let (_, one) = call(pipedrive(app.get("/crm/opportunities/42"))).await;
    assert_eq!(
        one["data"]["custom_fields"],
        json!([{ "id": hash, "name": "Region", "value": "EMEA" }])
    );
    assert_eq!(
        one["data"]["tags"],
        json!(["Warm", "9"]),
        "a label without a name stays its id"
    );

    expect("PATCH", "/api/v2/deals/42")
        .and(body_json(json!({ "label_ids": [5, 6] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(record, None)))
        .expect(1)
        .mount(&server)
        .await;
    let update = json!({ "tags": ["Hot", "6"] });
    let (status, body) = call(pipedrive(app.patch("/crm/opportunities/42", &update))).await;
    assert_eq!(status, 200, "{body}");

    let unknown = json!({ "tags": ["Lukewarm"] });
    let answer = call(pipedrive(app.patch("/crm/opportunities/42", &unknown))).await;
    assert_error(&answer, 400, "RequestValidationError");
    assert!(
        answer.1["detail"].to_string().contains("Lukewarm"),
        "{}",
        answer.1
    );
}

/// A title filter goes through the deal search (an exact match on the title), the status and
/// organization filters with it under the search's names; the deals the hits name are read
/// by id and served in the hits' order, whatever order the read answers them in, without the
/// one deleted since the search.
#[tokio::test]
async fn a_title_filter_searches_and_reads_the_deals_it_finds() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("GET", "/api/v2/dealFields")
        .respond_with(answer(200, envelope(json!([]), None)))
        .mount(&server)
        .await;
    let hit = |id: u64| json!({ "result_score": 1.0, "item": { "id": id, "type": "deal", "title": "Big deal" } });
    expect("GET", "/api/v2/deals/search")
        .and(query_param("term", "Big deal"))
        .and(query_param("fields", "title"))
        .and(query_param("exact_match", "true"))
        .and(query_param("status", "open"))
        .and(query_param("organization_id", "901"))
        .and(query_param("limit", "3"))
        .respond_with(answer(
            200,
            envelope(
                json!({ "items": [hit(7), hit(9), hit(3)] }),
                Some("next-hits"),
            ),
        ))
        .expect(1)
        .mount(&server)
        .await;
    expect("GET", "/api/v2/deals")
        .and(query_param("ids", "7,9,3"))
        .respond_with(answer(
            200,
            envelope(
                json!([{ "id": 3, "title": "Big deal", "status": "open" },
                    { "id": 7, "title": "Big deal", "status": "open" }]),
                None,
            ),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(pipedrive(app.get(
        "/crm/opportunities?filter[title]=Big%20deal&filter[status]=Open&filter[company_id]=901&limit=3&fields=id,title",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!([{ "id": "7", "title": "Big deal" }, { "id": "3", "title": "Big deal" }])
    );
    assert!(body["meta"]["cursors"]["next"].is_string(), "{body}");

    // The owner is a filter of the list only: with a title it is refused, not dropped.
    let owner = call(pipedrive(
        app.get("/crm/opportunities?filter[title]=Big%20deal&filter[owner_id]=77"),
    ))
    .await;
    assert_error(&owner, 400, "ConnectorOperationUnsupportedError");
    assert!(
        owner.1["detail"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot also filter by owner_id"),
        "{}",
        owner.1
    );
}

/// A person is searched by one of name, email or phone at a time; a search with no hits
/// reads nothing more.
#[tokio::test]
async fn a_person_is_searched_by_one_term_at_a_time() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    expect("GET", "/api/v2/personFields")
        .respond_with(answer(200, envelope(json!([]), None)))
        .mount(&server)
        .await;
    expect("GET", "/api/v2/persons/search")
        .and(query_param("term", "ada@example.com"))
        .and(query_param("fields", "name,email,phone"))
        .and(query_param("exact_match", "true"))
        .respond_with(answer(200, envelope(json!({ "items": [] }), None)))
        .expect(1)
        .mount(&server)
        .await;
    expect("GET", "/api/v2/persons")
        .respond_with(answer(200, envelope(json!([]), None)))
        .expect(0)
        .mount(&server)
        .await;
    let (status, body) = call(pipedrive(
        app.get("/crm/contacts?filter[email]=ada@example.com"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!([]));
    let both = call(pipedrive(
        app.get("/crm/contacts?filter[email]=ada@example.com&filter[name]=Ada"),
    ))
    .await;
    assert_error(&both, 400, "RequestValidationError");
    assert_eq!(
        both.1["message"],
        "Invalid query parameters: Pipedrive filters by one of filter[email] and filter[name]; give one"
    );
}
