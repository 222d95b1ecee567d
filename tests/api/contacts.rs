//! Contacts and their links: filters through each vendor's search, the links a search hit
//! lacks read in batches, and a contact's company and deals changed on update.

use serde_json::json;
use wiremock::matchers::{body_json, body_partial_json, query_param};

use crate::app::{assert_error, call, spawn_app};
use crate::hubspot::{answer, expect};

/// Contact filters go through HubSpot's search (`EQ` on the mapped property, the company as
/// `associatedcompanyid`, `GTE` in unix milliseconds for a lower bound), sorted as asked; the
/// hits get their company and deals from the contact association batches.
#[tokio::test]
async fn contact_filters_run_on_hubspot_search_and_hits_get_their_links() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("GET", "/crm/properties/2026-09/contacts")
        .respond_with(answer(200, json!({ "results": [] })))
        .mount(&app.hubspot)
        .await;
    let hit = json!({ "id": "601", "archived": false, "properties": {
        "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com",
        "hs_object_id": "601", "createdate": "2026-01-02T03:04:05.000Z",
        "lastmodifieddate": "2026-02-03T04:05:06.000Z" } });
    expect("POST", "/crm/objects/2026-09/contacts/search")
        .and(body_partial_json(json!({
            "sorts": [{ "propertyName": "lastname", "direction": "DESCENDING" }],
            "filterGroups": [{ "filters": [
                { "propertyName": "email", "operator": "EQ", "value": "ada@example.com" },
                { "propertyName": "associatedcompanyid", "operator": "EQ", "value": "3002" },
                { "propertyName": "lastmodifieddate", "operator": "GTE", "value": "1767225600000" }
            ] }]
        })))
        .respond_with(answer(200, json!({ "total": 1, "results": [hit] })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let batch = |to: u64, type_id: u32| {
        json!({ "status": "COMPLETE", "results": [{ "from": { "id": "601" }, "to": [
            { "toObjectId": to, "associationTypes": [{ "category": "HUBSPOT_DEFINED", "typeId": type_id, "label": null }] }
        ] }] })
    };
    for (to, answer_body) in [("companies", batch(3002, 1)), ("deals", batch(1001, 4))] {
        expect(
            "POST",
            &format!("/crm/associations/2026-09/contacts/{to}/batch/read"),
        )
        .and(body_json(json!({ "inputs": [{ "id": "601" }] })))
        .respond_with(answer(200, answer_body))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    }
    let (status, page) = call(app.get(
        "/crm/contacts?filter[email]=ada@example.com&filter[company_id]=3002&filter[updated_since]=2026-01-01T00:00:00Z&sort[by]=last_name&sort[direction]=desc&fields=id,first_name,emails,company_id,opportunity_ids",
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"],
        json!([{
            "id": "601", "company_id": "3002", "first_name": "Ada",
            "emails": [{ "email": "ada@example.com", "type": "primary" }],
            "opportunity_ids": ["1001"]
        }])
    );
    let by_name = call(app.get("/crm/contacts?filter[name]=Ada%20Lovelace")).await;
    assert_error(&by_name, 400, "UnsupportedFiltersError");
}

/// A contact's update sets its links through the associations API as a deal's: the company
/// is the one primary company (type 1), `opportunity_ids` the whole set of deals (type 4); a
/// body of links alone sends no PATCH.
#[tokio::test]
async fn an_update_changes_a_contacts_company_and_deals() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let links = "/crm/objects/2026-09/contacts/601/associations";
    let linked = |ids: &[u64], type_id: u32| {
        json!({ "results": ids.iter().map(|id| json!({ "toObjectId": id,
            "associationTypes": [{ "category": "HUBSPOT_DEFINED", "typeId": type_id, "label": null }] }))
            .collect::<Vec<_>>() })
    };
    for (to, current, type_id) in [("companies", [3001], 1), ("deals", [1001], 4)] {
        expect("GET", &format!("{links}/{to}"))
            .and(query_param("limit", "500"))
            .respond_with(answer(200, linked(&current, type_id)))
            .expect(1)
            .mount(&app.hubspot)
            .await;
    }
    let typed = |type_id: u32| json!([{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id }]);
    for (to, id, type_id) in [("companies", 3002, 1), ("deals", 1002, 4)] {
        expect("PUT", &format!("{links}/{to}/{id}"))
            .and(body_json(typed(type_id)))
            .respond_with(answer(
                200,
                json!({ "fromObjectId": 601, "toObjectId": id }),
            ))
            .expect(1)
            .mount(&app.hubspot)
            .await;
    }
    for (to, id) in [("companies", 3001), ("deals", 1001)] {
        expect("DELETE", &format!("{links}/{to}/{id}"))
            .respond_with(wiremock::ResponseTemplate::new(204))
            .expect(1)
            .mount(&app.hubspot)
            .await;
    }
    let body = json!({ "company_id": "3002", "opportunity_ids": ["1002"] });
    let (status, answer) = call(app.patch("/crm/contacts/601", &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"], json!({ "id": "601" }));
    let calls = app.hubspot.received_requests().await.unwrap();
    assert!(
        calls.iter().all(|r| r.method.as_str() != "PATCH"),
        "links alone patch no properties"
    );
}

/// Copper's people search takes emails, owners and companies as lists and a lower bound in
/// unix seconds, sorted as asked; Pipedrive's person list takes the owner, the organization
/// and the lower bound as query parameters and refuses what it cannot filter by.
#[tokio::test]
async fn contact_filters_reach_copper_search_and_pipedrive_query() {
    let app = spawn_app().await;
    let copper = wiremock::MockServer::start().await;
    crate::copper::connect(&app, &copper).await;
    crate::copper::expect("GET", "/developer_api/v1/custom_field_definitions")
        .respond_with(answer(200, json!([])))
        .mount(&copper)
        .await;
    crate::copper::expect("POST", "/developer_api/v1/people/search")
        .and(body_json(json!({
            "page_number": 1, "page_size": 20, "sort_by": "last_name", "sort_direction": "desc",
            "emails": ["michael@dundermifflin.example"], "assignee_ids": [2], "company_ids": [7],
            "minimum_modified_date": 1767225600
        })))
        .respond_with(answer(
            200,
            json!([{ "id": 5, "name": "Michael Scott",
            "emails": [{ "email": "michael@dundermifflin.example", "category": "work" }] }]),
        ))
        .expect(1)
        .mount(&copper)
        .await;
    let (status, page) = call(crate::copper::copper(app.get(
        "/crm/contacts?filter[email]=michael@dundermifflin.example&filter[owner_id]=2&filter[company_id]=7&filter[updated_since]=2026-01-01T00:00:00Z&sort[by]=last_name&sort[direction]=desc&fields=id,name,emails",
    )))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"],
        json!([{ "id": "5", "name": "Michael Scott",
            "emails": [{ "email": "michael@dundermifflin.example", "type": "work" }] }])
    );

    let pipedrive = wiremock::MockServer::start().await;
    crate::pipedrive::connect(&app, &pipedrive).await;
    crate::pipedrive::expect("GET", "/api/v2/personFields")
        .respond_with(answer(200, crate::pipedrive::envelope(json!([]), None)))
        .mount(&pipedrive)
        .await;
    crate::pipedrive::expect("GET", "/api/v2/persons")
        .and(query_param("owner_id", "77"))
        .and(query_param("org_id", "901"))
        .and(query_param("updated_since", "2026-01-01T00:00:00Z"))
        .and(query_param("sort_by", "add_time"))
        .and(query_param("sort_direction", "asc"))
        .respond_with(answer(
            200,
            crate::pipedrive::envelope(json!([{ "id": 601, "name": "Ada", "org_id": 901 }]), None),
        ))
        .expect(1)
        .mount(&pipedrive)
        .await;
    let (status, page) = call(crate::pipedrive::pipedrive(app.get(
        "/crm/contacts?filter[owner_id]=77&filter[company_id]=901&filter[updated_since]=2026-01-01T00:00:00Z&sort[by]=created_at&fields=id,company_id",
    )))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"], json!([{ "id": "601", "company_id": "901" }]));
    let created = call(crate::pipedrive::pipedrive(
        app.get("/crm/contacts?filter[created_since]=2026-01-01T00:00:00Z"),
    ))
    .await;
    assert_error(&created, 400, "UnsupportedFiltersError");
}
