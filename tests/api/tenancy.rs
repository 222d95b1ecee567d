//! Tenancy and secrets: application keys, isolation between tenants, sealed credentials, and
//! no secret in any log line or answer.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crmgate::api::auth;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::app::{HUBSPOT_TOKEN, PostgresSchema, assert_error, call, spawn_app, spawn_on};
use crate::hubspot::{answer, deal, error_body, expect_read};

#[tokio::test]
async fn an_application_key_acts_only_for_its_application_and_tenants_never_meet() {
    let app = spawn_app().await;
    let store = app.state.store.clone();
    let (a, _, key_a) = auth::create_application(store.as_ref(), Some("app-a".into()), "A", 1)
        .await
        .unwrap();
    let (b, _, key_b) = auth::create_application(store.as_ref(), Some("app-b".into()), "B", 1)
        .await
        .unwrap();
    let as_tenant = |method: Method, path: &str, key: &str, app_id: &str, consumer: &str| {
        app.client
            .request(method, format!("{}{path}", app.address))
            .bearer_auth(key)
            .header("x-apideck-app-id", app_id)
            .header("x-apideck-consumer-id", consumer)
    };
    let settings =
        json!({ "settings": { "api_key": HUBSPOT_TOKEN, "base_url": app.hubspot.uri() } });
    let owner = as_tenant(
        Method::PATCH,
        "/vault/connections/crm/hubspot",
        key_a.expose_secret(),
        &a.id,
        "a1",
    )
    .json(&settings);
    assert_eq!(call(owner).await.0, 200);
    // Exactly one HubSpot call: the owner's.
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(1)
        .mount(&app.hubspot)
        .await;

    let (status, _) = call(as_tenant(
        Method::GET,
        "/crm/opportunities/1",
        key_a.expose_secret(),
        &a.id,
        "a1",
    ))
    .await;
    assert_eq!(status, 200);
    // Every combination of key, application, consumer and service that is not the owner's.
    let keys = [
        ("key A", key_a.expose_secret()),
        ("key B", key_b.expose_secret()),
        ("operator", crate::app::API_KEY),
    ];
    let consumers = ["a1", "a2", "b1", "b2"];
    for (key_name, key) in keys {
        for app_id in [a.id.as_str(), b.id.as_str()] {
            for consumer in consumers {
                for service in [None, Some("hubspot")] {
                    let owner = key_name != "key B" && app_id == a.id && consumer == "a1";
                    if owner {
                        continue;
                    }
                    let mut rq =
                        as_tenant(Method::GET, "/crm/opportunities/1", key, app_id, consumer);
                    if let Some(service) = service {
                        rq = rq.header("x-apideck-service-id", service);
                    }
                    let (status, body) = call(rq).await;
                    assert!(
                        status == 401 || status == 404,
                        "{key_name} {app_id}/{consumer}/{service:?}: {status} {body}"
                    );
                    let key_mismatch = (key_name == "key A" && app_id != a.id)
                        || (key_name == "key B" && app_id != b.id);
                    assert_eq!(
                        status == 401,
                        key_mismatch,
                        "{key_name} {app_id}/{consumer}"
                    );
                    let vault = call(as_tenant(
                        Method::GET,
                        "/vault/connections/crm/hubspot",
                        key,
                        app_id,
                        consumer,
                    ))
                    .await;
                    assert!(
                        vault.0 == 401 || vault.1["data"]["state"] == "available",
                        "{app_id}/{consumer}: {}",
                        vault.1
                    );
                }
            }
        }
    }
    let revoked_key = store.api_keys(&a.id).await.unwrap()[0].id.clone();
    assert!(store.revoke_api_key(&revoked_key, 2).await.unwrap());
    let revoked = call(as_tenant(
        Method::GET,
        "/crm/opportunities/1",
        key_a.expose_secret(),
        &a.id,
        "a1",
    ))
    .await;
    assert_error(&revoked, 401, "UnauthorizedError");
}

#[tokio::test]
async fn two_gateways_on_one_postgres_share_connections() {
    let Some(db) = PostgresSchema::create().await else {
        return;
    };
    let scoped = db.url.clone();
    let (one, two) = tokio::join!(
        spawn_on(scoped.clone(), tempfile::tempdir().unwrap()),
        spawn_on(scoped, tempfile::tempdir().unwrap())
    );
    one.connect_hubspot().await;
    // The connection saved through `one` points at `one`'s mock; `two` must use it.
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(200, deal(1)))
        .expect(1)
        .mount(&one.hubspot)
        .await;
    let (status, body) = call(two.get("/crm/opportunities/1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], "1");
    db.drop_schema().await;
}

#[tokio::test]
async fn a_tampered_credential_is_a_422_never_a_panic() {
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let tenant = crmgate::store::Tenant {
        app_id: crate::app::APP_ID.into(),
        consumer_id: crate::app::CONSUMER_ID.into(),
    };
    let mut record = app
        .state
        .store
        .connection(&tenant, "hubspot")
        .await
        .unwrap()
        .unwrap();
    let mut bytes = record.settings.into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    record.settings = String::from_utf8(bytes).unwrap();
    app.state
        .store
        .save_connection(&tenant, &record)
        .await
        .unwrap();
    assert_error(
        &call(app.get("/crm/opportunities/1")).await,
        422,
        "ConnectionSettingsError",
    );
    let (_, vault) = call(app.get("/vault/connections/crm/hubspot")).await;
    assert_eq!(vault["data"]["state"], "invalid");
}

/// Everything the tracing subscriber of this test process writes.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_writer(move || Capture(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_an_answer_or_the_database_file() {
    let logs = captured_logs();
    let app = spawn_app().await;
    app.connect_hubspot().await;
    let echo = format!("Authentication failed for token {HUBSPOT_TOKEN}");
    expect_read("GET", "/crm/objects/2026-09/deals/1")
        .respond_with(answer(401, error_body(&echo, "INVALID_AUTHENTICATION")))
        .mount(&app.hubspot)
        .await;
    expect_read("GET", "/crm/objects/2026-09/deals/2")
        .respond_with(answer(400, error_body(&echo, "VALIDATION_ERROR")))
        .mount(&app.hubspot)
        .await;
    let mut answers = Vec::new();
    for path in [
        "/crm/opportunities/1",
        "/crm/opportunities/2",
        "/vault/connections",
        "/vault/connections/crm/hubspot",
    ] {
        answers.push(call(app.get(path)).await.1.to_string());
    }
    let (app_row, _, app_key) = auth::create_application(app.state.store.as_ref(), None, "X", 1)
        .await
        .unwrap();
    let bad_app = app
        .client
        .get(format!("{}/crm/opportunities/1", app.address))
        .bearer_auth(app_key.expose_secret())
        .header("x-apideck-app-id", "someone-else")
        .header("x-apideck-consumer-id", "c");
    answers.push(call(bad_app).await.1.to_string());
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(!logged.is_empty(), "the capture works");
    for secret in [HUBSPOT_TOKEN, crate::app::API_KEY, app_key.expose_secret()] {
        assert!(!logged.contains(secret), "a log line holds {secret}");
        for answer in &answers {
            assert!(
                !answer.contains(secret),
                "an answer holds {secret}: {answer}"
            );
        }
    }
    let db = app.database_url.trim_start_matches("sqlite://");
    for file in [db.to_owned(), format!("{db}-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(HUBSPOT_TOKEN),
                "{file} holds the token in the clear"
            );
            assert!(
                !text.contains(app_key.expose_secret()),
                "{file} holds an API key"
            );
        }
    }
    assert!(!app_row.id.is_empty());
}

#[tokio::test]
async fn readiness_turns_false_when_the_database_is_gone() {
    let Some(db) = PostgresSchema::create().await else {
        return;
    };
    let app = spawn_on(db.url.clone(), tempfile::tempdir().unwrap()).await;
    let ready = || app.client.get(format!("{}/health/ready", app.address));
    assert_eq!(call(ready()).await.0, 200);
    db.drop_schema().await;
    let (status, body) = call(ready()).await;
    assert_eq!(status, 503);
    assert_eq!(body["checks"]["database"], "unavailable");
    let live = app
        .client
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "the process itself is still alive");
}
