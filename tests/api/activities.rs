//! Activities: Pipedrive's filters as query parameters and its type keys, Copper's one parent
//! record written from whichever unified link a create gives, and refused when it gives two.

use serde_json::json;
use wiremock::matchers::{body_json, query_param};

use crate::app::{assert_error, call, spawn_app};
use crate::hubspot::answer;

/// Pipedrive's activity list takes the owner, the organization, the person and the lower
/// bound as query parameters and sorts as asked; a type filter (only a saved filter can do
/// it) and a type Pipedrive has no key for are 400s with no call.
#[tokio::test]
async fn pipedrive_activities_filter_by_query_and_refuse_what_it_cannot_take() {
    let app = spawn_app().await;
    let pipedrive = wiremock::MockServer::start().await;
    crate::pipedrive::connect(&app, &pipedrive).await;
    crate::pipedrive::expect("GET", "/api/v2/activities")
        .and(query_param("owner_id", "77"))
        .and(query_param("org_id", "901"))
        .and(query_param("person_id", "902"))
        .and(query_param("updated_since", "2026-01-01T00:00:00Z"))
        .and(query_param("sort_by", "update_time"))
        .and(query_param("sort_direction", "desc"))
        .respond_with(answer(
            200,
            crate::pipedrive::envelope(
                json!([{ "id": 5, "subject": "Lunch with Ada", "type": "lunch", "done": true,
                    "due_date": "2026-03-04", "person_id": 902, "org_id": 901 }]),
                None,
            ),
        ))
        .expect(1)
        .mount(&pipedrive)
        .await;
    let (status, page) = call(crate::pipedrive::pipedrive(app.get(
        "/crm/activities?filter[owner_id]=77&filter[company_id]=901&filter[contact_id]=902&filter[updated_since]=2026-01-01T00:00:00Z&sort[by]=updated_at&sort[direction]=desc&fields=id,type,title,done,activity_date,contact_id",
    )))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"],
        json!([{ "id": "5", "type": "meeting", "title": "Lunch with Ada", "done": true,
            "activity_date": "2026-03-04", "contact_id": "902" }])
    );
    let by_type = call(crate::pipedrive::pipedrive(
        app.get("/crm/activities?filter[type]=call"),
    ))
    .await;
    assert_error(&by_type, 400, "UnsupportedFiltersError");
    let (status, refused) = call(crate::pipedrive::pipedrive(app.post(
        "/crm/activities",
        &json!({ "type": "send-letter", "title": "Post the contract" }),
    )))
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid property type"),
        "{refused}"
    );
}

/// A Copper activity's parent comes from the one link a create gives (here the opportunity),
/// its type from the account's activity types by name; a create giving two links is refused
/// before any call; the search filters by one parent (two are refused), and a system event
/// reads as `other` with its parent's link.
#[tokio::test]
async fn copper_activities_have_one_parent() {
    let app = spawn_app().await;
    let copper = copper_with_types(
        &app,
        json!({ "user": [{ "id": 0, "category": "user", "name": "Note" },
            { "id": 190712, "category": "user", "name": "Meeting" }],
            "system": [{ "id": 1, "category": "system", "name": "Property Changed" }] }),
    )
    .await;
    crate::copper::expect("POST", "/developer_api/v1/activities")
        .and(body_json(json!({
            "parent": { "type": "opportunity", "id": 3 },
            "type": { "category": "user", "id": 190712 },
            "details": "Demo"
        })))
        .respond_with(answer(
            200,
            json!({ "id": 11, "parent": { "type": "opportunity", "id": 3 },
            "type": { "category": "user", "id": 190712 }, "details": "Demo" }),
        ))
        .expect(1)
        .mount(&copper)
        .await;
    let (status, created) = call(crate::copper::copper(app.post(
        "/crm/activities",
        &json!({ "type": "meeting", "description": "Demo", "opportunity_id": "3" }),
    )))
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["id"], "11");

    let (status, refused) = call(crate::copper::copper(app.post(
        "/crm/activities",
        &json!({ "type": "note", "company_id": "7", "contact_id": "5" }),
    )))
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        refused["message"],
        "Properties company_id and contact_id cannot both be written: Copper keeps one of them"
    );

    crate::copper::expect("POST", "/developer_api/v1/activities/search")
        .and(body_json(json!({
            "page_number": 1, "page_size": 20, "parent": { "type": "company", "id": 7 }
        })))
        .respond_with(answer(
            200,
            json!([{ "id": 13, "parent": { "type": "company", "id": 7 },
            "type": { "category": "user", "id": 0 }, "details": "Sent the quote" }]),
        ))
        .expect(1)
        .mount(&copper)
        .await;
    let (status, listed) = call(crate::copper::copper(
        app.get("/crm/activities?filter[company_id]=7&fields=id,type,description,company_id"),
    ))
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["data"],
        json!([{ "id": "13", "type": "note", "description": "Sent the quote", "company_id": "7" }])
    );
    let both = call(crate::copper::copper(
        app.get("/crm/activities?filter[company_id]=7&filter[contact_id]=5"),
    ))
    .await;
    assert_error(&both, 400, "RequestValidationError");

    crate::copper::expect("GET", "/developer_api/v1/activities/12")
        .respond_with(answer(
            200,
            json!({ "id": 12, "parent": { "type": "company", "id": 7 },
            "type": { "category": "system", "id": 1 }, "details": null }),
        ))
        .mount(&copper)
        .await;
    let (status, event) = call(crate::copper::copper(
        app.get("/crm/activities/12?fields=id,type,company_id,contact_id"),
    ))
    .await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(
        event["data"],
        json!({ "id": "12", "type": "other", "company_id": "7", "contact_id": null })
    );
}

/// A Copper note is an activity of the type Note: reading another activity's id as a note is
/// not found, while the same id reads as an activity.
#[tokio::test]
async fn a_copper_note_read_of_another_activity_is_not_found() {
    let app = spawn_app().await;
    let copper = copper_with_types(
        &app,
        json!({ "user": [{ "id": 190711, "category": "user", "name": "Phone Call" }] }),
    )
    .await;
    crate::copper::expect("GET", "/developer_api/v1/activities/14")
        .respond_with(answer(
            200,
            json!({ "id": 14, "parent": { "type": "person", "id": 5 },
            "type": { "category": "user", "id": 190711 }, "details": "Called" }),
        ))
        .expect(2)
        .mount(&copper)
        .await;
    let note = call(crate::copper::copper(app.get("/crm/notes/14"))).await;
    assert_error(&note, 404, "EntityNotFoundError");
    let (status, activity) = call(crate::copper::copper(
        app.get("/crm/activities/14?fields=id,description"),
    ))
    .await;
    assert_eq!(status, 200, "{activity}");
    assert_eq!(
        activity["data"],
        json!({ "id": "14", "type": "call", "description": "Called" })
    );
}

/// A Copper connection whose account has the activity types `types`.
async fn copper_with_types(
    app: &crate::app::TestApp,
    types: serde_json::Value,
) -> wiremock::MockServer {
    let copper = wiremock::MockServer::start().await;
    crate::copper::connect(app, &copper).await;
    crate::copper::expect("GET", "/developer_api/v1/activity_types")
        .respond_with(answer(200, types))
        .mount(&copper)
        .await;
    copper
}
