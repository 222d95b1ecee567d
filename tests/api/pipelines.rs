//! Pipedrive's pipelines with the stages its v2 API lists apart: the manifest's `embed`
//! reads every page of the account's stages once per page of pipelines and joins each
//! pipeline's own, and would rather fail than answer a pipeline with stages missing.

use serde_json::json;
use wiremock::matchers::query_param;

use crate::app::{assert_error, call, spawn_app};
use crate::hubspot::answer;

/// Two pages of stages are both read and joined by `pipeline_id`, in display order; a
/// pipeline no stage names has an empty list.
#[tokio::test]
async fn pipedrive_pipelines_join_every_page_of_their_stages() {
    let app = spawn_app().await;
    let pipedrive = wiremock::MockServer::start().await;
    crate::pipedrive::connect(&app, &pipedrive).await;
    crate::pipedrive::expect("GET", "/api/v2/pipelines")
        .respond_with(answer(
            200,
            crate::pipedrive::envelope(
                json!([{ "id": 1, "name": "Sales" }, { "id": 2, "name": "Renewals" }]),
                None,
            ),
        ))
        .expect(1)
        .mount(&pipedrive)
        .await;
    let stage = |id: u32, pipeline: u32, order: u32| {
        json!({ "id": id, "pipeline_id": pipeline, "order_nr": order, "name": format!("Stage {id}"),
            "deal_probability": 50 })
    };
    crate::pipedrive::expect("GET", "/api/v2/stages")
        .and(query_param("sort_by", "order_nr"))
        .and(query_param("cursor", "page2"))
        .respond_with(answer(
            200,
            crate::pipedrive::envelope(json!([stage(12, 1, 2)]), None),
        ))
        .expect(1)
        .with_priority(1)
        .mount(&pipedrive)
        .await;
    crate::pipedrive::expect("GET", "/api/v2/stages")
        .and(query_param("sort_by", "order_nr"))
        .and(query_param("limit", "500"))
        .respond_with(answer(
            200,
            crate::pipedrive::envelope(json!([stage(11, 1, 1)]), Some("page2")),
        ))
        .expect(1)
        .mount(&pipedrive)
        .await;
    let (status, page) = call(crate::pipedrive::pipedrive(
        app.get("/crm/pipelines?fields=id,name,stages"),
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<_> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let stages: Vec<&str> = p["stages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap())
                .collect();
            (p["id"].as_str().unwrap().to_owned(), stages)
        })
        .collect();
    assert_eq!(
        ids,
        [("1".to_owned(), vec!["11", "12"]), ("2".to_owned(), vec![])]
    );
}

/// Stages beyond the pages the manifest reads would be missing from their pipeline: the read
/// fails with a 502 naming why, after exactly `max_pages` calls.
#[tokio::test]
async fn stages_past_the_last_page_read_fail_the_read() {
    let app = spawn_app().await;
    let pipedrive = wiremock::MockServer::start().await;
    crate::pipedrive::connect(&app, &pipedrive).await;
    crate::pipedrive::expect("GET", "/api/v2/pipelines/1")
        .respond_with(answer(
            200,
            json!({ "success": true, "data": { "id": 1, "name": "Sales" } }),
        ))
        .mount(&pipedrive)
        .await;
    crate::pipedrive::expect("GET", "/api/v2/stages")
        .respond_with(answer(
            200,
            crate::pipedrive::envelope(json!([]), Some("more")),
        ))
        .expect(20)
        .mount(&pipedrive)
        .await;
    let failed = call(crate::pipedrive::pipedrive(app.get("/crm/pipelines/1"))).await;
    assert_error(&failed, 502, "ConnectorExecutionError");
    assert!(
        failed.1["detail"]["message"]
            .as_str()
            .unwrap()
            .contains("more stages than the 20 pages its manifest reads"),
        "{}",
        failed.1
    );
}
