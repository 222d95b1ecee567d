//! The Zoho CRM plugin (`connectors.d/zoho-crm`) against a wiremock account: a connection made
//! through OAuth at the token answer's `api_domain`, calls that carry `Zoho-oauthtoken`, filters
//! as search criteria whose values cannot close their condition, and an empty list as a 204.

use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::app::{TestApp, call, spawn_app};
use crate::oauth::authorized_with;

/// An account with one custom deal field, connected through the whole OAuth flow.
async fn connected(app: &TestApp, account: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/crm/v8/settings/fields"))
        .and(query_param("module", "Deals"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "fields": [
                { "api_name": "Deal_Name", "field_label": "Deal Name", "custom_field": false },
                { "api_name": "Region", "field_label": "Region", "custom_field": true }
            ]
        })))
        .mount(account)
        .await;
    let answer = json!({
        "access_token": "zoho-access", "refresh_token": "zoho-refresh",
        "api_domain": account.uri(), "token_type": "Bearer", "expires_in": 3600
    });
    authorized_with(app, "zoho-crm", answer).await;
}

fn zoho(rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", "zoho-crm")
}

#[tokio::test]
async fn zoho_filters_are_escaped_search_criteria() {
    let app = spawn_app().await;
    let account = MockServer::start().await;
    connected(&app, &account).await;
    Mock::given(method("GET"))
        .and(path("/crm/v8/Deals/search"))
        .and(query_param(
            "criteria",
            r"(Deal_Name:equals:Acme\) or \(Owner:equals:1) and (Owner:equals:42)",
        ))
        .and(header("authorization", "Zoho-oauthtoken zoho-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{ "id": "5725767000001000001", "Deal_Name": "Acme) or (Owner:equals:1", "Stage": "Closed Won" }],
            "info": { "per_page": 20, "count": 1, "page": 1, "more_records": false }
        })))
        .expect(1)
        .mount(&account)
        .await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("filter[title]", "Acme) or (Owner:equals:1")
        .append_pair("filter[owner_id]", "42")
        .finish();
    let (status, body) = call(zoho(app.get(&format!("/crm/opportunities?{query}")))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["status"], "Won");
    // Zoho cannot filter by the status it derives from the stage.
    let (status, body) = call(zoho(app.get("/crm/opportunities?filter[status]=Won"))).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn an_empty_zoho_list_is_a_204_and_an_empty_page() {
    let app = spawn_app().await;
    let account = MockServer::start().await;
    connected(&app, &account).await;
    Mock::given(method("GET"))
        .and(path("/crm/v8/Deals"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&account)
        .await;
    let (status, body) = call(zoho(app.get("/crm/opportunities"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["meta"]["cursors"]["next"], json!(null));
}

/// Zoho's list over `total` deals, each page naming the next by its page token (the offset).
struct Tokens {
    total: usize,
}

impl wiremock::Respond for Tokens {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let param = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let start: usize =
            param("page_token").map_or(0, |t| t.trim_start_matches("tok-").parse().unwrap());
        let size: usize = param("per_page").unwrap().parse().unwrap();
        assert!(size <= 200, "Zoho serves at most 200 a page");
        let end = (start + size).min(self.total);
        let data: Vec<serde_json::Value> = (start..end)
            .map(|n| json!({ "id": (5725767000001000000_u64 + n as u64 + 1).to_string(), "Deal_Name": format!("D {n}") }))
            .collect();
        let more = end < self.total;
        ResponseTemplate::new(200).set_body_json(json!({
            "data": data,
            "info": { "more_records": more, "next_page_token": more.then(|| format!("tok-{end}")) }
        }))
    }
}

#[tokio::test]
async fn zoho_reads_250_deals_once_through_page_tokens() {
    let app = spawn_app().await;
    let account = MockServer::start().await;
    connected(&app, &account).await;
    Mock::given(method("GET"))
        .and(path("/crm/v8/Deals"))
        .respond_with(Tokens { total: 250 })
        .mount(&account)
        .await;
    let seen = crate::app::every_id(&app, "zoho-crm", "opportunities", 100).await;
    let want: Vec<String> = (1..=250_u64)
        .map(|n| (5725767000001000000_u64 + n).to_string())
        .collect();
    assert_eq!(seen, want);
}
