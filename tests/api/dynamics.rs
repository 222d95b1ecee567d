//! The Microsoft Dynamics 365 plugin (`connectors.d/microsoft-dynamics`) against a wiremock
//! Dataverse: the organisation saved first names the OAuth scope, lists are OData whose
//! filter values are OData literals, and writes bind lookups and ask for the record back.

use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::app::{TestApp, assert_error, call, spawn_app};
use crate::oauth::{
    REDIRECT, authorize, callback, connection, expect_exchange, local, param, register,
};

const OWNER: &str = "3c2b1a0f-1e2d-4c3b-9a8f-7e6d5c4b3a21";

fn dynamics(rq: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rq.header("x-apideck-service-id", "microsoft-dynamics")
}

/// Saves the organisation (pointed at `org`), then authorizes through the whole flow.
async fn connected(app: &TestApp, org: &MockServer) {
    let settings = json!({ "settings": { "org": "contoso.crm4", "base_url": org.uri() } });
    let (status, body) =
        call(app.patch("/vault/connections/crm/microsoft-dynamics", &settings)).await;
    assert_eq!(status, 200, "{body}");
    let auth = MockServer::start().await;
    register(app, "microsoft-dynamics", &auth).await;
    let vendor = authorize(app, "microsoft-dynamics").await;
    assert_eq!(
        param(&vendor, "scope").as_deref(),
        Some("https://contoso.crm4.dynamics.com/user_impersonation offline_access")
    );
    expect_exchange(
        &auth,
        "code-d",
        ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 4205,
            "access_token": "dyn-access", "refresh_token": "dyn-refresh"
        })),
    )
    .await;
    let state = param(&vendor, "state").unwrap();
    let done = callback(app, &[("state", &state), ("code", "code-d")]).await;
    assert_eq!(done.headers()["location"], REDIRECT);
    assert_eq!(
        connection(app, "microsoft-dynamics").await["state"],
        "callable"
    );
}

#[tokio::test]
async fn an_organisation_is_needed_before_authorizing() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    register(&app, "microsoft-dynamics", &auth).await;
    let link = connection(&app, "microsoft-dynamics").await["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = call(app.client.get(local(&app, &link))).await;
    assert_error(&answer, 422, "ConnectionSettingsError");
    assert!(answer.1.to_string().contains("org"), "{}", answer.1);
}

#[tokio::test]
async fn odata_filters_are_literals_and_lookups_are_bound() {
    let app = spawn_app().await;
    let org = MockServer::start().await;
    connected(&app, &org).await;
    Mock::given(method("GET"))
        .and(path("/api/data/v9.2/opportunities"))
        .and(query_param(
            "$filter",
            format!("name eq 'O''Brien'' or name ne ''' and _ownerid_value eq {OWNER}").as_str(),
        ))
        .and(query_param("$orderby", "estimatedvalue desc"))
        .and(header("prefer", "odata.maxpagesize=200"))
        .and(header("authorization", "Bearer dyn-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{ "opportunityid": "6f5e4d3c-2b1a-4f0e-9d8c-000000000001", "name": "x", "statecode": 1 }]
        })))
        .expect(1)
        .mount(&org)
        .await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("filter[title]", "O'Brien' or name ne '")
        .append_pair("filter[owner_id]", OWNER)
        .append_pair("sort[by]", "monetary_amount")
        .append_pair("sort[direction]", "desc")
        .finish();
    let (status, body) = call(dynamics(app.get(&format!("/crm/opportunities?{query}")))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["status"], "Won");

    Mock::given(method("POST"))
        .and(path("/api/data/v9.2/opportunities"))
        .and(header("prefer", "return=representation"))
        .and(body_json(json!({
            "name": "Edge",
            "parentaccountid@odata.bind": "/accounts(a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d)"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "opportunityid": "6f5e4d3c-2b1a-4f0e-9d8c-000000000002", "name": "Edge"
        })))
        .expect(1)
        .mount(&org)
        .await;
    let create = json!({ "title": "Edge", "company_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d" });
    let (status, body) = call(dynamics(app.post("/crm/opportunities", &create))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["id"], "6f5e4d3c-2b1a-4f0e-9d8c-000000000002");
    // A company id that would bind another entity never reaches Dataverse.
    let hostile = json!({ "title": "Edge", "company_id": "x)/contacts(y" });
    let (status, body) = call(dynamics(app.post("/crm/opportunities", &hostile))).await;
    assert_eq!(status, 400, "{body}");
}

/// Dataverse's pages over `total` opportunities, at most 200 each, each naming the next by an
/// absolute @odata.nextLink on the organisation's host.
struct Links {
    total: usize,
    base: String,
}

impl wiremock::Respond for Links {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let start: usize = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "$skiptoken")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let end = (start + 200).min(self.total);
        let value: Vec<serde_json::Value> = (start..end)
            .map(|n| json!({ "opportunityid": format!("6f5e4d3c-2b1a-4f0e-9d8c-{:012}", n + 1), "name": format!("O {n}"), "statecode": 0 }))
            .collect();
        let mut page = json!({ "value": value });
        if end < self.total {
            page["@odata.nextLink"] =
                format!("{}/api/data/v9.2/opportunities?$skiptoken={end}", self.base).into();
        }
        ResponseTemplate::new(200).set_body_json(page)
    }
}

#[tokio::test]
async fn dynamics_reads_250_opportunities_once_through_next_links() {
    let app = spawn_app().await;
    let org = MockServer::start().await;
    connected(&app, &org).await;
    Mock::given(method("GET"))
        .and(path("/api/data/v9.2/opportunities"))
        .and(header("prefer", "odata.maxpagesize=200"))
        .respond_with(Links {
            total: 250,
            base: org.uri(),
        })
        .mount(&org)
        .await;
    let seen = crate::app::every_id(&app, "microsoft-dynamics", "opportunities", 100).await;
    let want: Vec<String> = (1..=250)
        .map(|n| format!("6f5e4d3c-2b1a-4f0e-9d8c-{n:012}"))
        .collect();
    assert_eq!(seen, want);
}

/// A next link on another origin than the list's is not followed, even one the outbound
/// policy allows (every *.dynamics.com is): the token stays with its organisation.
#[tokio::test]
async fn a_next_link_elsewhere_is_not_followed() {
    let app = spawn_app().await;
    let org = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    connected(&app, &org).await;
    Mock::given(method("GET"))
        .and(path("/api/data/v9.2/opportunities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{ "opportunityid": "6f5e4d3c-2b1a-4f0e-9d8c-000000000001", "name": "x", "statecode": 0 }],
            "@odata.nextLink": format!("{}/api/data/v9.2/opportunities?$skiptoken=2", elsewhere.uri())
        })))
        .mount(&org)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let (status, body) = call(dynamics(app.get("/crm/opportunities?limit=1"))).await;
    assert_eq!(status, 200, "{body}");
    let next = body["meta"]["cursors"]["next"].as_str().unwrap().to_owned();
    let (status, body) = call(dynamics(
        app.get(&format!("/crm/opportunities?limit=1&cursor={next}")),
    ))
    .await;
    assert_eq!(status, 400, "{body}");
}
