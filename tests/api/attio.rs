//! The Attio plugin (`connectors.d/attio`) against a wiremock Attio: deals read through the
//! query endpoint's body offsets, shorthand filters in its `filter` object, and a 429 whose
//! `Retry-After` is an HTTP date.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::app::{TestApp, assert_error, call, every_page, exchange, spawn_app};

const TOKEN: &str = "attio-token";

fn deal(n: usize) -> Value {
    json!({
        "id": { "workspace_id": "w", "object_id": "o", "record_id": format!("00000000-0000-4000-8000-{n:012}") },
        "created_at": "2026-01-02T03:04:05.123456789Z",
        "values": {
            "name": [{ "value": format!("Deal {n}"), "attribute_type": "text" }],
            "value": [{ "currency_value": 1500.5, "currency_code": "EUR", "attribute_type": "currency" }],
            "stage": [{ "status": { "title": "Won 🎉", "id": { "status_id": "s-won" } }, "attribute_type": "status" }],
        }
    })
}

/// The deals query over `total` deals, answering any body `offset`/`limit` window.
struct Offsets {
    total: usize,
}

impl Respond for Offsets {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let number = |name: &str, default: u64| body[name].as_u64().unwrap_or(default) as usize;
        let (offset, limit) = (number("offset", 0), number("limit", 500));
        assert!(limit <= 500, "Attio serves at most 500 a page");
        assert_eq!(
            body["sorts"],
            json!([{ "attribute": "created_at", "direction": "asc" }])
        );
        let end = (offset + limit).min(self.total);
        let data: Vec<Value> = (offset.min(end)..end).map(|n| deal(n + 1)).collect();
        ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
    }
}

async fn connect(app: &TestApp, server: &MockServer) {
    let body = json!({ "settings": { "api_key": TOKEN, "base_url": server.uri() } });
    let (status, answer) = call(app.patch("/vault/connections/crm/attio", &body)).await;
    assert_eq!(status, 200, "{answer}");
}

fn attio(rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", "attio")
}

#[tokio::test]
async fn attio_reads_250_deals_once_through_body_offsets() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    Mock::given(method("POST"))
        .and(path("/v2/objects/deals/records/query"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(Offsets { total: 250 })
        .mount(&server)
        .await;
    let mut seen = Vec::new();
    for page in every_page(&app, "attio", "opportunities", 100).await {
        for record in page["data"].as_array().unwrap() {
            seen.push(record["id"].as_str().unwrap().to_owned());
            assert_eq!(record["monetary_amount"], json!(1500.5));
            assert_eq!(record["status"], "Won");
        }
    }
    let want: Vec<String> = (1..=250)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn attio_filters_are_shorthand_members_of_the_query_filter() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    Mock::given(method("POST"))
        .and(path("/v2/objects/deals/records/query"))
        .and(body_json(json!({
            "filter": {
                "name": "Deal 1",
                "owner": { "referenced_actor_type": "workspace-member", "referenced_actor_id": "m-1" },
                "associated_company": { "target_object": "companies", "target_record_id": "c-1" },
            },
            "sorts": [{ "attribute": "value", "direction": "desc" }],
            "limit": 20,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [deal(1)] })))
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = call(attio(app.get(
        "/crm/opportunities?filter[title]=Deal%201&filter[owner_id]=m-1&filter[company_id]=c-1&sort[by]=monetary_amount&sort[direction]=desc",
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"][0]["id"],
        "00000000-0000-4000-8000-000000000001"
    );
    // Attio's shorthand has no way to filter deals by a derived status.
    let (status, body) = call(attio(app.get("/crm/opportunities?filter[status]=Won"))).await;
    assert_eq!(status, 400, "{body}");
}

/// Attio says when to retry as an HTTP date; the client gets the wait in seconds.
#[tokio::test]
async fn attio_429_with_an_http_date_passes_the_wait_on() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    connect(&app, &server).await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(100);
    Mock::given(method("GET"))
        .and(path(
            "/v2/objects/deals/records/00000000-0000-4000-8000-000000000001",
        ))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header(
                    "retry-after",
                    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string().as_str(),
                )
                .set_body_json(json!({
                    "status_code": 429, "type": "rate_limit_error",
                    "code": "rate_limit_exceeded", "message": "Rate limit exceeded"
                })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (status, headers, body) = exchange(attio(
        app.get("/crm/opportunities/00000000-0000-4000-8000-000000000001"),
    ))
    .await;
    assert_error(&(status, body), 429, "ConnectorRateLimitError");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((90..=101).contains(&wait), "{wait}");
}
