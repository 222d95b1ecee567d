//! OAuth 2.0 connections through Vault, with wiremock as the vendor's authorization server:
//! authorize → callback → callable, states that are tampered with or used twice, vendor errors,
//! refresh before expiry and on a 401, a refused grant, and one refresh for many concurrent
//! calls, across two gateways on one PostgreSQL.

use std::collections::BTreeMap;

use crmgate::server::{self, OAuthClientInput};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::app::{
    PUBLIC_URL, PostgresSchema, TestApp, assert_error, call, options, spawn_app, spawn_on,
};
use crate::hubspot::{answer, deal};

const CLIENT_ID: &str = "client-123";
const CLIENT_SECRET: &str = "client-secret-456";
pub const REDIRECT: &str = "https://app.example.com/integrations";

/// A client that shows redirects instead of following them, as a test must to see them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Registers the application's client for `service`, with the token and authorization URLs
/// on the fake authorization server.
pub async fn register(app: &TestApp, service: &str, auth: &MockServer) {
    server::set_oauth_client(&options(&app.database_url), client(service, auth))
        .await
        .unwrap();
}

/// The test application's client for `service`, its URLs on the fake authorization server.
fn client(service: &str, auth: &MockServer) -> OAuthClientInput {
    OAuthClientInput {
        app_id: crate::app::APP_ID.to_owned(),
        service_id: service.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(CLIENT_SECRET),
        scopes: Vec::new(),
        redirect_uris: vec![Url::parse(REDIRECT).unwrap()],
        authorization_url: Some(Url::parse(&format!("{}/authorize", auth.uri())).unwrap()),
        token_url: Some(Url::parse(&format!("{}/token", auth.uri())).unwrap()),
        require_nonce: false,
    }
}

/// A path of the gateway from one of its public links.
pub fn local(app: &TestApp, link: &str) -> String {
    format!("{}/{}", app.address, link.strip_prefix(PUBLIC_URL).unwrap())
}

pub async fn connection(app: &TestApp, service: &str) -> Value {
    let (status, body) = call(app.get(&format!("/vault/connections/crm/{service}"))).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// The flow cookies `/vault/authorize` set, by the vendor `state` they go with: the test's
/// cookie jar, so that a callback comes from the "browser" that started its flow.
static JAR: std::sync::Mutex<BTreeMap<String, String>> = std::sync::Mutex::new(BTreeMap::new());

/// The vendor URL of an authorize answer, its flow cookie kept in the jar.
fn to_vendor(response: &reqwest::Response) -> Url {
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let vendor = location(response);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/vault/callback"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    JAR.lock()
        .unwrap()
        .insert(param(&vendor, "state").unwrap(), pair);
    vendor
}

/// The vendor's authorization URL `/vault/authorize` redirected to.
pub async fn authorize(app: &TestApp, service: &str) -> Url {
    let link = connection(app, service).await["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = browser().get(local(app, &link)).send().await.unwrap();
    to_vendor(&response)
}

/// Where a redirect answer sends the browser.
fn location(answer: &reqwest::Response) -> Url {
    Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Calls the callback as the vendor's redirect would, from the browser that started the flow
/// (with its cookie), answering where the browser goes next.
pub async fn callback(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    let state = query.iter().find(|(k, _)| *k == "state").map(|(_, v)| *v);
    let cookie = state.and_then(|s| JAR.lock().unwrap().get(s).cloned());
    callback_with(app, query, cookie.as_deref()).await
}

async fn callback_with(
    app: &TestApp,
    query: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut url = Url::parse(&format!("{}/vault/callback", app.address)).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    let mut rq = browser().get(url);
    if let Some(cookie) = cookie {
        rq = rq.header("cookie", cookie);
    }
    rq.send().await.unwrap()
}

pub fn tokens(access: &str, refresh: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "bearer", "access_token": access, "refresh_token": refresh,
        "expires_in": expires_in
    }))
}

/// Expects one exchange of `code` and answers it with `answer`.
pub async fn expect_exchange(auth: &MockServer, code: &str, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains(format!("code={code}")))
        .respond_with(answer)
        .expect(1)
        .mount(auth)
        .await;
}

/// Expects `times` refreshes and answers them with `answer`.
async fn expect_refresh(auth: &MockServer, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(answer)
        .expect(times)
        .mount(auth)
        .await;
}

/// Connects the default consumer's HubSpot connection through the whole flow; its token lasts
/// `expires_in` seconds.
/// Points the default consumer's HubSpot connection at the HubSpot mock, not yet authorized,
/// and registers the application's client.
async fn hubspot_on_mock(app: &TestApp, auth: &MockServer) {
    let base = json!({ "settings": { "base_url": app.hubspot.uri() } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/hubspot", &base))
            .await
            .0,
        200
    );
    register(app, "hubspot", auth).await;
}

async fn authorized_hubspot(app: &TestApp, auth: &MockServer, expires_in: u64) {
    hubspot_on_mock(app, auth).await;
    let vendor = authorize(app, "hubspot").await;
    expect_exchange(auth, "code-1", tokens("access-1", "refresh-1", expires_in)).await;
    let state = param(&vendor, "state").unwrap();
    let done = callback(app, &[("state", &state), ("code", "code-1")]).await;
    assert_eq!(done.status(), 302);
    assert_eq!(done.headers()["location"], REDIRECT);
}

/// A HubSpot deal read that must carry `token`, `times` times.
async fn read_with(app: &TestApp, token: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/1"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(answer(200, deal(1)))
        .expect(times)
        .mount(&app.hubspot)
        .await;
}

/// Reads deal 1 `times` times, each answered 200.
async fn reads_succeed(app: &TestApp, times: usize) {
    for _ in 0..times {
        let (status, body) = call(app.get("/crm/opportunities/1")).await;
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test]
async fn a_connection_is_authorized_through_the_vendor_and_then_callable() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    let base = json!({ "settings": { "base_url": app.hubspot.uri() } });
    assert_eq!(
        call(app.patch("/vault/connections/crm/hubspot", &base))
            .await
            .0,
        200
    );
    let before = connection(&app, "hubspot").await;
    assert!(
        before.get("authorize_url").is_none(),
        "no client, no link: {before}"
    );
    register(&app, "hubspot", &auth).await;
    let before = connection(&app, "hubspot").await;
    assert_eq!(before["auth_type"], "oauth2");
    assert_eq!(before["state"], "added");
    assert_eq!(before["oauth_grant_type"], "authorization_code");
    assert!(
        before["revoke_url"].as_str().is_some_and(
            |u| u.starts_with("https://gateway.test/vault/revoke/hubspot/app-1?state=")
        ),
        "{before}"
    );

    let vendor = authorize(&app, "hubspot").await;
    assert_eq!(
        format!("{}{}", vendor.origin().ascii_serialization(), vendor.path()),
        format!("{}/authorize", auth.uri())
    );
    assert_eq!(param(&vendor, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&vendor, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        param(&vendor, "redirect_uri").as_deref(),
        Some("https://gateway.test/vault/callback")
    );
    let scope = param(&vendor, "scope").unwrap();
    assert!(
        scope.starts_with("oauth crm.objects.deals.read "),
        "{scope}"
    );
    assert_eq!(
        param(&vendor, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let challenge = param(&vendor, "code_challenge").unwrap();

    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fgateway.test%2Fvault%2Fcallback",
        ))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .and(body_string_contains(format!(
            "client_secret={CLIENT_SECRET}"
        )))
        .and(body_string_contains("code_verifier="))
        .respond_with(tokens("access-1", "refresh-1", 1800))
        .expect(1)
        .mount(&auth)
        .await;
    let state = param(&vendor, "state").unwrap();
    let done = callback(&app, &[("state", &state), ("code", "the-code")]).await;
    assert_eq!(done.status(), 302);
    assert_eq!(done.headers()["location"], REDIRECT);
    // The verifier sent is the one the challenge was made from (RFC 7636 S256).
    let exchange = &auth.received_requests().await.unwrap()[0];
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&exchange.body)
        .into_owned()
        .collect();
    use base64::Engine;
    use sha2::Digest;
    let derived = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(form["code_verifier"].as_bytes()));
    assert_eq!(derived, challenge);

    let after = connection(&app, "hubspot").await;
    assert_eq!(after["state"], "callable", "{after}");
    assert_eq!(after["auth_type"], "oauth2");
    assert!(!after.to_string().contains("access-1") && !after.to_string().contains("refresh-1"));
    read_with(&app, "access-1", 1).await;
    let (status, body) = call(app.get("/crm/opportunities/1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], "1");
}

#[tokio::test]
async fn a_state_is_good_for_one_exchange_and_a_forged_one_for_none() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 1800).await;
    // The same callback again: the flow is gone, and no second code exchange is made.
    let vendor = authorize(&app, "hubspot").await;
    let state = param(&vendor, "state").unwrap();
    expect_exchange(&auth, "code-2", tokens("access-2", "refresh-2", 1800)).await;
    assert_eq!(
        callback(&app, &[("state", &state), ("code", "code-2")])
            .await
            .status(),
        302
    );
    let replayed = callback(&app, &[("state", &state), ("code", "code-2")]).await;
    assert_eq!(replayed.status(), 400);
    let body: Value = replayed.json().await.unwrap();
    assert_eq!(body["type_name"], "OAuthInvalidStateError", "{body}");
    // A state altered by one character, or signed by nobody.
    let mut forged = state.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(forged).unwrap(),
        "abc.def".to_owned(),
        String::new(),
    ] {
        let answer = callback(&app, &[("state", &bad), ("code", "code-3")]).await;
        assert_eq!(answer.status(), 400, "{bad}");
    }
    // A link state is not a flow state, nor the other way round.
    let link = connection(&app, "hubspot").await["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let link_state = param(&Url::parse(&link).unwrap(), "state").unwrap();
    assert_eq!(
        callback(&app, &[("state", &link_state), ("code", "x")])
            .await
            .status(),
        400
    );
    let with_flow_state = format!(
        "{}/vault/authorize/hubspot/app-1?state={}",
        app.address,
        url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    let answer = call(browser().get(with_flow_state)).await;
    assert_error(&answer, 400, "OAuthInvalidStateError");
    // A link for one application does not authorize at another's path.
    let elsewhere = local(&app, &link).replace("/hubspot/app-1?", "/hubspot/app-2?");
    assert_error(
        &call(browser().get(elsewhere)).await,
        400,
        "OAuthInvalidStateError",
    );
}

/// A gateway whose application has a HubSpot client at an authorization server that must
/// receive no token call (the server is returned so that it checks that when dropped).
async fn registered_without_token_calls() -> (TestApp, MockServer) {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&auth)
        .await;
    register(&app, "hubspot", &auth).await;
    (app, auth)
}

#[tokio::test]
async fn a_flow_completes_only_in_the_browser_that_started_it() {
    let (app, _auth) = registered_without_token_calls().await;
    // Someone starts a flow and hands the vendor URL to another person, whose browser comes
    // back with a code for their own account: without the starter's cookie it is refused.
    let vendor = authorize(&app, "hubspot").await;
    let state = param(&vendor, "state").unwrap();
    let other = callback_with(&app, &[("state", &state), ("code", "victims-code")], None).await;
    assert_eq!(other.status(), 400);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["type_name"], "OAuthInvalidStateError", "{body}");
    let mut wrong = JAR.lock().unwrap()[&state].clone();
    wrong.push('x');
    let forged = callback_with(
        &app,
        &[("state", &state), ("code", "victims-code")],
        Some(&wrong),
    )
    .await;
    assert_eq!(forged.status(), 400);
    assert_eq!(connection(&app, "hubspot").await["state"], "available");
}

#[tokio::test]
async fn the_end_customer_returns_only_to_a_registered_redirect_uri() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    register(&app, "hubspot", &auth).await;
    let link = connection(&app, "hubspot").await["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut url = Url::parse(&local(&app, &link)).unwrap();
    url.query_pairs_mut()
        .append_pair("redirect_uri", "https://evil.example/steal");
    let answer = call(browser().get(url)).await;
    assert_error(&answer, 400, "OAuthRedirectUriError");
    let mut url = Url::parse(&local(&app, &link)).unwrap();
    url.query_pairs_mut().append_pair("redirect_uri", REDIRECT);
    assert_eq!(browser().get(url).send().await.unwrap().status(), 302);
}

#[tokio::test]
async fn a_vendor_error_goes_back_to_the_application_without_a_token_call() {
    let (app, _auth) = registered_without_token_calls().await;
    let vendor = authorize(&app, "hubspot").await;
    let state = param(&vendor, "state").unwrap();
    let answer = callback(
        &app,
        &[
            ("state", &state),
            ("error", "access_denied"),
            ("error_description", "The user said no"),
        ],
    )
    .await;
    assert_eq!(answer.status(), 302);
    let back = location(&answer);
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        param(&back, "error_description").as_deref(),
        Some("The user said no")
    );
    assert_eq!(param(&back, "service_id").as_deref(), Some("hubspot"));
    assert_eq!(connection(&app, "hubspot").await["state"], "available");
}

#[tokio::test]
async fn a_failed_exchange_says_so_to_the_application_and_names_no_secret() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    register(&app, "hubspot", &auth).await;
    let vendor = authorize(&app, "hubspot").await;
    expect_exchange(
        &auth,
        "bad-code",
        ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_client",
            "error_description": format!("client_secret {CLIENT_SECRET} is wrong")
        })),
    )
    .await;
    let state = param(&vendor, "state").unwrap();
    let answer = callback(&app, &[("state", &state), ("code", "bad-code")]).await;
    assert_eq!(answer.status(), 302);
    let back = location(&answer);
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("code_exchange_failed")
    );
    let description = param(&back, "error_description").unwrap();
    assert!(description.contains("invalid_client"), "{description}");
    assert!(!description.contains(CLIENT_SECRET), "{description}");
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_the_call() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    // Thirty seconds: within the minute before expiry in which tokens are refreshed.
    authorized_hubspot(&app, &auth, 30).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .and(body_string_contains(format!(
            "client_secret={CLIENT_SECRET}"
        )))
        .respond_with(tokens("access-2", "refresh-2", 1800))
        .expect(1)
        .mount(&auth)
        .await;
    read_with(&app, "access-2", 2).await;
    read_with(&app, "access-1", 0).await;
    reads_succeed(&app, 2).await;
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_the_call_succeeds() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 3600).await;
    expect_refresh(&auth, tokens("access-2", "refresh-2", 3600), 1).await;
    // The vendor revoked the access token early.
    Mock::given(method("GET"))
        .and(path("/crm/objects/2026-09/deals/1"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(answer(
            401,
            json!({ "status": "error", "category": "EXPIRED_AUTHENTICATION" }),
        ))
        .expect(1)
        .mount(&app.hubspot)
        .await;
    read_with(&app, "access-2", 2).await;
    reads_succeed(&app, 2).await;
}

#[tokio::test]
async fn a_refused_grant_marks_the_connection_invalid_and_stops_calling() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 30).await;
    expect_refresh(
        &auth,
        ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "refresh token revoked"
        })),
        1,
    )
    .await;
    read_with(&app, "access-1", 0).await;
    for _ in 0..3 {
        let answer = call(app.get("/crm/opportunities/1")).await;
        assert_error(&answer, 401, "UnauthorizedError");
        let detail = &answer.1["detail"];
        assert_eq!(detail["type"], "refresh_token_connector_error", "{detail}");
        assert!(
            detail["authorize_url"].as_str().is_some_and(
                |u| u.starts_with("https://gateway.test/vault/authorize/hubspot/app-1?state=")
            ),
            "{detail}"
        );
    }
    let after = connection(&app, "hubspot").await;
    assert_eq!(after["state"], "invalid");
    assert_eq!(after["health"], "needs_auth");
    // Authorizing again repairs it.
    let vendor = authorize(&app, "hubspot").await;
    expect_exchange(&auth, "code-2", tokens("access-3", "refresh-3", 1800)).await;
    let state = param(&vendor, "state").unwrap();
    assert_eq!(
        callback(&app, &[("state", &state), ("code", "code-2")])
            .await
            .status(),
        302
    );
    assert_eq!(connection(&app, "hubspot").await["state"], "callable");
    read_with(&app, "access-3", 1).await;
    assert_eq!(call(app.get("/crm/opportunities/1")).await.0, 200);
}

/// Opens the consumer's HubSpot revoke link as a browser would; it always redirects back.
async fn open_revoke_link(app: &TestApp) -> reqwest::Response {
    let link = connection(app, "hubspot").await["revoke_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = browser().get(local(app, &link)).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    answer
}

#[tokio::test]
async fn a_revoke_link_forgets_the_tokens() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 1800).await;
    // RFC 7009 at HubSpot's revoke path, on the origin the application's token URL moved to.
    Mock::given(method("POST"))
        .and(path("/oauth/2026-09/token/revoke"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("token=refresh-1"))
        .and(body_string_contains("token_type_hint=refresh_token"))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .and(body_string_contains(format!(
            "client_secret={CLIENT_SECRET}"
        )))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&auth)
        .await;
    let answer = open_revoke_link(&app).await;
    assert_eq!(answer.headers()["location"], REDIRECT);
    let after = connection(&app, "hubspot").await;
    assert_eq!(after["state"], "added", "{after}");
    assert_eq!(after["settings"]["base_url"], app.hubspot.uri().as_str());
}

#[tokio::test]
async fn a_vendor_that_cannot_revoke_is_said_and_the_tokens_go_anyway() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 1800).await;
    Mock::given(method("POST"))
        .and(path("/oauth/2026-09/token/revoke"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&auth)
        .await;
    let answer = open_revoke_link(&app).await;
    let back = location(&answer);
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("vendor_revoke_failed")
    );
    assert_eq!(connection(&app, "hubspot").await["state"], "added");
}

#[tokio::test]
async fn pipedrive_takes_its_api_root_from_the_token_answer() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    let company = MockServer::start().await;
    register(&app, "pipedrive", &auth).await;
    let vendor = authorize(&app, "pipedrive").await;
    assert_eq!(
        param(&vendor, "scope"),
        None,
        "Pipedrive's scopes live in the app"
    );
    assert_eq!(param(&vendor, "code_challenge"), None);
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    };
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(body_string_contains("code=pd-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "pd-access", "refresh_token": "pd-refresh", "expires_in": 3599,
            "token_type": "Bearer", "scope": "deals:full", "api_domain": company.uri()
        })))
        .expect(1)
        .mount(&auth)
        .await;
    let state = param(&vendor, "state").unwrap();
    assert_eq!(
        callback(&app, &[("state", &state), ("code", "pd-code")])
            .await
            .status(),
        302
    );
    let sent = auth.received_requests().await.unwrap();
    assert!(
        !String::from_utf8_lossy(&sent[0].body).contains("client_secret"),
        "Basic client authentication keeps the secret out of the body"
    );
    let after = connection(&app, "pipedrive").await;
    assert_eq!(after["state"], "callable", "{after}");
    assert_eq!(after["settings"]["base_url"], company.uri().as_str());
    Mock::given(method("GET"))
        .and(path("/api/v2/deals/7"))
        .and(header("authorization", "Bearer pd-access"))
        .respond_with(answer(
            200,
            json!({ "success": true, "data": crate::pipedrive::deal(7) }),
        ))
        .expect(1)
        .mount(&company)
        .await;
    let (status, body) = call(
        app.request(Method::GET, "/crm/opportunities/7")
            .header("x-apideck-service-id", "pipedrive"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_api_root_the_connector_may_not_call_is_refused() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    register(&app, "pipedrive", &auth).await;
    let vendor = authorize(&app, "pipedrive").await;
    expect_exchange(
        &auth,
        "pd-code",
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "pd-access", "refresh_token": "pd-refresh", "expires_in": 3599,
            "api_domain": "https://pipedrive.com.evil.example"
        })),
    )
    .await;
    let state = param(&vendor, "state").unwrap();
    let answer = callback(&app, &[("state", &state), ("code", "pd-code")]).await;
    let back = location(&answer);
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("connection_not_saved")
    );
    assert_eq!(connection(&app, "pipedrive").await["state"], "available");
}

#[tokio::test]
async fn a_client_whose_urls_leave_the_allowed_hosts_is_refused() {
    let app = spawn_app().await;
    for (authorization, token) in [
        (None, Some("https://evil.example/token")),
        (Some("https://evil.example/authorize"), None),
        (None, Some("http://api.hubapi.com/oauth/2026-09/token")),
    ] {
        let input = OAuthClientInput {
            app_id: "app-1".to_owned(),
            service_id: "hubspot".to_owned(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: SecretString::from(CLIENT_SECRET),
            scopes: Vec::new(),
            redirect_uris: vec![Url::parse(REDIRECT).unwrap()],
            authorization_url: authorization.map(|u| Url::parse(u).unwrap()),
            token_url: token.map(|u| Url::parse(u).unwrap()),
            require_nonce: false,
        };
        let err = server::set_oauth_client(&options(&app.database_url), input)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("allowed_hosts"), "{err}");
    }
    let copper = OAuthClientInput {
        app_id: "app-1".to_owned(),
        service_id: "copper".to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(CLIENT_SECRET),
        scopes: Vec::new(),
        redirect_uris: vec![Url::parse(REDIRECT).unwrap()],
        authorization_url: None,
        token_url: None,
        require_nonce: false,
    };
    let err = server::set_oauth_client(&options(&app.database_url), copper)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no OAuth 2.0 flow"), "{err}");
}

#[tokio::test]
async fn fifty_calls_on_two_gateways_with_an_expired_token_refresh_it_once() {
    let Some(db) = PostgresSchema::create().await else {
        return;
    };
    let (one, two) = tokio::join!(
        spawn_on(db.url.clone(), tempfile::tempdir().unwrap()),
        spawn_on(db.url.clone(), tempfile::tempdir().unwrap())
    );
    let auth = MockServer::start().await;
    authorized_hubspot(&one, &auth, 30).await;
    expect_refresh(
        &auth,
        tokens("access-2", "refresh-2", 1800).set_delay(std::time::Duration::from_millis(200)),
        1,
    )
    .await;
    read_with(&one, "access-2", 50).await;
    read_with(&one, "access-1", 0).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..50 {
        let gateway = if i % 2 == 0 { &one } else { &two };
        calls.spawn(call(gateway.get("/crm/opportunities/1")));
    }
    for (status, body) in calls.join_all().await {
        assert_eq!(status, 200, "{body}");
    }
    db.drop_schema().await;
}

#[tokio::test]
async fn tokens_that_could_not_be_saved_are_never_used() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 30).await;
    // The process "dies" between the vendor's answer and the save: the store refuses the write.
    let db = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER lost_write BEFORE UPDATE ON connections BEGIN SELECT RAISE(ABORT, 'disk gone'); END",
    )
    .execute(&db)
    .await
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .respond_with(tokens("access-lost", "refresh-lost", 1800))
        .up_to_n_times(1)
        .expect(1)
        .mount(&auth)
        .await;
    read_with(&app, "access-lost", 0).await;
    read_with(&app, "access-1", 0).await;
    let (status, body) = call(app.get("/crm/opportunities/1")).await;
    assert_eq!(status, 500, "{body}");
    assert!(!body.to_string().contains("access-lost"), "{body}");
    // Once the store takes writes again, the refresh token that was saved is the one used.
    sqlx::query("DROP TRIGGER lost_write")
        .execute(&db)
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .respond_with(tokens("access-2", "refresh-2", 1800))
        .expect(1)
        .mount(&auth)
        .await;
    read_with(&app, "access-2", 1).await;
    reads_succeed(&app, 1).await;
}

#[tokio::test]
async fn a_nonce_leaves_the_connection_waiting_for_its_confirm_token() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    hubspot_on_mock(&app, &auth).await;
    let link = connection(&app, "hubspot").await["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut url = Url::parse(&local(&app, &link)).unwrap();
    url.query_pairs_mut().append_pair("nonce", "n-42");
    let started = browser().get(url).send().await.unwrap();
    let vendor = to_vendor(&started);
    expect_exchange(&auth, "code-n", tokens("access-n", "refresh-n", 1800)).await;
    let state = param(&vendor, "state").unwrap();
    let done = callback(&app, &[("state", &state), ("code", "code-n")]).await;
    assert_eq!(done.status(), 302);
    let back = done.headers()["location"].to_str().unwrap().to_owned();
    let (before, fragment) = back.split_once('#').unwrap();
    assert_eq!(before, REDIRECT);
    let fragment: BTreeMap<String, String> = url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fragment["nonce"], "n-42");
    assert_eq!(fragment["service_id"], "hubspot");
    let token = fragment["confirm_token"].clone();

    let waiting = connection(&app, "hubspot").await;
    assert_eq!(waiting["state"], "authorized");
    assert_eq!(waiting["health"], "pending_confirmation");
    read_with(&app, "access-n", 1).await;
    assert_error(
        &call(app.get("/crm/opportunities/1")).await,
        422,
        "ConnectionSettingsError",
    );
    let confirm = |token: &str| {
        app.post(
            "/vault/connections/crm/hubspot/confirm",
            &json!({ "confirm_token": token }),
        )
    };
    assert_error(
        &call(confirm("not-the-token")).await,
        400,
        "OAuthInvalidStateError",
    );
    let (status, body) = call(confirm(&token)).await;
    assert_eq!(
        (status, body["data"].clone()),
        (200, json!({ "confirmed": true }))
    );
    assert_eq!(connection(&app, "hubspot").await["state"], "callable");
    reads_succeed(&app, 1).await;
    // Single-use.
    assert_error(&call(confirm(&token)).await, 400, "OAuthInvalidStateError");
}

#[tokio::test]
async fn moving_a_connection_to_another_host_forgets_its_tokens() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 1800).await;
    assert_eq!(connection(&app, "hubspot").await["state"], "callable");
    let elsewhere = MockServer::start().await;
    let moved = json!({ "settings": { "base_url": elsewhere.uri() } });
    let (status, body) = call(app.patch("/vault/connections/crm/hubspot", &moved)).await;
    assert_eq!(status, 200, "{body}");
    // The tokens were granted for the host they were used with; the end customer authorizes
    // again for the new one.
    assert_eq!(body["data"]["state"], "added", "{body}");
    assert_eq!(body["data"]["auth_type"], "oauth2");
}

/// A token endpoint that refuses the application's client answers every refresh the same,
/// so it is asked once per cooldown: the calls in between fail at once, saying when to retry.
#[tokio::test]
async fn a_refused_client_is_asked_once_per_cooldown() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 1).await;
    expect_refresh(
        &auth,
        ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "unknown client"
        })),
        1,
    )
    .await;
    read_with(&app, "access-1", 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for _ in 0..3 {
        let answer = app.get("/crm/opportunities/1").send().await.unwrap();
        let retry_after: u64 = answer.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        let body: Value = answer.json().await.unwrap();
        assert_error(&(401, body.clone()), 401, "UnauthorizedError");
        let detail = &body["detail"];
        assert_eq!(detail["type"], "refresh_token_connector_error", "{detail}");
        assert!(
            detail["message"]
                .as_str()
                .unwrap()
                .contains("401 (invalid_client: unknown client)"),
            "{detail}"
        );
        let remaining = detail["debug"]["cooldown_remaining_ms"].as_i64().unwrap();
        assert!((1..=30_000).contains(&remaining), "{detail}");
        assert_eq!(
            detail["debug"]["retry_after_ms"].as_i64().unwrap(),
            detail["debug"]["last_refresh_failed_at"].as_i64().unwrap() + 30_000
        );
    }
    let after = connection(&app, "hubspot").await;
    assert_eq!(after["health"], "pending_refresh");
    assert_eq!(after["credentials_expire_at"], 0);
    assert!(
        after["last_refresh_failed_at"].as_i64().unwrap() > 0,
        "{after}"
    );
}

/// A refresh a minute early that fails does not fail the calls: the token still works.
#[tokio::test]
async fn an_early_refresh_that_fails_keeps_the_unexpired_token_in_use() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 30).await;
    assert_eq!(
        connection(&app, "hubspot").await["last_refresh_failed_at"],
        0
    );
    expect_refresh(&auth, ResponseTemplate::new(503), 1).await;
    read_with(&app, "access-1", 3).await;
    reads_succeed(&app, 3).await;
    let after = connection(&app, "hubspot").await;
    assert_eq!(
        (after["state"].clone(), after["health"].clone()),
        (json!("callable"), json!("pending_refresh"))
    );
}

/// Removing the application's client leaves its connections unable to renew their tokens:
/// their calls are unauthorized (not malformed), and a flow in progress returns to the
/// application with an error instead of stopping on a JSON page.
#[tokio::test]
async fn a_removed_client_is_said_to_calls_and_to_flows_in_progress() {
    let app = spawn_app().await;
    let auth = MockServer::start().await;
    authorized_hubspot(&app, &auth, 1).await;
    let vendor = authorize(&app, "hubspot").await;
    let store = crmgate::store::open(&app.database_url).await.unwrap();
    assert!(
        store
            .delete_oauth_client(crate::app::APP_ID, "hubspot")
            .await
            .unwrap()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let answer = call(app.get("/crm/opportunities/1")).await;
    assert_error(&answer, 401, "OAuthCredentialsNotFoundError");
    assert!(
        answer.1["detail"]
            .as_str()
            .unwrap()
            .contains("crmgate apps oauth set app-1 hubspot"),
        "{}",
        answer.1
    );
    let state = param(&vendor, "state").unwrap();
    let back = callback(&app, &[("state", &state), ("code", "code-2")]).await;
    assert_eq!(back.status(), 302);
    let back = location(&back);
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("oauth_client_not_found")
    );
    assert_eq!(param(&back, "service_id").as_deref(), Some("hubspot"));
}

/// An application that requires the two-step flow gets no connection without a `nonce`,
/// except from its own Hosted Vault session, which already binds the consumer.
#[tokio::test]
async fn a_client_that_requires_a_nonce_refuses_links_without_one() {
    let (app, auth) = registered_without_token_calls().await;
    let mut strict = client("hubspot", &auth);
    strict.require_nonce = true;
    server::set_oauth_client(&options(&app.database_url), strict)
        .await
        .unwrap();
    let link = connection(&app, "hubspot").await["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = call(browser().get(local(&app, &link))).await;
    assert_error(&answer, 400, "RequestValidationError");
    assert!(
        answer.1["message"].as_str().unwrap().contains("nonce"),
        "{}",
        answer.1
    );
    let mut with_nonce = Url::parse(&local(&app, &link)).unwrap();
    with_nonce.query_pairs_mut().append_pair("nonce", "n-1");
    to_vendor(&browser().get(with_nonce).send().await.unwrap());

    let (status, session) = call(app.post("/vault/sessions", &json!({}))).await;
    assert_eq!(status, 200, "{session}");
    let uri = session["data"]["session_uri"].as_str().unwrap();
    let token = uri.rsplit('/').next().unwrap();
    let mut from_page = Url::parse(&local(&app, &link)).unwrap();
    from_page.query_pairs_mut().append_pair("session", token);
    to_vendor(&browser().get(from_page).send().await.unwrap());
}

/// Connects the default consumer's `service` connection through the whole flow, the vendor's
/// token endpoint answering `answer` (which names the API root where the vendor has one).
pub async fn authorized_with(app: &TestApp, service: &str, answer: Value) {
    let auth = MockServer::start().await;
    register(app, service, &auth).await;
    let vendor = authorize(app, service).await;
    expect_exchange(
        &auth,
        "code-x",
        ResponseTemplate::new(200).set_body_json(answer),
    )
    .await;
    let state = param(&vendor, "state").unwrap();
    let done = callback(app, &[("state", &state), ("code", "code-x")]).await;
    assert_eq!(done.headers()["location"], REDIRECT);
    let connected = connection(app, service).await;
    assert_eq!(connected["state"], "callable", "{connected}");
    assert_eq!(connected["auth_type"], "oauth2");
}
