//! The OAuth scenario of a connector whose manifest has an `oauth2:` section (`oauth.json`
//! beside `connection.json`): the application's client is registered with both URLs on the
//! replay vendor, the connection's `authorize_url` must send the browser to the authorization
//! URL with exactly the fixture's parameters, the callback must exchange the code with exactly
//! the fixture's token call and make the connection callable, and then the resource's `get`
//! scenario is replayed with a vendor 401 first: the access token must be refreshed once with
//! the fixture's refresh call and the read sent again with the new token, answering as `get`
//! says (a vendor without refresh tokens: answered 401 with the authorize link, no token call).
//!
//! In the fixture, `{{any}}` stands for a value that changes from run to run (`state`, the
//! PKCE challenge and verifier) and must only be present, `{{vendor}}` for the replay
//! vendor's address (an API root in the token answer), and `{{gateway}}` for the gateway's
//! public address (the redirect URI).

use std::collections::BTreeMap;

use crmgate_connector_sdk::Operation;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::vendor::{Answer, Received};
use super::{
    Connection, Failure, Fixture, GATEWAY, Harness, Target, VENDOR, check_calls, read_json, rewrite,
};
use crate::server::{self, OAuthClientInput};

/// Stands for a value that must be there, whatever it is.
pub const ANY: &str = "{{any}}";
/// The code the fake authorization server hands back.
const CODE: &str = "conformance-code";
/// Where the end customer returns to after authorizing.
const REDIRECT: &str = "https://app.example.com/connected";

/// `oauth.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthFixture {
    pub about: String,
    pub client_id: String,
    pub client_secret: String,
    /// The parameters of the authorization URL the browser is sent to.
    pub authorize: BTreeMap<String, String>,
    /// The code exchange.
    pub exchange: TokenCall,
    /// The headers every vendor call carries with the first access token.
    pub headers: BTreeMap<String, String>,
    /// The refresh after the vendor's 401; none for a vendor that grants no refresh token,
    /// whose 401 must then be answered with the authorize link and no token call.
    pub refresh: Option<TokenCall>,
    /// The headers of the call sent again with the refreshed token.
    pub refreshed_headers: Option<BTreeMap<String, String>>,
}

/// One call to the token endpoint: what crmgate must send, and the recorded answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCall {
    /// Request headers it must carry (`authorization` for `client_auth: basic`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The form parameters, exactly.
    pub form: BTreeMap<String, String>,
    pub status: u16,
    pub response: Value,
}

/// Runs the OAuth scenario of `target`, reading a record with the `get` scenario of the first
/// resource that has one; a failure names the fixture and what it is about.
pub async fn run(target: &Target) -> Result<(), Failure> {
    let file = target.fixtures.join("oauth.json");
    let fixture: OAuthFixture = read_json(&file)?;
    scenario(target, &fixture)
        .await
        .map_err(|f| Failure(format!("{} ({}): {f}", file.display(), fixture.about)))
}

async fn scenario(target: &Target, fixture: &OAuthFixture) -> Result<(), Failure> {
    let harness = Harness::start(target).await?;
    let entry = harness
        .gateway
        .connector(&target.id)
        .cloned()
        .ok_or_else(|| Failure(format!("no connector {}", target.id)))?;
    let manifest = entry.connector.manifest();
    let declaration = manifest.declaration();
    let model = entry
        .mappings
        .iter()
        .filter(|m| {
            declaration
                .resources
                .get(m.resource.as_str())
                .is_some_and(|r| r.has(Operation::Get))
        })
        .find_map(|m| crate::unified::model(m.resource))
        .ok_or_else(|| Failure("no resource of the connector reads one record".into()))?;
    let get: Fixture = read_json(
        &target
            .fixtures
            .join(model.resource.as_str())
            .join("get.json"),
    )?;
    let oauth = manifest
        .oauth2()
        .ok_or_else(|| Failure(format!("{}: the manifest has no oauth2 section", target.id)))?;
    let on_vendor = |url: &str| -> Result<Url, Failure> {
        let path = Url::parse(url)
            .map_err(|e| Failure(format!("{url}: {e}")))?
            .path()
            .to_owned();
        Url::parse(&format!("{}{path}", harness.vendor.address))
            .map_err(|e| Failure(format!("{path}: {e}")))
    };
    let (authorization_url, token_url) = (
        on_vendor(&oauth.authorization_url)?,
        on_vendor(&oauth.token_url)?,
    );
    server::set_oauth_client(
        &harness.options,
        OAuthClientInput {
            app_id: super::APP_ID.to_owned(),
            service_id: target.id.clone(),
            client_id: fixture.client_id.clone(),
            client_secret: SecretString::from(fixture.client_secret.clone()),
            scopes: Vec::new(),
            redirect_uris: vec![Url::parse(REDIRECT).expect("a URL")],
            authorization_url: Some(authorization_url.clone()),
            token_url: Some(token_url.clone()),
            require_nonce: false,
        },
    )
    .await
    .map_err(|e| Failure(format!("the client is refused: {e:#}")))?;
    // The connection's settings are saved before the flow (a scope may name one), its
    // tokens are the flow's own.
    let saved: Connection = read_json(&target.fixtures.join("connection.json"))?;
    harness
        .connect(
            &target.id,
            &Connection {
                settings: saved.settings,
                headers: BTreeMap::new(),
                oauth: BTreeMap::new(),
            },
        )
        .await?;
    let gateway = harness.options.public_url.as_str().trim_end_matches('/');
    let subs = [
        (GATEWAY, gateway),
        (VENDOR, harness.vendor.address.as_str()),
    ];

    // The authorize link sends the browser to the vendor with the fixture's parameters.
    let (_, _, connection) = harness
        .call(
            &target.id,
            "GET",
            &format!("/vault/connections/crm/{}", target.id),
            None,
        )
        .await?;
    let link = connection["data"]["authorize_url"]
        .as_str()
        .ok_or_else(|| Failure(format!("the connection has no authorize_url: {connection}")))?;
    let local = format!(
        "{}/{}",
        harness.address,
        link.strip_prefix(harness.options.public_url.as_str())
            .unwrap_or(link)
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure(format!("no HTTP client: {e}")))?;
    let started = browser
        .get(&local)
        .send()
        .await
        .map_err(|e| Failure(format!("the authorize link did not answer: {e}")))?;
    let to_vendor = redirect_of(&started, "the authorize link")?;
    if to_vendor.path() != authorization_url.path() {
        return Err(Failure(format!(
            "authorize: the browser is sent to {}, not to the authorization URL {}",
            to_vendor.path(),
            authorization_url.path()
        )));
    }
    let query: BTreeMap<String, String> = to_vendor.query_pairs().into_owned().collect();
    same(
        "authorize: parameter",
        &expand_all(&fixture.authorize, &subs),
        &query,
    )?;
    let state = query.get("state").cloned().unwrap_or_default();
    let cookie = started
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();

    // The callback exchanges the code once, as the fixture says, and the connection is callable.
    harness
        .vendor
        .answer_with(vec![token_answer(&fixture.exchange, &subs)]);
    let mut callback = Url::parse(&format!("{}/vault/callback", harness.address))
        .map_err(|e| Failure(e.to_string()))?;
    callback
        .query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("code", CODE);
    let back = browser
        .get(callback)
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| Failure(format!("the callback did not answer: {e}")))?;
    let back = redirect_of(&back, "the callback")?;
    if let Some((_, error)) = back.query_pairs().find(|(k, _)| k == "error") {
        let said = back
            .query_pairs()
            .find(|(k, _)| k == "error_description")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        return Err(Failure(format!(
            "callback: the flow failed with {error}: {said}"
        )));
    }
    let calls = harness.vendor.take_received();
    check_token_calls(
        "callback",
        &calls,
        &[(&fixture.exchange, &token_url)],
        &subs,
    )?;
    let (_, _, connection) = harness
        .call(
            &target.id,
            "GET",
            &format!("/vault/connections/crm/{}", target.id),
            None,
        )
        .await?;
    if connection["data"]["state"] != "callable" {
        return Err(Failure(format!(
            "callback: the connection is not callable: {}",
            connection["data"]
        )));
    }

    // A vendor 401 refreshes the token once; the read is sent again with the new one.
    let step = get
        .steps
        .first()
        .ok_or_else(|| Failure("get.json has no step".into()))?;
    let unauthorized = Answer {
        status: 401,
        headers: BTreeMap::new(),
        body: Some(json!({})),
    };
    let (refresh, refreshed_headers) = match (&fixture.refresh, &fixture.refreshed_headers) {
        (Some(refresh), Some(headers)) => (refresh, headers),
        (None, None) => return no_refresh(&harness, target, step, fixture, unauthorized).await,
        _ => {
            return Err(Failure(
                "give both `refresh` and `refreshed_headers`, or neither (a vendor without refresh tokens)".into(),
            ));
        }
    };
    let mut answers = vec![unauthorized, token_answer(refresh, &subs)];
    answers.extend(harness.answers(&step.vendor));
    harness.vendor.answer_with(answers);
    let (status, _, body) = harness
        .send(&target.id, &step.request, &step.request.path)
        .await?;
    let calls = harness.vendor.take_received();
    let (first, rest) = calls
        .split_first()
        .ok_or_else(|| Failure("refresh: the read made no vendor call".into()))?;
    check_calls(
        "refresh, the first read",
        std::slice::from_ref(first),
        &step.vendor[..1],
        &fixture.headers,
    )?;
    let (token_call, again) = rest.split_first().ok_or_else(|| {
        Failure("refresh: the vendor's 401 was not followed by a token call".into())
    })?;
    check_token_calls(
        "refresh",
        std::slice::from_ref(token_call),
        &[(refresh, &token_url)],
        &subs,
    )?;
    check_calls(
        "refresh, the read sent again",
        again,
        &step.vendor,
        refreshed_headers,
    )?;
    if status != step.status {
        return Err(Failure(format!(
            "refresh: unified status: want {}, got {status}; the answer: {body}",
            step.status
        )));
    }
    let expected = rewrite(
        step.response.clone(),
        &harness.substitutions(None, None),
        true,
    );
    if let Some(difference) = super::diff::first(&expected, &body) {
        return Err(Failure(format!("refresh: unified answer {difference}")));
    }
    Ok(())
}

/// A vendor whose tokens come without a refresh token (they do not expire): its 401 is the
/// answer, a 401 naming the link that authorizes again, with no token call.
async fn no_refresh(
    harness: &Harness,
    target: &Target,
    step: &super::Step,
    fixture: &OAuthFixture,
    unauthorized: Answer,
) -> Result<(), Failure> {
    harness.vendor.answer_with(vec![unauthorized]);
    let (status, _, body) = harness
        .send(&target.id, &step.request, &step.request.path)
        .await?;
    let calls = harness.vendor.take_received();
    check_calls(
        "a 401 without a refresh token",
        &calls,
        &step.vendor[..1],
        &fixture.headers,
    )?;
    let authorize = body["detail"]["authorize_url"].as_str().unwrap_or_default();
    if status != 401 || !authorize.contains("/vault/authorize/") {
        return Err(Failure(format!(
            "a 401 without a refresh token: want a 401 naming the authorize link, got {status}: {body}"
        )));
    }
    Ok(())
}

/// Where a redirect answer sends the browser.
fn redirect_of(answer: &reqwest::Response, what: &str) -> Result<Url, Failure> {
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .filter(|_| answer.status().is_redirection())
        .ok_or_else(|| {
            Failure(format!(
                "{what} answered {} and no redirect",
                answer.status()
            ))
        })?;
    Url::parse(location).map_err(|e| Failure(format!("{what} redirects to {location}: {e}")))
}

fn expand_all(map: &BTreeMap<String, String>, subs: &[(&str, &str)]) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| {
            let value = subs.iter().fold(v.clone(), |s, (placeholder, actual)| {
                s.replace(placeholder, actual)
            });
            (k.clone(), value)
        })
        .collect()
}

/// Whether `got` has exactly the names of `want`, each with its value or, for `{{any}}`, a
/// value at all.
fn same(
    what: &str,
    want: &BTreeMap<String, String>,
    got: &BTreeMap<String, String>,
) -> Result<(), Failure> {
    for (name, value) in want {
        match got.get(name) {
            Some(v) if value == ANY && !v.is_empty() => {}
            Some(v) if v == value => {}
            other => {
                return Err(Failure(format!(
                    "{what} {name}: want {value:?}, got {other:?}"
                )));
            }
        }
    }
    if let Some(extra) = got.keys().find(|k| !want.contains_key(*k)) {
        return Err(Failure(format!(
            "{what} {extra}: sent, and the fixture has no such parameter"
        )));
    }
    Ok(())
}

fn token_answer(call: &TokenCall, subs: &[(&str, &str)]) -> Answer {
    Answer {
        status: call.status,
        headers: BTreeMap::new(),
        body: Some(rewrite(call.response.clone(), subs, true)),
    }
}

fn check_token_calls(
    at: &str,
    calls: &[Received],
    expected: &[(&TokenCall, &Url)],
    subs: &[(&str, &str)],
) -> Result<(), Failure> {
    if calls.len() != expected.len() {
        return Err(Failure(format!(
            "{at}: {} token calls, the fixture has {}",
            calls.len(),
            expected.len()
        )));
    }
    for (call, (want, url)) in calls.iter().zip(expected) {
        if call.method != "POST" || call.path != url.path() {
            return Err(Failure(format!(
                "{at}: the token call is {} {}, not POST {}",
                call.method,
                call.path,
                url.path()
            )));
        }
        for (name, value) in &want.headers {
            let got = call
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok());
            if got != Some(value.as_str()) {
                return Err(Failure(format!(
                    "{at}: token call header {name}: want {value:?}, got {got:?}"
                )));
            }
        }
        let form: BTreeMap<String, String> =
            form_urlencoded::parse(&call.body).into_owned().collect();
        same(
            &format!("{at}: token call parameter"),
            &expand_all(&want.form, subs),
            &form,
        )?;
    }
    Ok(())
}
