//! Vault: connections with masked secrets, consumers, and custom mappings with their layers.

use serde_json::{Value, json};

use crate::app::{APP_ID, HUBSPOT_TOKEN, assert_error, call, spawn_app};
use crate::hubspot::{answer, asked, deal, expect, expect_read};
use reqwest::Method;
use wiremock::matchers::{body_json, query_param};

#[tokio::test]
async fn connections_go_from_available_to_callable_and_never_echo_secrets() {
    let app = spawn_app().await;
    let (_, before) = call(app.get("/vault/connections")).await;
    assert_eq!(before["data"][0]["service_id"], "hubspot");
    assert_eq!(before["data"][0]["state"], "available");
    assert_eq!(before["data"][0]["id"], "crm+hubspot");

    app.connect_hubspot().await;
    let (status, after) = call(app.get("/vault/connections/crm/hubspot")).await;
    assert_eq!(status, 200);
    assert_eq!(after["data"]["state"], "callable");
    assert_eq!(after["data"]["enabled"], true);
    assert_eq!(after["data"]["settings"]["api_key"], "********");
    assert_eq!(after["data"]["settings"]["base_url"], app.hubspot.uri());
    assert!(!after.to_string().contains(HUBSPOT_TOKEN));
    let (_, listed) = call(app.get("/vault/connections?api=crm&configured=true")).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(HUBSPOT_TOKEN));

    let masked_back = json!({ "settings": { "api_key": "********" }, "enabled": false });
    let (_, kept) = call(app.patch("/vault/connections/crm/hubspot", &masked_back)).await;
    assert_eq!(
        kept["data"]["state"], "callable",
        "the mask does not overwrite the secret"
    );
    assert_eq!(kept["data"]["enabled"], false);
}

/// Each connection lists the resources its connector serves (the others answer 501).
#[tokio::test]
async fn connections_name_the_resources_their_connector_serves() {
    let app = spawn_app().await;
    let (status, listed) = call(app.get("/vault/connections")).await;
    assert_eq!(status, 200, "{listed}");
    let served = |id: &str| {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["service_id"] == id)
            .unwrap()["configurable_resources"]
            .clone()
    };
    assert_eq!(
        served("pipedrive"),
        json!([
            "opportunities",
            "companies",
            "contacts",
            "leads",
            "notes",
            "activities",
            "users",
            "pipelines"
        ])
    );
    assert_eq!(
        served("copper"),
        json!([
            "opportunities",
            "companies",
            "contacts",
            "leads",
            "notes",
            "activities",
            "users",
            "pipelines"
        ])
    );
}

#[tokio::test]
async fn connection_writes_are_validated() {
    let app = spawn_app().await;
    let unknown = call(app.patch(
        "/vault/connections/crm/hubspot",
        &json!({ "settings": { "colour": "red" } }),
    ))
    .await;
    assert_error(&unknown, 400, "RequestValidationError");
    assert!(
        unknown.1["message"]
            .as_str()
            .unwrap()
            .contains("settings.colour")
    );
    let bad_url = call(app.patch(
        "/vault/connections/crm/hubspot",
        &json!({ "settings": { "base_url": "ftp://x" } }),
    ))
    .await;
    assert_error(&bad_url, 400, "RequestValidationError");
    assert_error(
        &call(app.get("/vault/connections/crm/nope")).await,
        404,
        "ConnectorNotFoundError",
    );
    assert_error(
        &call(app.get("/vault/connections/accounting/hubspot")).await,
        404,
        "ConnectorNotFoundError",
    );

    app.connect_hubspot().await;
    let again = call(app.post(
        "/vault/connections/crm/hubspot",
        &json!({ "settings": { "api_key": "x" } }),
    ))
    .await;
    assert_eq!(again.0, 409);
    let response = app
        .delete("/vault/connections/crm/hubspot")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_error(
        &call(app.get("/crm/opportunities")).await,
        404,
        "ConnectionNotFoundError",
    );
}

#[tokio::test]
async fn several_connections_need_a_service_header() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let (status, _) = call(
        app.get("/vault/connections/crm/hubspot")
            .header("x-apideck-service-id", "hubspot"),
    )
    .await;
    assert_eq!(status, 200);
    let disabled = json!({ "enabled": false });
    call(app.patch("/vault/connections/crm/hubspot", &disabled)).await;
    assert_error(
        &call(app.get("/crm/opportunities")).await,
        404,
        "ConnectionNotFoundError",
    );
    let named = call(
        app.get("/crm/opportunities")
            .header("x-apideck-service-id", "hubspot"),
    )
    .await;
    assert_error(&named, 422, "ConnectionSettingsError");
}

#[tokio::test]
async fn consumers_are_listed_updated_and_deleted_with_their_connections() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let created = call(app.post(
        "/vault/consumers",
        &json!({ "consumer_id": "acme", "metadata": { "account_name": "Acme" } }),
    ))
    .await;
    assert_eq!(created.0, 200, "{}", created.1);
    assert_eq!(created.1["data"]["application_id"], APP_ID);
    assert_eq!(
        call(app.post("/vault/consumers", &json!({ "consumer_id": "acme" })))
            .await
            .0,
        409
    );

    let (_, list) = call(app.get("/vault/consumers")).await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["consumer_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["acme", "consumer-1"],
        "a connection creates its consumer"
    );
    assert_eq!(list["data"][1]["services"], json!(["hubspot"]));

    let (_, page) = call(app.get("/vault/consumers?limit=1")).await;
    let next = page["meta"]["cursors"]["next"].as_str().unwrap().to_owned();
    let (_, second) = call(app.get(&format!("/vault/consumers?limit=1&cursor={next}"))).await;
    assert_eq!(second["data"][0]["consumer_id"], "consumer-1");

    let (_, updated) = call(app.patch(
        "/vault/consumers/acme",
        &json!({ "metadata": { "email": "it@acme.test" } }),
    ))
    .await;
    assert_eq!(
        updated["data"]["metadata"],
        json!({ "email": "it@acme.test" })
    );

    let (status, deleted) = call(app.delete("/vault/consumers/consumer-1")).await;
    assert_eq!(status, 200);
    assert_eq!(deleted["data"], json!({ "consumer_id": "consumer-1" }));
    assert_error(
        &call(app.get("/crm/opportunities")).await,
        404,
        "ConnectionNotFoundError",
    );
    assert_error(
        &call(app.get("/vault/consumers/consumer-1")).await,
        404,
        "EntityNotFoundError",
    );
}

fn mapping(value: &str) -> Value {
    json!({ "value": value })
}

#[tokio::test]
async fn a_consumer_override_changes_one_field_both_ways_for_that_consumer_only() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let path = "/vault/custom-mappings/crm/hubspot/crm+opportunities+title";
    let (status, saved) = call(app.post(path, &mapping("$.properties.internal_title"))).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["consumer_id"], "consumer-1");
    assert_eq!(saved["data"]["custom_field"], false);

    let mut record = deal(1001);
    record["properties"]["internal_title"] = json!("Internal");
    expect("GET", "/crm/objects/2026-09/deals/1001")
        .and(query_param(
            "properties",
            asked(&["internal_title"]).as_str(),
        ))
        .respond_with(answer(200, record.clone()))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (_, one) = call(app.get("/crm/opportunities/1001")).await;
    assert_eq!(one["data"]["title"], "Internal");
    assert_eq!(
        one["data"]["monetary_amount"],
        crate::app::exact("1500.50"),
        "other fields unchanged"
    );

    expect("PATCH", "/crm/objects/2026-09/deals/1001")
        .and(body_json(
            json!({ "properties": { "internal_title": "New" } }),
        ))
        .respond_with(answer(200, record))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    assert_eq!(
        call(app.patch("/crm/opportunities/1001", &json!({ "title": "New" })))
            .await
            .0,
        200
    );

    // Another consumer of the same application still gets the built-in mapping.
    let settings =
        json!({ "settings": { "api_key": HUBSPOT_TOKEN, "base_url": app.hubspot.uri() } });
    let connect = app
        .request_for(
            Method::PATCH,
            "/vault/connections/crm/hubspot",
            "consumer-2",
        )
        .json(&settings);
    assert_eq!(call(connect).await.0, 200);
    expect_read("GET", "/crm/objects/2026-09/deals/1002")
        .respond_with(answer(200, deal(1002)))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (_, theirs) =
        call(app.request_for(Method::GET, "/crm/opportunities/1002", "consumer-2")).await;
    assert_eq!(theirs["data"]["title"], "Deal 1002");
}

#[tokio::test]
async fn custom_mappings_appear_on_list_and_get_from_either_layer() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    // Application layer: no consumer header.
    let app_layer = app
        .client
        .post(format!(
            "{}/vault/custom-mappings/crm/hubspot/crm+opportunities+source",
            app.address
        ))
        .bearer_auth(crate::app::API_KEY)
        .header("x-apideck-app-id", APP_ID)
        .json(&mapping("$.properties.hs_analytics_source"));
    let (status, saved) = call(app_layer).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["consumer_id"], Value::Null);
    assert_eq!(saved["data"]["custom_field"], true);
    call(app.post(
        "/vault/custom-mappings/crm/hubspot/crm+opportunities+region",
        &mapping("$.properties.region"),
    ))
    .await;

    let mut record = deal(1);
    record["properties"]["hs_analytics_source"] = json!("OFFLINE");
    expect("GET", "/crm/objects/2026-09/deals")
        .and(query_param("properties", asked(&["region"]).as_str()))
        .respond_with(answer(200, json!({ "results": [record.clone()] })))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    expect("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, record))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    let (_, list) = call(app.get("/crm/opportunities")).await;
    assert_eq!(
        list["data"][0]["custom_mappings"],
        json!({ "region": null, "source": "OFFLINE" })
    );
    let (_, one) = call(app.get("/crm/opportunities/1")).await;
    assert_eq!(
        one["data"]["custom_mappings"],
        json!({ "region": null, "source": "OFFLINE" })
    );

    let (_, listed) =
        call(app.get("/vault/connections/crm/hubspot/opportunities/custom-mappings")).await;
    let keys: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["source", "region"]);
}

#[tokio::test]
async fn custom_mapping_writes_are_checked_when_saved() {
    let app = spawn_app().await;
    let base = "/vault/custom-mappings/crm/hubspot";
    let bad = call(app.post(
        &format!("{base}/crm+opportunities+x"),
        &mapping("properties.x"),
    ))
    .await;
    assert_error(&bad, 400, "RequestValidationError");
    assert!(bad.1["message"].as_str().unwrap().contains("value"));
    assert_error(
        &call(app.post(
            &format!("{base}/crm+opportunities+x"),
            &json!({ "value": 1 }),
        ))
        .await,
        400,
        "RequestValidationError",
    );
    assert_error(
        &call(app.post(&format!("{base}/nonsense"), &mapping("$.a"))).await,
        400,
        "RequestValidationError",
    );
    assert_error(
        &call(app.patch(&format!("{base}/crm+opportunities+x"), &mapping("$.a"))).await,
        404,
        "EntityNotFoundError",
    );
    assert_eq!(
        call(app.post(&format!("{base}/crm+opportunities+x"), &mapping("$.a")))
            .await
            .0,
        200
    );
    assert_eq!(
        call(app.post(&format!("{base}/crm+opportunities+x"), &mapping("$.b")))
            .await
            .0,
        409
    );
    let (_, changed) =
        call(app.patch(&format!("{base}/crm+opportunities+x"), &mapping("$.b"))).await;
    assert_eq!(changed["data"]["value"], "$.b");
    assert_eq!(
        app.delete(&format!("{base}/crm+opportunities+x"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_error(
        &call(app.get(&format!("{base}/crm+opportunities+x"))).await,
        404,
        "EntityNotFoundError",
    );
}
