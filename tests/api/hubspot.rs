//! HubSpot as the tests see it: recorded-shape deals and the exact requests crmgate must send.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockBuilder, ResponseTemplate};

use crate::app::HUBSPOT_TOKEN;

/// The `properties=` list the built-in mapping table asks for, in its order (`hs_tag_ids` is
/// where `tags` is); the driver adds the tenant's properties after it, then the account's
/// custom ones (here none).
pub const PROPERTIES: &str = "dealname,description,dealtype,amount,deal_currency_code,hs_deal_stage_probability,hs_projected_amount,closedate,closed_lost_reason,closed_won_reason,pipeline,dealstage,hs_analytics_source,hubspot_owner_id,hs_priority,hs_is_closed_won,hs_is_closed_lost,hs_tag_ids,num_notes,hs_v2_date_entered_current_stage,notes_last_updated,notes_last_contacted,hs_updated_by_user_id,hs_created_by_user_id,hs_lastmodifieddate,createdate";

/// The whole `properties=` list of a read: the table's, then the tenant's.
pub fn asked(tenant: &[&str]) -> String {
    let mut names = vec![PROPERTIES];
    names.extend(tenant);
    names.join(",")
}

/// A deal as HubSpot's list and read endpoints return it.
pub fn deal(id: u32) -> Value {
    serde_json::from_str(&format!(
        r#"{{
        "id": "{id}",
        "properties": {{
            "dealname": "Deal {id}", "description": "", "dealtype": "newbusiness",
            "amount": "1500.50", "deal_currency_code": "EUR", "hs_deal_stage_probability": "0.4",
            "hs_projected_amount": "600.20", "closedate": "2026-12-31T15:00:00Z",
            "pipeline": "default", "dealstage": "qualifiedtobuy", "hubspot_owner_id": "910901",
            "hs_priority": "medium", "hs_is_closed_won": "false", "hs_is_closed_lost": "false",
            "num_notes": "2", "hs_created_by_user_id": "77",
            "createdate": "2026-01-02T03:04:05Z", "hs_lastmodifieddate": "2026-02-03T04:05:06.789Z",
            "hs_object_id": "{id}"
        }},
        "associations": {{
            "contacts": {{"results": [{{"id": "501", "type": "deal_to_contact"}}]}},
            "companies": {{"results": [{{"id": "901", "type": "deal_to_company"}}]}}
        }},
        "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-02-03T04:05:06.789Z", "archived": false
    }}"#
    ))
    .unwrap()
}

/// A request to HubSpot with the connection's bearer token.
pub fn expect(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb)).and(path(route)).and(header(
        "authorization",
        format!("Bearer {HUBSPOT_TOKEN}").as_str(),
    ))
}

/// HubSpot's batch read of the deals' associations to one object type (`contacts`, `companies`).
pub fn association_batch_read(to: &str) -> String {
    format!("/crm/associations/2026-09/deals/{to}/batch/read")
}

/// A read of deals with the full property list and associations.
pub fn expect_read(verb: &str, route: &str) -> MockBuilder {
    expect(verb, route)
        .and(query_param("properties", asked(&[]).as_str()))
        .and(query_param("associations", "contacts,companies"))
}

/// HubSpot's JSON answer.
pub fn answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// HubSpot's error body.
pub fn error_body(message: &str, category: &str) -> Value {
    json!({
        "status": "error", "message": message, "correlationId": "c0ffee",
        "category": category, "errors": [{ "message": message, "code": "INVALID" }]
    })
}

/// The unified answer to a list whose one vendor page is `body`, sent as is.
pub async fn list_answered_with(app: &crate::app::TestApp, body: &str) -> (u16, Value) {
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json"))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    crate::app::call(app.get("/crm/opportunities")).await
}
