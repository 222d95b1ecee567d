//! The five opportunity operations over HubSpot: the exact vendor request and the exact unified
//! answer of each, and every page of a list.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

use crate::app::{assert_error, call, exact, page_ids, spawn_app};
use crate::hubspot::{answer, deal, expect, expect_read};

fn envelope(status: u16, word: &str, operation: &str, data: Value) -> Value {
    json!({
        "status_code": status, "status": word, "service": "hubspot",
        "resource": "opportunities", "operation": operation, "data": data,
    })
}

#[tokio::test]
async fn create_sends_the_exact_hubspot_body_and_answers_201() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("POST", "/crm/objects/2026-09/deals")
        .and(body_json(exact(
            r#"{"properties": {"dealname": "Rocket", "amount": "75000.0", "deal_currency_code": "USD",
                "closedate": "2020-10-30T00:00:00.000Z", "hs_priority": "high", "dealstage": "s1"},
               "associations": [
                 {"to": {"id": "501"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
                 {"to": {"id": "502"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
                 {"to": {"id": "901"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}]}"#,
        )))
        .respond_with(answer(201, deal(1001)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = exact(
        r#"{"title": "Rocket", "monetary_amount": 75000.0, "currency": "USD", "close_date": "2020-10-30",
            "priority": "High", "pipeline_stage_id": "s1", "contact_ids": ["501", "502"],
            "company_id": "901", "source_id": "web"}"#,
    );
    let (status, answer) = call(app.post("/crm/opportunities", &body)).await;
    assert_eq!(status, 201, "{answer}");
    let mut expected = envelope(201, "Created", "add", json!({ "id": "1001" }));
    expected["meta"] = json!({ "warnings": [{
        "type": "unmapped_fields", "operation": "add",
        "message": "hubspot has no field for: source_id; these values were not stored",
        "fields": ["source_id"],
    }]});
    assert_eq!(answer, expected);
}

#[tokio::test]
async fn update_patches_only_the_sent_properties() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .and(body_json(exact(
            r#"{"properties": {"dealname": "Renamed", "amount": "80000.25", "description": ""}}"#,
        )))
        .respond_with(answer(200, deal(1001)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = exact(r#"{"title": "Renamed", "monetary_amount": 80000.25, "description": null}"#);
    let (status, answer) = call(app.patch("/crm/opportunities/1001", &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        envelope(200, "OK", "update", json!({ "id": "1001" }))
    );
}

/// HubSpot's PATCH takes no associations: an update's contacts and company are set through
/// the deal's associations after its properties. `contact_ids` is the whole set (one contact
/// goes, one comes), `company_id` the one primary company; every named link is put with its
/// type, idempotently.
#[tokio::test]
async fn an_update_changes_a_deals_links_through_the_associations_api() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .and(body_json(
            json!({ "properties": { "dealname": "Renamed" } }),
        ))
        .respond_with(answer(200, deal(1001)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let links = "/crm/objects/2026-09/deals/1001/associations";
    let linked = |ids: &[u64]| {
        json!({ "results": ids.iter().map(|id| json!({ "toObjectId": id,
            "associationTypes": [{ "category": "HUBSPOT_DEFINED", "typeId": 3, "label": null }] }))
            .collect::<Vec<_>>() })
    };
    expect("GET", &format!("{links}/contacts"))
        .and(query_param("limit", "500"))
        .respond_with(answer(200, linked(&[501, 503])))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect("GET", &format!("{links}/companies"))
        .respond_with(answer(200, linked(&[901])))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let typed = |type_id: u32| json!([{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id }]);
    for (to, id, type_id) in [
        ("contacts", 501, 3),
        ("contacts", 502, 3),
        ("companies", 902, 5),
    ] {
        expect("PUT", &format!("{links}/{to}/{id}"))
            .and(body_json(typed(type_id)))
            .respond_with(answer(
                200,
                json!({ "fromObjectId": 1001, "toObjectId": id }),
            ))
            .expect(1)
            .mount(&app.hubspot)
            .await;
    }
    for (to, id) in [("contacts", 503), ("companies", 901)] {
        expect("DELETE", &format!("{links}/{to}/{id}"))
            .respond_with(wiremock::ResponseTemplate::new(204))
            .expect(1)
            .mount(&app.hubspot)
            .await;
    }
    let body = json!({ "title": "Renamed", "contact_ids": ["501", "502"], "company_id": "902" });
    let (status, answer) = call(app.patch("/crm/opportunities/1001", &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"], json!({ "id": "1001" }));
    let calls = app.hubspot.received_requests().await.unwrap();
    let patched = calls
        .iter()
        .position(|r| r.method.as_str() == "PATCH")
        .unwrap();
    let first_link = calls
        .iter()
        .position(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert!(patched < first_link, "the properties are saved first");
}

/// A link change that fails after the properties were saved says so, and is not retried.
#[tokio::test]
async fn a_failed_link_change_says_the_fields_were_saved() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .respond_with(answer(200, deal(1001)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect(
        "GET",
        "/crm/objects/2026-09/deals/1001/associations/companies",
    )
    .respond_with(answer(200, json!({ "results": [] })))
    .expect(1)
    .mount(&app.hubspot)
    .await;
    expect("PUT", "/crm/objects/2026-09/deals/1001/associations/companies/902")
        .respond_with(answer(
            400,
            json!({ "status": "error", "message": "Company 902 does not exist", "category": "VALIDATION_ERROR" }),
        ))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let body = json!({ "title": "Renamed", "company_id": "902" });
    let (status, answer) = call(app.patch("/crm/opportunities/1001", &body)).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["type_name"], "ConnectorExecutionError");
    assert_eq!(
        answer["detail"]["message"],
        "The record's fields were saved, but changing its companies failed: The CRM refused the request."
    );
}

/// A HubSpot list page of the given deal ids, pointing at the next page.
fn page(ids: std::ops::Range<u32>, next: Option<&str>) -> Value {
    let mut body = json!({ "results": ids.map(deal).collect::<Vec<_>>() });
    if let Some(after) = next {
        body["paging"] = json!({ "next": { "after": after, "link": "ignored" } });
    }
    body
}

#[tokio::test]
async fn a_limit_above_hubspots_page_size_is_filled_from_two_vendor_pages() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals")
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("after"))
        .respond_with(answer(200, page(1..101, Some("p2"))))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect_read("GET", "/crm/objects/2026-09/deals")
        .and(query_param("limit", "50"))
        .and(query_param("after", "p2"))
        .respond_with(answer(200, page(101..151, Some("p3"))))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, body) = call(app.get("/crm/opportunities?limit=150")).await;
    assert_eq!(status, 200);
    let ids = page_ids(&body);
    assert_eq!(ids, (1..151).collect::<Vec<_>>());
    assert!(
        body["meta"]["cursors"]["next"].is_string(),
        "p3 is still ahead"
    );
}

#[tokio::test]
async fn cursors_that_crmgate_did_not_issue_are_refused_before_any_call() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/objects/2026-09/deals")
        .respond_with(answer(200, page(1..3, Some("p2"))))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (_, body) = call(app.get("/crm/opportunities?limit=2")).await;
    let cursor = body["meta"]["cursors"]["next"].as_str().unwrap().to_owned();
    let mut tampered = cursor.into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "bm90IGEgY3Vyc29y", "x.y"] {
        let answer = call(app.get(&format!("/crm/opportunities?limit=2&cursor={bad}"))).await;
        assert_error(&answer, 400, "InvalidCursorError");
    }
}

/// A unified resource the connector has no table for is Apideck's 501, naming the connector,
/// for every operation and before anything reaches the vendor.
#[tokio::test]
async fn a_resource_the_connector_does_not_serve_is_a_501_naming_it() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let before = app.hubspot.received_requests().await.unwrap().len();
    let body = json!({ "type": "call", "title": "Call back in May" });
    for rq in [
        app.get("/crm/activities"),
        app.get("/crm/activities/1"),
        app.post("/crm/activities", &body),
        app.patch("/crm/activities/1", &body),
        app.delete("/crm/activities/1"),
    ] {
        let answer = call(rq).await;
        assert_error(&answer, 501, "UnsupportedOperationError");
        assert_eq!(
            answer.1["message"], "HubSpot does not serve activities through crmgate",
            "{}",
            answer.1
        );
    }
    assert_eq!(app.hubspot.received_requests().await.unwrap().len(), before);
}

/// Users are read through crmgate: a write to them is a 501 naming the connector and the
/// operation, before any vendor call.
#[tokio::test]
async fn a_write_to_a_read_only_resource_is_a_501_naming_the_operation() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let before = app.hubspot.received_requests().await.unwrap().len();
    let body = json!({ "name": "Ada", "emails": [{ "email": "ada@acme.test" }] });
    for (rq, verb) in [
        (app.post("/crm/users", &body), "create"),
        (app.patch("/crm/users/41", &body), "update"),
        (app.delete("/crm/users/41"), "delete"),
    ] {
        let answer = call(rq).await;
        assert_error(&answer, 501, "UnsupportedOperationError");
        assert_eq!(
            answer.1["message"],
            format!("HubSpot does not {verb} users through crmgate"),
            "{}",
            answer.1
        );
    }
    assert_eq!(app.hubspot.received_requests().await.unwrap().len(), before);
}

/// HubSpot derives a deal's status from its stage: writing `status` moves the deal to the
/// first stage of its pipeline that has it (closed with probability 1 for Won), read from the
/// pipeline's stages; a status the pipeline has no stage for is refused before any write.
#[tokio::test]
async fn a_written_status_moves_a_hubspot_deal_to_a_stage_that_has_it() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("GET", "/crm/objects/2026-09/deals/1001")
        .and(query_param("properties", "pipeline,dealstage"))
        .respond_with(answer(
            200,
            json!({ "id": "1001", "properties": {
            "pipeline": "renewals", "dealstage": "negotiation" } }),
        ))
        .expect(2)
        .mount(&app.hubspot)
        .await;
    let stage = |id: &str, order: u32, closed: &str, p: &str| {
        json!({ "id": id, "label": id,
        "displayOrder": order, "metadata": { "isClosed": closed, "probability": p } })
    };
    expect("GET", "/crm/pipelines/2026-09/deals/renewals")
        .respond_with(answer(
            200,
            json!({ "id": "renewals", "label": "Renewals", "stages": [
            stage("renewed", 3, "true", "1.0"),
            stage("negotiation", 1, "false", "0.6"),
            stage("signed", 2, "true", "1.0"),
        ] }),
        ))
        .expect(3)
        .mount(&app.hubspot)
        .await;
    expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .and(body_json(
            json!({ "properties": { "dealstage": "signed" } }),
        ))
        .respond_with(answer(200, deal(1001)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, answer) =
        call(app.patch("/crm/opportunities/1001", &json!({ "status": "Won" }))).await;
    assert_eq!(status, 200, "{answer}");

    let lost = call(app.patch("/crm/opportunities/1001", &json!({ "status": "Lost" }))).await;
    assert_error(&lost, 400, "ConnectorOperationUnsupportedError");
    assert_eq!(
        lost.1["detail"]["message"],
        "the deal pipeline \"renewals\" has no stage where deals are Lost"
    );
    let abandoned =
        call(app.patch("/crm/opportunities/1001", &json!({ "status": "Abandoned" }))).await;
    assert_error(&abandoned, 400, "RequestValidationError");

    // A stage and pipeline given beside the status are checked against the pipeline alone,
    // without reading the deal (the GET above expects its two reads only).
    let stage_given = call(app.patch(
        "/crm/opportunities/1001",
        &json!({ "status": "Lost", "pipeline_id": "renewals", "pipeline_stage_id": "signed" }),
    ))
    .await;
    assert_error(&stage_given, 400, "ConnectorOperationUnsupportedError");
    assert_eq!(
        stage_given.1["detail"]["message"],
        "stage \"signed\" is one where deals are Won, not Lost"
    );
}

/// One contact alone is added beside the others: no read of the deal's links, and a failure
/// does not claim saved fields when none were sent.
#[tokio::test]
async fn a_contact_added_alone_is_one_put_and_fails_as_itself() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("PUT", "/crm/objects/2026-09/deals/1001/associations/contacts/505")
        .respond_with(answer(
            400,
            json!({ "status": "error", "message": "Contact 505 does not exist", "category": "VALIDATION_ERROR" }),
        ))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let before = app.hubspot.received_requests().await.unwrap().len();
    let (status, answer) =
        call(app.patch("/crm/opportunities/1001", &json!({ "contact_id": "505" }))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["detail"]["message"],
        "Changing the record's contacts failed: The CRM refused the request."
    );
    let calls = app.hubspot.received_requests().await.unwrap();
    assert_eq!(calls.len() - before, 1, "the PUT only");
}
