//! Outbound trust: a connection's credentials reach only the hosts its connector declares or
//! the operator allows, never through a redirect, and nothing of a non-vendor answer is echoed.

use std::collections::BTreeMap;

use crmgate::server::Gateway;
use crmgate::store::{ConnectionRecord, Tenant};
use crmgate_connector_sdk::HostPattern;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::app::{
    APP_ID, CONSUMER_ID, HUBSPOT_TOKEN, TestApp, assert_error, call, options, spawn_app,
    spawn_app_with,
};
use crate::hubspot::list_answered_with;

/// A vendor mock that must receive nothing.
pub async fn untouched() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// A gateway whose operator allows exactly one mock, by `host:port`.
pub async fn allowing_only(server: &MockServer) -> TestApp {
    let entry = format!("127.0.0.1:{}", server.address().port());
    spawn_app_with(|o| o.allowed_hosts = vec![HostPattern::parse(&entry).unwrap()]).await
}

async fn save(app: &TestApp, service: &str, settings: Value) -> (u16, Value) {
    call(app.patch(
        &format!("/vault/connections/crm/{service}"),
        &json!({ "settings": settings }),
    ))
    .await
}

#[tokio::test]
async fn a_base_url_outside_the_allowed_hosts_is_refused_when_saved() {
    let vendor = MockServer::start().await;
    let app = allowing_only(&vendor).await;
    let thief = untouched().await;
    let (status, body) = save(
        &app,
        "hubspot",
        json!({ "api_key": HUBSPOT_TOKEN, "base_url": vendor.uri() }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for base_url in [
        thief.uri(),
        "http://127.0.0.1:9999".to_owned(),
        "http://10.0.0.1".to_owned(),
        "http://169.254.169.254/latest".to_owned(),
        "http://[::1]:9999".to_owned(),
        "https://api.hubapi.com.evil.example".to_owned(),
        "http://api.hubapi.com".to_owned(),
        "https://token@api.hubapi.com".to_owned(),
    ] {
        let answer = save(
            &app,
            "hubspot",
            json!({ "api_key": HUBSPOT_TOKEN, "base_url": base_url }),
        )
        .await;
        assert_error(&answer, 400, "RequestValidationError");
        let text = answer.1.to_string();
        assert!(
            text.contains("settings.base_url") && text.contains("api.hubapi.com"),
            "{base_url}: {text}"
        );
    }
    // The vendor's own host over HTTPS is always allowed (nothing is called on save).
    let (status, body) = save(
        &app,
        "hubspot",
        json!({ "api_key": HUBSPOT_TOKEN, "base_url": "https://api.hubapi.com/" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_credential_stays_bound_to_the_host_it_was_saved_for() {
    let app = spawn_app().await;
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    let (status, _) = save(
        &app,
        "hubspot",
        json!({ "api_key": HUBSPOT_TOKEN, "base_url": first.uri() }),
    )
    .await;
    assert_eq!(status, 200);
    // Moving the base URL alone would carry the sealed token to the new host.
    let answer = save(&app, "hubspot", json!({ "base_url": second.uri() })).await;
    assert_error(&answer, 400, "RequestValidationError");
    assert_eq!(answer.1["detail"]["missing"], json!(["api_key"]));
    assert!(
        answer.1["message"].as_str().unwrap().contains("api_key"),
        "{}",
        answer.1
    );
    // A masked secret sent back as read is not a new credential either.
    let answer = save(
        &app,
        "hubspot",
        json!({ "api_key": "********", "base_url": second.uri() }),
    )
    .await;
    assert_error(&answer, 400, "RequestValidationError");
    // With the secret given again, the move is allowed, and calls go to the new host only.
    let (status, _) = save(
        &app,
        "hubspot",
        json!({ "api_key": "hs-new-token", "base_url": second.uri() }),
    )
    .await;
    assert_eq!(status, 200);
    crate::app::hubspot_without_custom_properties(&second).await;
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals"))
        .and(header("authorization", "Bearer hs-new-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": [] })))
        .expect(1)
        .mount(&second)
        .await;
    let (status, body) = call(app.get("/crm/opportunities")).await;
    assert_eq!(status, 200, "{body}");
    assert!(first.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_stored_destination_that_is_no_longer_allowed_is_never_called() {
    let thief = untouched().await;
    let allowed = MockServer::start().await;
    let app = allowing_only(&allowed).await;
    // A connection saved under a wider policy (an older gateway, or a changed configuration).
    let tenant = Tenant {
        app_id: APP_ID.to_owned(),
        consumer_id: CONSUMER_ID.to_owned(),
    };
    let settings: BTreeMap<String, SecretString> = [
        ("api_key".to_owned(), SecretString::from(HUBSPOT_TOKEN)),
        ("base_url".to_owned(), SecretString::from(thief.uri())),
    ]
    .into();
    let record = ConnectionRecord {
        service_id: "hubspot".to_owned(),
        enabled: true,
        settings: app.state.sealer.seal(&tenant, "hubspot", &settings),
        created_at: 0,
        updated_at: 0,
    };
    app.state
        .store
        .save_connection(&tenant, &record)
        .await
        .unwrap();
    let answer = call(app.get("/crm/opportunities")).await;
    assert_error(&answer, 422, "ConnectionSettingsError");
    assert!(
        answer.1["detail"]["message"]
            .as_str()
            .unwrap()
            .contains("base_url is not allowed"),
        "{}",
        answer.1
    );
}

#[tokio::test]
async fn a_configured_base_url_outside_the_allowed_hosts_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crmgate.db").display());
    let mut options = options(&url);
    options.allowed_hosts.clear();
    options.connectors.insert(
        "pipedrive".to_owned(),
        toml_connector("base_url = \"http://127.0.0.1:9/\""),
    );
    let err = Gateway::build(options)
        .await
        .err()
        .expect("the start fails");
    let text = format!("{err:#}");
    assert!(
        text.contains("[connectors.pipedrive] base_url") && text.contains("allowed_hosts"),
        "{text}"
    );
}

fn toml_connector(text: &str) -> crmgate::config::ConnectorSettings {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("[connectors.pipedrive]\n{text}\n")).unwrap();
    let mut settings =
        crmgate::config::Settings::load_with_env(Some(file.path()), std::iter::empty()).unwrap();
    settings.connectors.by_id.remove("pipedrive").unwrap()
}

/// A vendor that redirects every call to `target`.
async fn redirecting(status: u16, target: &MockServer) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("Location", format!("{}/stolen", target.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn vendor_redirects_are_not_followed_by_any_connector() {
    let cases = [
        ("pipedrive", 302, json!({ "api_key": "pd-token" }), "GET"),
        (
            "copper",
            302,
            json!({ "api_key": "cu-key", "user_email": "ops@acme.test" }),
            "GET",
        ),
        (
            "copper",
            307,
            json!({ "api_key": "cu-key", "user_email": "ops@acme.test" }),
            "POST",
        ),
    ];
    for (service, status, mut settings, verb) in cases {
        let app = spawn_app().await;
        let target = untouched().await;
        let vendor = redirecting(status, &target).await;
        settings["base_url"] = vendor.uri().into();
        assert_eq!(save(&app, service, settings).await.0, 200);
        let rq = match verb {
            "GET" => app.get("/crm/opportunities"),
            _ => app.post("/crm/opportunities", &json!({ "title": "Rocket" })),
        };
        let answer = call(rq.header("x-apideck-service-id", service)).await;
        assert_error(&answer, 502, "ConnectorExecutionError");
        assert!(
            answer.1["detail"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("HTTP {status}")),
            "{service}: {}",
            answer.1
        );
        assert_eq!(answer.1["detail"]["downstream_status"], status);
    }
}

#[tokio::test]
async fn an_answer_that_is_not_the_vendors_is_never_quoted() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let answer = list_answered_with(&app, r#"{"results": "INTERNAL-ADMIN-SECRET=hunter2"}"#).await;
    assert_error(&answer, 502, "ConnectorExecutionError");
    let text = answer.1.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("INTERNAL"),
        "{text}"
    );
    assert!(text.contains("it holds no list at $.results"), "{text}");
}
