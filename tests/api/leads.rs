//! Lead lists: Copper's search takes the unified filters in its body, Pipedrive's v1 list
//! takes its sort as one `field DIRECTION` parameter and refuses the filters only its search
//! could answer.

use serde_json::json;
use wiremock::matchers::{body_json, query_param};

use crate::app::{assert_error, call, spawn_app};
use crate::hubspot::answer;

/// Copper's lead search gets the name, the emails as a list and the phone number, sorted as
/// asked; the one email object reads as a one-item list.
#[tokio::test]
async fn lead_filters_reach_copper_search() {
    let app = spawn_app().await;
    let copper = wiremock::MockServer::start().await;
    crate::copper::connect(&app, &copper).await;
    for catalog in ["custom_field_definitions", "customer_sources"] {
        crate::copper::expect("GET", &format!("/developer_api/v1/{catalog}"))
            .respond_with(answer(200, json!([])))
            .mount(&copper)
            .await;
    }
    crate::copper::expect("POST", "/developer_api/v1/leads/search")
        .and(body_json(json!({
            "page_number": 1, "page_size": 20, "sort_by": "first_name", "sort_direction": "desc",
            "name": "Jim Halpert", "emails": ["jim@dundermifflin.example"],
            "phone_number": "415-123-45678"
        })))
        .respond_with(answer(
            200,
            json!([{ "id": 7, "name": "Jim Halpert",
                "email": { "email": "jim@dundermifflin.example", "category": "work" } }]),
        ))
        .expect(1)
        .mount(&copper)
        .await;
    let (status, page) = call(crate::copper::copper(app.get(
        "/crm/leads?filter[name]=Jim%20Halpert&filter[email]=jim@dundermifflin.example&filter[phone_number]=415-123-45678&sort[by]=first_name&sort[direction]=desc&fields=id,name,emails",
    )))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"],
        json!([{ "id": "7", "name": "Jim Halpert",
            "emails": [{ "email": "jim@dundermifflin.example", "type": "work" }] }])
    );
}

/// Pipedrive's lead list sorts by `title DESC` for a name sort, reads uuid ids as they are,
/// and answers a name filter with a 400 rather than an unfiltered page.
#[tokio::test]
async fn pipedrive_leads_sort_in_one_parameter_and_refuse_search_filters() {
    let app = spawn_app().await;
    let pipedrive = wiremock::MockServer::start().await;
    crate::pipedrive::connect(&app, &pipedrive).await;
    crate::pipedrive::expect("GET", "/api/v2/dealFields")
        .respond_with(answer(200, crate::pipedrive::envelope(json!([]), None)))
        .mount(&pipedrive)
        .await;
    let id = "adf21080-0e10-11eb-879b-05d71fb426ec";
    crate::pipedrive::expect("GET", "/v1/leads")
        .and(query_param("sort", "title DESC"))
        .and(query_param("limit", "20"))
        .respond_with(answer(
            200,
            json!({ "success": true,
                "data": [{ "id": id, "title": "Jim Halpert lead", "person_id": 1, "organization_id": null }],
                "additional_data": { "pagination": {
                    "start": 0, "limit": 20, "more_items_in_collection": false } } }),
        ))
        .expect(1)
        .mount(&pipedrive)
        .await;
    let (status, page) = call(crate::pipedrive::pipedrive(app.get(
        "/crm/leads?sort[by]=name&sort[direction]=desc&fields=id,name,contact_id,company_id",
    )))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"],
        json!([{ "id": id, "name": "Jim Halpert lead", "contact_id": "1", "company_id": null }])
    );
    let by_name = call(crate::pipedrive::pipedrive(
        app.get("/crm/leads?filter[name]=Jim"),
    ))
    .await;
    assert_error(&by_name, 400, "UnsupportedFiltersError");
}
