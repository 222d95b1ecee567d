//! Hosted Vault in a real browser: headless Chromium driven over WebDriver (Debian's chromium
//! and chromium-driver, which `.ci/run` installs). A session page is opened, an API-key CRM is
//! connected through its form, an OAuth CRM through the fake authorization server, one is
//! disconnected, and an expired session shows what to do — the gateway's state is read after
//! each step. Screenshots of each step go to `docs/hosted-vault/` with
//! `CRMGATE_UPDATE_SCREENSHOTS=1`.
//!
//! Without chromedriver the test is skipped, unless `CRMGATE_TEST_BROWSER=1` (CI) says it must
//! run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::app::{TestApp, call, spawn_app_public};
use crate::oauth::{param, register, tokens};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// W3C WebDriver's key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session on a chromedriver of its own.
struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    shots: Option<PathBuf>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Option<Self> {
        if !Path::new(CHROMEDRIVER).exists() {
            assert!(
                std::env::var("CRMGATE_TEST_BROWSER").is_err(),
                "CRMGATE_TEST_BROWSER is set but {CHROMEDRIVER} is missing: install chromium and chromium-driver"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        crmgate_connector_sdk::install_crypto_provider();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1000,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        // chromedriver takes a moment to listen.
        let started = Instant::now();
        let answer: Value = loop {
            match http
                .post(format!("{base}/session"))
                .json(&capabilities)
                .send()
                .await
            {
                Ok(response) => break response.json().await.unwrap(),
                Err(_) if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver does not answer: {e}"),
            }
        };
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_owned();
        let shots = std::env::var("CRMGATE_UPDATE_SCREENSHOTS")
            .ok()
            .map(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hosted-vault"));
        Some(Self {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            shots,
            _profile: profile,
        })
    }

    async fn command(&self, verb: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rq = self.http.request(verb, format!("{}{path}", self.session));
        if let Some(body) = body {
            rq = rq.json(&body);
        }
        let answer: Value = rq.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The element `css` selects, once it is there (within five seconds).
    async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let found = self
                .command(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({ "using": "css selector", "value": css })),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            if started.elapsed() > Duration::from_secs(5) {
                let page = self.command(reqwest::Method::GET, "/source", None).await;
                panic!("no element {css} on the page ({found}):\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn clear(&self, css: &str) {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.command(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (five seconds at most) for the text of `css` to contain `expected`.
    async fn wait_text(&self, css: &str, expected: &str) {
        let started = Instant::now();
        loop {
            let text = self.text(css).await;
            if text.contains(expected) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{css} says {text:?}, not {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn visible(&self, css: &str) -> bool {
        let id = self.find(css).await;
        self.command(
            reqwest::Method::GET,
            &format!("/element/{id}/displayed"),
            None,
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Saves the page as `docs/hosted-vault/<name>.png` when screenshots are being updated.
    async fn screenshot(&self, name: &str) {
        let data = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        if let Some(dir) = &self.shots {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }
}

/// The vendor's consent page, consented at once: back to the `redirect_uri` it was given with
/// a code and the same `state`.
struct Consent;

impl Respond for Consent {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let param = |name: &str| param(&request.url, name).unwrap_or_default();
        let mut back = url::Url::parse(&param("redirect_uri")).unwrap();
        back.query_pairs_mut()
            .append_pair("code", "browser-code")
            .append_pair("state", &param("state"));
        ResponseTemplate::new(302).insert_header("location", back.as_str())
    }
}

async fn session(app: &TestApp, body: &Value) -> String {
    let (status, answer) = call(app.post("/vault/sessions", body)).await;
    assert_eq!(status, 200, "{answer}");
    let uri = answer["data"]["session_uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with(&format!("{}/vault/session/", app.address)),
        "{uri}"
    );
    uri
}

async fn state_of(app: &TestApp, service: &str) -> Value {
    let (status, body) = call(app.get(&format!("/vault/connections/crm/{service}"))).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn an_end_customer_connects_and_disconnects_crms_on_the_session_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app_public().await;
    let auth = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(Consent)
        .expect(1)
        .mount(&auth)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(tokens("browser-access", "browser-refresh", 1800))
        .expect(1)
        .mount(&auth)
        .await;
    register(&app, "hubspot", &auth).await;
    let uri = session(
        &app,
        &json!({
            "consumer_metadata": { "account_name": "Acme", "user_name": "Ada" },
            "redirect_uri": "https://app.example.com/done",
            "settings": { "sandbox_mode": true, "session_length": "30m" }
        }),
    )
    .await;

    browser.goto(&uri).await;
    browser
        .find("section[data-service=pipedrive][data-state=available]")
        .await;
    assert_eq!(browser.text("#who").await, "Ada, Acme");
    assert!(browser.visible("#sandbox").await);
    assert_eq!(
        browser.text("section[data-service=hubspot] h2").await,
        "HubSpot"
    );
    browser.screenshot("1-session").await;

    // An API-key CRM, through the form the connector's settings make.
    let pipedrive_mock = MockServer::start().await;
    browser
        .type_into("#pipedrive-api_key", "pd-token-from-the-page")
        .await;
    browser
        .type_into("#pipedrive-base_url", &pipedrive_mock.uri())
        .await;
    browser
        .click("form[data-service=pipedrive] button[type=submit]")
        .await;
    browser
        .find("section[data-service=pipedrive][data-state=callable]")
        .await;
    assert!(
        browser
            .text("#status")
            .await
            .contains("Pipedrive is connected")
    );
    let pipedrive = state_of(&app, "pipedrive").await;
    assert_eq!(pipedrive["state"], "callable");
    assert_eq!(pipedrive["settings"]["api_key"], "********");
    browser.screenshot("2-api-key-connected").await;

    // A custom field mapped on the page, previewed on the first deal as the gateway reads it.
    Mock::given(method("GET"))
        .and(path("/api/v2/deals"))
        .and(wiremock::matchers::header(
            "x-api-token",
            "pd-token-from-the-page",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(crate::pipedrive::envelope(
                json!([crate::pipedrive::deal(7)]),
                None,
            )),
        )
        .mount(&pipedrive_mock)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "success": true, "data": [] })),
        )
        .with_priority(10)
        .mount(&pipedrive_mock)
        .await;
    browser
        .click("section[data-service=pipedrive] details[data-section=mapping] summary")
        .await;
    browser
        .type_into("#pipedrive-map-key", "origin_story")
        .await;
    browser.type_into("#pipedrive-map-path", "$.origin").await;
    browser
        .click("form[data-mapping=pipedrive] button[type=submit]")
        .await;
    browser
        .wait_text("#pipedrive-preview", "On “Deal 7”, origin_story is \"API\"")
        .await;
    let (status, mappings) =
        call(app.get("/vault/connections/crm/pipedrive/opportunities/custom-mappings")).await;
    assert_eq!(status, 200, "{mappings}");
    let mapped = mappings["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "origin_story")
        .unwrap_or_else(|| panic!("{mappings}"));
    assert_eq!(mapped["value"], "$.origin");
    assert_eq!(mapped["consumer_id"], crate::app::CONSUMER_ID);
    browser.screenshot("3-field-mapped").await;

    // Another resource of the same connection: a field of its organizations (companies).
    Mock::given(method("GET"))
        .and(path("/api/v2/organizations"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(crate::pipedrive::envelope(
                json!([{ "id": 3, "name": "Acme", "industry_code": "aerospace" }]),
                None,
            )),
        )
        .mount(&pipedrive_mock)
        .await;
    browser
        .click("#pipedrive-map-resource option[value=companies]")
        .await;
    browser.clear("#pipedrive-map-key").await;
    browser
        .type_into("#pipedrive-map-key", "industry_code")
        .await;
    browser.clear("#pipedrive-map-path").await;
    browser
        .type_into("#pipedrive-map-path", "$.industry_code")
        .await;
    browser
        .click("form[data-mapping=pipedrive] button[type=submit]")
        .await;
    browser
        .wait_text(
            "#pipedrive-preview",
            "On “Acme”, industry_code is \"aerospace\"",
        )
        .await;
    let (status, mappings) =
        call(app.get("/vault/connections/crm/pipedrive/companies/custom-mappings")).await;
    assert_eq!(status, 200, "{mappings}");
    assert!(
        mappings["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["key"] == "industry_code" && m["value"] == "$.industry_code"),
        "{mappings}"
    );

    // An OAuth CRM: the vendor's consent and back to the page.
    browser
        .click("section[data-service=hubspot] a[data-action=authorize]")
        .await;
    browser
        .find("section[data-service=hubspot][data-state=callable]")
        .await;
    let hubspot = state_of(&app, "hubspot").await;
    assert_eq!(hubspot["state"], "callable");
    assert_eq!(hubspot["auth_type"], "oauth2");
    browser.screenshot("4-oauth-connected").await;

    browser
        .click("section[data-service=pipedrive] button[data-action=disconnect]")
        .await;
    browser
        .find("section[data-service=pipedrive][data-state=available]")
        .await;
    assert_eq!(state_of(&app, "pipedrive").await["state"], "available");
    assert_eq!(state_of(&app, "hubspot").await["state"], "callable");
    browser.screenshot("5-disconnected").await;

    // A session past its length says so, and where to go back to.
    let short = session(
        &app,
        &json!({ "redirect_uri": "https://app.example.com/done", "settings": { "session_length": "1s" } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    browser.goto(&short).await;
    assert_eq!(browser.text("h1").await, "This session has expired");
    let back = browser.find("main a").await;
    let href = browser
        .command(
            reqwest::Method::GET,
            &format!("/element/{back}/attribute/href"),
            None,
        )
        .await;
    assert_eq!(href, "https://app.example.com/done");
    browser.screenshot("6-expired").await;
}

#[tokio::test]
async fn the_session_api_acts_for_its_consumer_only_and_not_past_its_end() {
    let app = spawn_app_public().await;
    let uri = session(&app, &json!({ "settings": { "allow_actions": [] } })).await;
    let token = uri.rsplit('/').next().unwrap().to_owned();
    let api = |verb: reqwest::Method, path: &str, token: &str| {
        app.client
            .request(verb, format!("{}/vault/session-api{path}", app.address))
            .header("x-vault-session", token)
    };
    let (status, body) = call(api(reqwest::Method::GET, "/session", &token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["consumer_id"], crate::app::CONSUMER_ID);
    assert_eq!(body["data"]["can_disconnect"], false);
    let save = api(reqwest::Method::PATCH, "/connections/pipedrive", &token)
        .json(&json!({ "settings": { "api_key": "pd-1" } }));
    assert_eq!(call(save).await.0, 200);
    assert_eq!(state_of(&app, "pipedrive").await["state"], "callable");
    // allow_actions without disconnect or delete: the page may not remove connections.
    let removal = call(api(
        reqwest::Method::DELETE,
        "/connections/pipedrive",
        &token,
    ))
    .await;
    assert_eq!(removal.0, 403, "{}", removal.1);
    for amounting_to_it in [
        json!({ "enabled": false }),
        json!({ "settings": { "api_key": null } }),
    ] {
        let patch =
            api(reqwest::Method::PATCH, "/connections/pipedrive", &token).json(&amounting_to_it);
        assert_eq!(call(patch).await.0, 403, "{amounting_to_it}");
    }
    assert_eq!(state_of(&app, "pipedrive").await["state"], "callable");
    // A session for other unified APIs shows and changes no CRM connection.
    let other = session(
        &app,
        &json!({ "settings": { "unified_apis": ["accounting"] } }),
    )
    .await;
    let other = other.rsplit('/').next().unwrap().to_owned();
    let (status, listed) = call(api(reqwest::Method::GET, "/connections", &other)).await;
    assert_eq!((status, listed["data"].clone()), (200, json!([])));
    let patch = api(reqwest::Method::PATCH, "/connections/pipedrive", &other)
        .json(&json!({ "settings": { "api_key": "pd-2" } }));
    assert_eq!(call(patch).await.0, 404);
    // A token changed by one character, or none, opens nothing.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(
        call(api(reqwest::Method::GET, "/connections", &forged))
            .await
            .0,
        401
    );
    let page = app
        .client
        .get(format!("{}/vault/session/{forged}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 401);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("This link is not valid")
    );
    // The page itself loads nothing from elsewhere and sends no referrer.
    let page = app.client.get(&uri).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    // Bad sessions are refused with what was wrong.
    for (body, words) in [
        (
            json!({ "settings": { "session_length": "2w" } }),
            "session_length",
        ),
        (
            json!({ "redirect_uri": "javascript:alert(1)" }),
            "redirect_uri",
        ),
        (json!({ "colour": "red" }), "colour"),
    ] {
        let (status, answer) = call(app.post("/vault/sessions", &body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains(words), "{answer}");
    }
}
