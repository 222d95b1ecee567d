//! `spawn_app()`: a gateway on a free loopback port with a fresh SQLite database, and one
//! wiremock server standing in for HubSpot.

use std::time::Duration;

use crmgate::api::AppState;
use crmgate::server::{self, Gateway, ServeOptions};
use crmgate_connector_sdk::HostPattern;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const API_KEY: &str = "test-key";
pub const APP_ID: &str = "app-1";
pub const CONSUMER_ID: &str = "consumer-1";
pub const HUBSPOT_TOKEN: &str = "hs-token-123";
/// Where the test gateways say browsers reach them (nothing listens there: tests follow
/// redirects by hand).
pub const PUBLIC_URL: &str = "https://gateway.test/";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub hubspot: MockServer,
    pub state: AppState,
    pub database_url: String,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A gateway whose options the test adjusts (per-connector overrides, say).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ServeOptions)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("crmgate.db").display());
    let mut options = options(&database_url);
    adjust(&mut options);
    start(options, dir).await
}

/// A gateway on the given database (tests that need two gateways share one).
pub async fn spawn_on(database_url: String, dir: tempfile::TempDir) -> TestApp {
    start(options(&database_url), dir).await
}

/// A gateway whose public URL is its own address, so that a browser can follow its links
/// and the vendor's redirects back to it.
pub async fn spawn_app_public() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("crmgate.db").display());
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut options = options(&database_url);
    options.public_url =
        url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    start_on(listener, options, dir).await
}

async fn start(options: ServeOptions, dir: tempfile::TempDir) -> TestApp {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    start_on(listener, options, dir).await
}

async fn start_on(
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    dir: tempfile::TempDir,
) -> TestApp {
    let database_url = options.database_url.clone();
    let gateway = Gateway::build(options).await.expect("the gateway builds");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let state = gateway.state.clone();
    tokio::spawn(server::serve(
        listener,
        gateway.state,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    let hubspot = MockServer::start().await;
    hubspot_without_custom_properties(&hubspot).await;
    TestApp {
        address,
        client: reqwest::Client::new(),
        hubspot,
        state,
        database_url,
        _dir: dir,
    }
}

/// A HubSpot account without custom deal properties: the connector reads them once per
/// connection before its first read, so every HubSpot mock answers it.
pub async fn hubspot_without_custom_properties(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/crm/properties/2026-09/deals"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": [] })))
        .mount(server)
        .await;
}

/// The plugins this repository ships, which a gateway loads by default from `./connectors.d`.
pub fn plugins_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors.d")
}

pub fn options(database_url: &str) -> ServeOptions {
    ServeOptions {
        database_url: database_url.to_owned(),
        mappings: None,
        plugins: vec![plugins_dir()],
        skip_broken_plugins: false,
        api_key: Some(SecretString::from(API_KEY)),
        redis_url: None,
        encryption_key: Some(SecretString::from(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )),
        request_deadline: Duration::from_secs(30),
        max_request_body_bytes: 1024 * 1024,
        connection_cache_tenants: 10_000,
        connectors: Default::default(),
        // The vendor mocks listen on loopback, which only an entry naming it reaches.
        allowed_hosts: vec![HostPattern::parse("127.0.0.1").unwrap()],
        public_url: url::Url::parse(PUBLIC_URL).unwrap(),
    }
}

impl TestApp {
    /// A request with the operator key and the default tenant's headers.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_for(method, path, CONSUMER_ID)
    }

    /// A request with the operator key for another consumer of the default application.
    pub fn request_for(&self, method: Method, path: &str, consumer: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(API_KEY)
            .header("x-apideck-app-id", APP_ID)
            .header("x-apideck-consumer-id", consumer)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.request(Method::POST, path).json(body)
    }

    pub fn patch(&self, path: &str, body: &Value) -> RequestBuilder {
        self.request(Method::PATCH, path).json(body)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// What `/metrics` shows now.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Connects the default consumer to the HubSpot mock.
    pub async fn connect_hubspot(&self) {
        let body =
            json!({ "settings": { "api_key": HUBSPOT_TOKEN, "base_url": self.hubspot.uri() } });
        let response = self
            .patch("/vault/connections/crm/hubspot", &body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
}

/// The ids of a unified list page's records, as the numbers the test vendors give out.
pub fn page_ids(body: &Value) -> Vec<u64> {
    body["data"]
        .as_array()
        .expect("a list page has data")
        .iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// Sends a request and answers its status and JSON body, checked against the contract.
/// Every page of `GET /crm/opportunities?limit=N` from one service's connection, following
/// `meta.cursors.next` until it is null; each answer must be a 200.
pub async fn every_page(app: &TestApp, service: &str, resource: &str, limit: u32) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/crm/{resource}?limit={limit}&cursor={c}"),
            None => format!("/crm/{resource}?limit={limit}"),
        };
        let (status, body) = call(app.get(&path).header("x-apideck-service-id", service)).await;
        assert_eq!(status, 200, "{body}");
        cursor = body["meta"]["cursors"]["next"].as_str().map(str::to_owned);
        pages.push(body);
        if cursor.is_none() {
            return pages;
        }
    }
}

/// The ids of every record of a list, in the order its pages served them.
pub async fn every_id(app: &TestApp, service: &str, resource: &str, limit: u32) -> Vec<String> {
    every_page(app, service, resource, limit)
        .await
        .iter()
        .flat_map(|page| page["data"].as_array().cloned().unwrap_or_default())
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn call(rq: RequestBuilder) -> (u16, Value) {
    let (status, _, body) = exchange(rq).await;
    (status, body)
}

/// Sends a request and answers its status, headers and JSON body, checked against the contract.
pub async fn exchange(rq: RequestBuilder) -> (u16, HeaderMap, Value) {
    let (client, request) = rq.build_split();
    let request = request.unwrap();
    let method = request.method().clone();
    let response = client.execute(request).await.unwrap();
    let headers = response.headers().clone();
    let (status, body) = answer(&method, response).await;
    (status, headers, body)
}

/// A response's status and JSON body. The body is checked against the contract's schema for
/// the request's operation and the status (`crate::schema`), so no test can see an answer a
/// strict client would reject without failing.
pub async fn answer(method: &Method, response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let path = response.url().path().to_owned();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    crate::schema::check(method, &path, status, &body);
    (status, body)
}

/// Checks an Apideck error answer's status and type.
pub fn assert_error(answer: &(u16, Value), status: u16, type_name: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["type_name"], type_name, "{}", answer.1);
    assert_eq!(answer.1["status_code"], status);
    assert!(
        answer.1["ref"]
            .as_str()
            .unwrap()
            .ends_with(&type_name.to_lowercase())
    );
}

/// Parses JSON text with exact numbers (`json!` would turn 1500.50 into 1500.5).
pub fn exact(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The value of one sample in Prometheus's text format, 0 when absent.
pub fn sample(metrics: &str, name_and_labels: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A fresh schema on the test PostgreSQL (`CRMGATE_TEST_POSTGRES_URL`), and a URL that puts
/// crmgate in it; `None` when no server is configured.
pub struct PostgresSchema {
    pub url: String,
    name: String,
    admin: sqlx::PgPool,
}

impl PostgresSchema {
    pub async fn create() -> Option<Self> {
        let base = std::env::var("CRMGATE_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).unwrap();
        let name = format!("crmgate_it_{}", u64::from_le_bytes(raw));
        let admin = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let url = format!("{base}?options=-c%20search_path%3D{name}");
        Some(Self { url, name, admin })
    }

    pub async fn drop_schema(&self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}
