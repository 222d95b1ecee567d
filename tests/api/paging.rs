//! `limit` is a promise: whatever page sizes a vendor answers with, following crmgate's
//! cursors yields every vendor record exactly once, in order, and no page exceeds `limit`.
//! Unreadable vendor records are a 502, never records of nulls.

use std::collections::VecDeque;
use std::sync::Mutex;

use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::app::{TestApp, assert_error, call, page_ids, spawn_app};

/// A Pipedrive-like vendor over `total` deals whose cursor is an offset and whose pages hold as
/// many records as the next entry of `sizes` says, whatever `limit` asked for.
struct Wayward {
    total: usize,
    sizes: Mutex<VecDeque<usize>>,
}

impl Respond for Wayward {
    fn respond(&self, rq: &Request) -> ResponseTemplate {
        let query: Vec<(String, String)> = rq.url.query_pairs().into_owned().collect();
        let offset: usize = query
            .iter()
            .find(|(k, _)| k == "cursor")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let size = self.sizes.lock().unwrap().pop_front().unwrap_or(3);
        let end = (offset + size).min(self.total);
        let data: Vec<Value> = (offset..end)
            .map(|i| json!({ "id": i + 1, "title": format!("Deal {}", i + 1) }))
            .collect();
        let next = (end < self.total).then(|| end.to_string());
        ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "data": data,
            "additional_data": { "next_cursor": next },
        }))
    }
}

async fn connect_pipedrive(app: &TestApp, server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v2/dealFields"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "success": true, "data": [] })),
        )
        .mount(server)
        .await;
    let body = json!({ "settings": { "api_key": "pd-token", "base_url": server.uri() } });
    let (status, body) = call(app.patch("/vault/connections/crm/pipedrive", &body)).await;
    assert_eq!(status, 200, "{body}");
}

/// Reads the whole list with the given limits (cycled), answering the ids seen per page.
async fn read_all(total: usize, sizes: Vec<usize>, limits: Vec<u32>) -> Vec<Vec<u64>> {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/deals"))
        .respond_with(Wayward {
            total,
            sizes: Mutex::new(sizes.into()),
        })
        .mount(&server)
        .await;
    connect_pipedrive(&app, &server).await;
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for limit in limits.iter().cycle().take(4 * total + 4) {
        let mut url = format!("/crm/opportunities?limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = call(app.get(&url)).await;
        assert_eq!(status, 200, "{body}");
        let ids = page_ids(&body);
        assert!(ids.len() <= *limit as usize, "limit {limit}, got {ids:?}");
        pages.push(ids);
        cursor = body["meta"]["cursors"]["next"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return pages;
        }
    }
    panic!("the list did not end: {pages:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_record_once_and_no_page_over_limit(
        total in 0usize..60,
        sizes in prop::collection::vec(1usize..40, 0..40),
        limits in prop::collection::vec(1u32..25, 1..6),
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let pages = runtime.block_on(read_all(total, sizes, limits));
        let seen: Vec<u64> = pages.into_iter().flatten().collect();
        let all: Vec<u64> = (1..=total as u64).collect();
        prop_assert_eq!(seen, all);
    }
}

#[tokio::test]
async fn a_vendor_answering_three_for_one_gives_one_at_a_time() {
    let pages = read_all(3, vec![3, 3, 3, 3], vec![1]).await;
    assert_eq!(pages, [vec![1], vec![2], vec![3]]);
}

#[tokio::test]
async fn unreadable_vendor_records_are_a_502_for_every_connector() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "properties": "x" })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "results": [{ "id": "1" }, 5] })),
        )
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let hubspot = |rq: reqwest::RequestBuilder| rq.header("x-apideck-service-id", "hubspot");

    let pipedrive = MockServer::start().await;
    connect_pipedrive(&app, &pipedrive).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/deals/7"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "success": true, "data": null })),
        )
        .expect(1)
        .mount(&pipedrive)
        .await;

    let copper = MockServer::start().await;
    let body = json!({ "settings": { "api_key": "cu", "user_email": "a@b.test", "base_url": copper.uri() } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/copper", &body))
            .await
            .0,
        200
    );
    Mock::given(method("GET"))
        .and(path("/developer_api/v1/opportunities/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&copper)
        .await;

    let service = |rq: reqwest::RequestBuilder, s: &str| rq.header("x-apideck-service-id", s);
    for (rq, what) in [
        (hubspot(app.get("/crm/opportunities/7")), "hubspot get"),
        (hubspot(app.get("/crm/opportunities")), "hubspot list"),
        (
            service(app.get("/crm/opportunities/7"), "pipedrive"),
            "pipedrive get",
        ),
        (
            service(app.get("/crm/opportunities/7"), "copper"),
            "copper get",
        ),
    ] {
        let answer = call(rq).await;
        assert_error(&answer, 502, "ConnectorExecutionError");
        assert!(
            answer.1["detail"]["message"]
                .as_str()
                .unwrap()
                .contains("has no id"),
            "{what}: {}",
            answer.1
        );
    }
}
