//! The five opportunity operations over HubSpot: the exact vendor request and the exact unified
//! answer of each, and every page of a list.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::{body_json, query_param, query_param_is_missing};

use crate::app::{assert_error, call, exact, spawn_app};
use crate::hubspot::{answer, deal, expect, expect_read, opportunity};

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
    expect("POST", "/crm/v3/objects/deals")
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
async fn get_asks_for_every_mapped_property_and_maps_the_deal() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/v3/objects/deals/1001")
        .respond_with(answer(200, deal(1001)))
        .expect(3)
        .mount(&app.hubspot)
        .await;
    let (status, body) = call(app.get("/crm/opportunities/1001")).await;
    assert_eq!(status, 200);
    assert_eq!(body, envelope(200, "OK", "one", opportunity(1001)));

    let (_, raw) = call(app.get("/crm/opportunities/1001?raw=true")).await;
    assert_eq!(
        raw["_raw"],
        deal(1001),
        "raw=true carries the HubSpot record"
    );
    assert_eq!(raw["data"], opportunity(1001));

    let (_, sparse) = call(app.get("/crm/opportunities/1001?fields=id,close_date")).await;
    assert_eq!(
        sparse["data"],
        json!({ "id": "1001", "title": "Deal 1001", "close_date": "2026-12-31" })
    );
}

#[tokio::test]
async fn update_patches_only_the_sent_properties() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("PATCH", "/crm/v3/objects/deals/1001")
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

    let refused = call(app.patch(
        "/crm/opportunities/1001",
        &json!({ "title": "x", "contact_ids": ["1"] }),
    ))
    .await;
    assert_error(&refused, 400, "RequestValidationError");
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap()
            .contains("contact_ids")
    );
}

#[tokio::test]
async fn delete_archives_and_answers_the_id() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("DELETE", "/crm/v3/objects/deals/1001")
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, body) = call(app.delete("/crm/opportunities/1001")).await;
    assert_eq!(status, 200);
    assert_eq!(body, envelope(200, "OK", "delete", json!({ "id": "1001" })));
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
async fn every_record_of_a_three_page_list_is_reached_once_through_cursors() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let routes = [
        (None, page(1..3, Some("p2"))),
        (Some("p2"), page(3..5, Some("p3"))),
        (Some("p3"), page(5..6, None)),
    ];
    for (after, body) in routes {
        let mock = expect_read("GET", "/crm/v3/objects/deals").and(query_param("limit", "2"));
        let mock = match after {
            Some(after) => mock.and(query_param("after", after)),
            None => mock.and(query_param_is_missing("after")),
        };
        mock.respond_with(answer(200, body))
            .expect(1)
            .mount(&app.hubspot)
            .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..3 {
        let path = match &cursor {
            Some(c) => format!("/crm/opportunities?limit=2&cursor={c}"),
            None => "/crm/opportunities?limit=2".to_owned(),
        };
        let (status, body) = call(app.get(&path)).await;
        assert_eq!(status, 200, "{body}");
        for record in body["data"].as_array().unwrap() {
            assert!(record["id"].is_string() && record["title"].is_string());
            seen.push(record["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            body["meta"]["items_on_page"],
            body["data"].as_array().unwrap().len()
        );
        assert_eq!(body["meta"]["cursors"]["current"], json!(cursor));
        cursor = body["meta"]["cursors"]["next"].as_str().map(str::to_owned);
        assert_eq!(body["links"]["next"].is_string(), cursor.is_some());
    }
    assert_eq!(seen, ["1", "2", "3", "4", "5"]);
    assert_eq!(cursor, None, "the last page says so");
}

#[tokio::test]
async fn a_limit_above_hubspots_page_size_is_filled_from_two_vendor_pages() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect_read("GET", "/crm/v3/objects/deals")
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("after"))
        .respond_with(answer(200, page(1..101, Some("p2"))))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect_read("GET", "/crm/v3/objects/deals")
        .and(query_param("limit", "50"))
        .and(query_param("after", "p2"))
        .respond_with(answer(200, page(101..151, Some("p3"))))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (status, body) = call(app.get("/crm/opportunities?limit=150")).await;
    assert_eq!(status, 200);
    let ids: Vec<u32> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect();
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
    expect_read("GET", "/crm/v3/objects/deals")
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

#[tokio::test]
async fn an_id_that_cannot_be_a_hubspot_id_is_not_found_without_a_call() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    expect("GET", "/crm/v3/objects/deals/abc")
        .respond_with(answer(200, deal(1)))
        .expect(0)
        .mount(&app.hubspot)
        .await;
    let answer = call(app.get("/crm/opportunities/abc")).await;
    assert_error(&answer, 404, "EntityNotFoundError");
}
