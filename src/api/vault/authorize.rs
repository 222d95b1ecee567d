//! Vault's OAuth flow: `/vault/authorize` sends the end customer to the vendor, the vendor
//! sends them back to `/vault/callback` with a code, and `/vault/revoke` lets the grant go.
//! These pages are opened by browsers, so they take no API key: the signed `state` of the
//! authorize link (`authorize_url` of a connection) is what names the consumer.
//!
//! The state the vendor carries is a fresh flow's id, signed; the flow (consumer, redirect URI,
//! PKCE verifier) waits in the store for ten minutes and is deleted by the callback that takes
//! it, so a state is good for one code exchange. A tampered, expired or replayed state is a 400
//! and no token request. The end customer is sent back only to a redirect URI the application
//! registered; a vendor's `error` or a failed exchange reaches it as `error` and
//! `error_description` parameters, never as a page of details.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crmgate_connector_sdk::ConnectionSettings;
use crmgate_connector_sdk::oauth::{self as sdk_oauth, Pkce};
use serde_json::json;
use std::collections::BTreeMap;
use url::Url;

use crate::api::AppState;
use crate::api::crm::Body;
use crate::api::oauth::{
    CONFIRM_LIFETIME_MS, FLOW_COOKIE, FLOW_LIFETIME_MS, UNCONFIRMED, app_client, confirm_digest,
    save_settings,
};
use crate::error::{Error, ErrorType, Result};
use crate::registry::ConnectorEntry;
use crate::store::{ConnectionRecord, OAuthFlowRecord, Tenant};
use secrecy::{ExposeSecret, SecretString};

/// The sealing context of a flow's PKCE verifier.
const FLOW_SCOPE: &str = "oauth-flow";

/// A query's parameters, each at most once; unknown ones are refused by name.
fn params(query: Option<String>, known: &[&str]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if !known.contains(&&*k) {
            return Err(Error::validation(
                format!("Invalid query parameter {k}: not a parameter of this operation"),
                json!({ "invalid": [{ k.as_ref(): "unknown parameter" }] }),
            ));
        }
        if out.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return Err(Error::validation(
                format!("Invalid query parameter {k}: given twice"),
                json!({ "invalid": [{ k.as_ref(): "given twice" }] }),
            ));
        }
    }
    Ok(out)
}

fn required<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::validation(
                format!("Missing query parameter {name}"),
                json!({ "missing": [{ name: "required" }] }),
            )
        })
}

/// A redirect the browser follows once (`302`, never cached).
fn redirect(to: &str) -> Result<Response> {
    let location = HeaderValue::from_str(to)
        .map_err(|_| Error::internal("a redirect URL is not a header value"))?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The connector named in the path, which must have an OAuth flow.
fn oauth_connector<'a>(state: &'a AppState, service: &str) -> Result<&'a ConnectorEntry> {
    let entry = state
        .connector(service)
        .ok_or_else(|| Error::connector_not_found(service))?;
    if entry.connector.manifest().oauth2().is_none() {
        return Err(Error::new(
            StatusCode::BAD_REQUEST,
            ErrorType::ConnectorOperationUnsupportedError,
            "No OAuth flow",
        )
        .with_detail(
            format!("The {service} connector is connected with settings, not through OAuth; save them through PATCH /vault/connections/crm/{service}").into(),
        ));
    }
    Ok(entry)
}

/// The redirect URI a request asks for, if the application registered it, else its first.
async fn redirect_uri(
    state: &AppState,
    app_id: &str,
    service: &str,
    asked: Option<&String>,
) -> Result<String> {
    let client = state.store.oauth_client(app_id, service).await?;
    let registered: Vec<&str> = client
        .as_ref()
        .map(|c| c.redirect_uris.lines().filter(|l| !l.is_empty()).collect())
        .unwrap_or_default();
    let refuse = |why: String| {
        Error::new(
            StatusCode::BAD_REQUEST,
            ErrorType::OAuthRedirectUriError,
            "Invalid redirect_uri",
        )
        .with_detail(why.into())
    };
    // Registered URIs are stored as the URL parser writes them (`https://a.example/`).
    let normal = asked.map(|uri| Url::parse(uri).map_or_else(|_| uri.clone(), String::from));
    match asked {
        Some(_) if normal.as_deref().is_some_and(|u| registered.contains(&u)) => {
            Ok(normal.unwrap_or_default())
        }
        Some(uri) => Err(refuse(format!(
            "{uri} is not a redirect URI application {app_id} registered for {service} (crmgate apps oauth set --redirect-uri)"
        ))),
        None => registered.first().map(|u| (*u).to_owned()).ok_or_else(|| {
            refuse(format!(
                "Application {app_id} registered no redirect URI for {service}"
            ))
        }),
    }
}

/// Whether the application's client for `service` accepts only two-step authorizations.
async fn nonce_required(state: &AppState, app_id: &str, service: &str) -> Result<bool> {
    let client = state.store.oauth_client(app_id, service).await?;
    Ok(client.is_some_and(|c| c.require_nonce))
}

/// `GET /vault/authorize/{service_id}/{application_id}?state&redirect_uri`: starts a flow and
/// sends the browser to the vendor.
#[utoipa::path(get, path = "/vault/authorize/{service_id}/{application_id}", operation_id = "connectionsAuthorize", tag = "Connections", params(("service_id" = String, Path), ("application_id" = String, Path), ("state" = String, Query, description = "The state of the connection's authorize_url"), ("redirect_uri" = Option<String>, Query, description = "One of the application's registered redirect URIs; the first by default"), ("session" = Option<String>, Query, description = "A Hosted Vault session token: come back to its page instead")), responses((status = 302, description = "To the vendor's authorization page"), (status = 400, description = "Invalid state or redirect URI", body = crate::api::openapi::ErrorBody), (status = 404, description = "Unknown connector", body = crate::api::openapi::ErrorBody)), security(()))]
pub async fn authorize(
    State(state): State<AppState>,
    Path((service, app_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let params = params(query, &["state", "redirect_uri", "session", "nonce"])?;
    let nonce = params.get("nonce").cloned();
    if nonce
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > 255)
    {
        return Err(Error::validation(
            "Invalid query parameter nonce: 1 to 255 characters",
            json!({ "invalid": [{ "nonce": "1 to 255 characters" }] }),
        ));
    }
    let entry = oauth_connector(&state, &service)?;
    let tenant = state.oauth.read_link_state(
        "authorize",
        required(&params, "state")?,
        &app_id,
        &service,
        now_ms(),
    )?;
    // From a Hosted Vault page, the end customer comes back to that page: crmgate's own, so
    // no open redirect, and only for the session of the same consumer.
    let back_to = match params.get("session") {
        Some(token) => match state.oauth.read_session(token, now_ms()) {
            Ok(claims) if claims.tenant() == tenant => state.oauth.session_uri(token),
            _ => {
                return Err(Error::new(
                    StatusCode::BAD_REQUEST,
                    ErrorType::OAuthInvalidStateError,
                    "Invalid session",
                )
                .with_detail("The session has expired or belongs to another consumer".into()));
            }
        },
        None => {
            let back_to =
                redirect_uri(&state, &app_id, &service, params.get("redirect_uri")).await?;
            if nonce.is_none() && nonce_required(&state, &app_id, &service).await? {
                return Err(Error::validation(
                    format!(
                        "Missing query parameter nonce: application {app_id} connects {service} in two steps"
                    ),
                    json!({ "missing": [{ "nonce": "required by the application; the connection is made callable by POST /vault/connections/crm/{service}/confirm" }] }),
                ));
            }
            back_to
        }
    };
    let app = app_client(state.store.as_ref(), &state.sealer, &app_id, &service).await?;
    let manifest = entry.connector.manifest();
    let pkce = manifest
        .oauth2()
        .is_some_and(|o| o.pkce)
        .then(Pkce::generate);
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(Error::internal)?;
    let id = URL_SAFE_NO_PAD.encode(raw);
    let verifier = match &pkce {
        Some(p) => state.sealer.seal(
            &tenant,
            FLOW_SCOPE,
            &BTreeMap::from([("verifier".to_owned(), p.verifier.clone())]),
        ),
        None => String::new(),
    };
    let now = now_ms();
    let flow = OAuthFlowRecord {
        id: id.clone(),
        tenant,
        service_id: service.clone(),
        redirect_uri: back_to,
        verifier,
        expires_at: now + FLOW_LIFETIME_MS,
        nonce,
    };
    // Scopes may name the connection's settings (an organisation's host), saved before the
    // end customer is sent to authorize.
    let stored = match state.store.connection(&flow.tenant, &service).await? {
        Some(record) => state.open_settings(&flow.tenant, &record)?,
        None => BTreeMap::new(),
    };
    let settings = ConnectionSettings::new(entry.connector.settings(), stored);
    let url = manifest
        .authorize_url(
            &app,
            &settings,
            &state.oauth.callback_url(),
            &state.oauth.flow_state(&id),
            pkce.as_ref(),
        )
        .map_err(|e| Error::from_connector(e, &service))?;
    state.store.create_oauth_flow(&flow, now).await?;
    let mut response = redirect(url.as_str())?;
    let cookie = format!(
        "{FLOW_COOKIE}={}; Path=/vault/callback; Max-Age={}; HttpOnly; SameSite=Lax{}",
        state.oauth.flow_cookie(&id),
        FLOW_LIFETIME_MS / 1000,
        if state.oauth.secure() { "; Secure" } else { "" }
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(Error::internal)?,
    );
    Ok(response)
}

/// `redirect_uri` with `pairs` added to its query.
fn with_params(uri: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.into()
        }
        Err(_) => uri.to_owned(),
    }
}

/// `GET /vault/callback?state&code` (or `&error&error_description`): exchanges the code, saves
/// the tokens and sends the browser back to the application.
#[utoipa::path(get, path = "/vault/callback", operation_id = "connectionsCallback", tag = "Connections", params(("state" = String, Query), ("code" = Option<String>, Query), ("error" = Option<String>, Query), ("error_description" = Option<String>, Query)), responses((status = 302, description = "Back to the application's redirect URI, with `error` when the flow failed"), (status = 400, description = "Invalid, expired or used state", body = crate::api::openapi::ErrorBody)), security(()))]
pub async fn callback(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    // Vendors add parameters of their own (`scope`, `iss`, HubSpot's none, Salesforce's
    // `sfdc_community_url`); only these are read, the rest ignored.
    let mut params = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        params
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    let id = state.oauth.read_flow_state(required(&params, "state")?)?;
    // Only the browser that was sent to the vendor may come back with its code: a link to the
    // vendor with someone else's flow must not attach this browser's account to it.
    let cookies: Vec<&str> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !state.oauth.browser_started(&id, &cookies.join("; ")) {
        return Err(Error::new(
            StatusCode::BAD_REQUEST,
            ErrorType::OAuthInvalidStateError,
            "Invalid state",
        )
        .with_detail(
            "This browser did not start the authorization; open the connection's authorize_url in it".into(),
        ));
    }
    let flow = state
        .store
        .take_oauth_flow(&id, now_ms())
        .await?
        .ok_or_else(|| {
            Error::new(
                StatusCode::BAD_REQUEST,
                ErrorType::OAuthInvalidStateError,
                "Invalid state",
            )
            .with_detail(
                "The authorization has expired or was completed already; start again from the connection's authorize_url".into(),
            )
        })?;
    let service = flow.service_id.as_str();
    let fail = |error: &str, description: &str| {
        redirect(&with_params(
            &flow.redirect_uri,
            &[
                ("error", error),
                ("error_description", description),
                ("service_id", service),
            ],
        ))
    };
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").map_or("", String::as_str);
        tracing::info!(
            service,
            error,
            "The end customer's authorization came back with an error."
        );
        return fail(error, description);
    }
    let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
        return fail("invalid_request", "The authorization server sent no code.");
    };
    // The flow is spent: from here every failure goes back to the application, so the end
    // customer's browser lands somewhere that can explain it.
    let setup = match oauth_connector(&state, service) {
        Ok(entry) => app_client(
            state.store.as_ref(),
            &state.sealer,
            &flow.tenant.app_id,
            service,
        )
        .await
        .map(|app| (entry, app)),
        Err(e) => Err(e),
    };
    let (entry, app) = match setup {
        Ok(setup) => setup,
        Err(e) => {
            tracing::warn!(service, reason = %e.detail(), "The callback cannot exchange the code.");
            let description = e.detail().as_str().unwrap_or(e.message()).to_owned();
            let error = if e.type_name() == "OAuthCredentialsNotFoundError" {
                "oauth_client_not_found"
            } else {
                "server_error"
            };
            return fail(error, &description);
        }
    };
    let verifier = if flow.verifier.is_empty() {
        None
    } else {
        state
            .sealer
            .open(&flow.tenant, FLOW_SCOPE, &flow.verifier)
            .ok()
            .and_then(|mut m| m.remove("verifier"))
    };
    let manifest = entry.connector.manifest();
    let http = state.oauth.token_client(service)?;
    let tokens = match manifest
        .exchange_code(
            http,
            &app,
            code,
            &state.oauth.callback_url(),
            verifier.as_ref(),
        )
        .await
    {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(service, reason = %e.message, "The code exchange failed.");
            return fail("code_exchange_failed", &e.message);
        }
    };
    // With a nonce, the connection waits for the application to confirm it with a token that
    // only this redirect carries (Apideck's two-step flow).
    let confirmation = match &flow.nonce {
        Some(nonce) => {
            let mut raw = [0u8; 24];
            getrandom::fill(&mut raw).map_err(Error::internal)?;
            let token = URL_SAFE_NO_PAD.encode(raw);
            let marker = format!(
                "{}:{}",
                confirm_digest(&token),
                now_ms() + CONFIRM_LIFETIME_MS
            );
            Some((nonce.clone(), token, marker))
        }
        None => None,
    };
    let marker = confirmation.as_ref().map(|(_, _, m)| m.clone());
    if let Err(e) = save_tokens(&state, &flow.tenant, entry, tokens, marker).await {
        return fail(
            "connection_not_saved",
            e.detail().as_str().unwrap_or(e.message()),
        );
    }
    tracing::info!(
        service,
        consumer = flow.tenant.consumer_id,
        confirmed = confirmation.is_none(),
        "Connection authorized through OAuth."
    );
    match confirmation {
        None => redirect(&flow.redirect_uri),
        Some((nonce, token, _)) => {
            let fragment: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("nonce", &nonce)
                .append_pair("confirm_token", &token)
                .append_pair("service_id", service)
                .finish();
            let mut back = flow.redirect_uri.clone();
            if let Some(at) = back.find('#') {
                back.truncate(at);
            }
            redirect(&format!("{back}#{fragment}"))
        }
    }
}

/// Stores a new grant on the consumer's connection, creating it, replacing earlier tokens and
/// clearing an invalid mark.
async fn save_tokens(
    state: &AppState,
    tenant: &Tenant,
    entry: &ConnectorEntry,
    tokens: sdk_oauth::Tokens,
    unconfirmed: Option<String>,
) -> Result<()> {
    let service = entry.connector.id();
    state
        .refreshing()
        .exclusively(tenant, service, async {
            store_tokens(state, tenant, entry, tokens, unconfirmed).await
        })
        .await
}

/// [`save_tokens`] once the connection's refresh locks are held.
async fn store_tokens(
    state: &AppState,
    tenant: &Tenant,
    entry: &ConnectorEntry,
    tokens: sdk_oauth::Tokens,
    unconfirmed: Option<String>,
) -> Result<()> {
    let service = entry.connector.id();
    let now = now_ms();
    let existing = state.store.connection(tenant, service).await?;
    let mut settings = existing
        .as_ref()
        .and_then(|r| state.open_settings(tenant, r).ok())
        .unwrap_or_default();
    sdk_oauth::forget(&mut settings);
    state.oauth.apply_tokens(entry, &mut settings, tokens)?;
    if let Some(marker) = unconfirmed {
        settings.insert(UNCONFIRMED.to_owned(), SecretString::from(marker));
    }
    let record = existing.unwrap_or(ConnectionRecord {
        service_id: service.to_owned(),
        enabled: true,
        settings: String::new(),
        created_at: now,
        updated_at: now,
    });
    reseal(state, tenant, record, &settings).await
}

/// `GET /vault/revoke/{service_id}/{application_id}?state&redirect_uri`: forgets the
/// connection's tokens (its other settings stay) and sends the browser back.
#[utoipa::path(get, path = "/vault/revoke/{service_id}/{application_id}", operation_id = "connectionsRevoke", tag = "Connections", params(("service_id" = String, Path), ("application_id" = String, Path), ("state" = String, Query, description = "The state of the connection's revoke_url"), ("redirect_uri" = Option<String>, Query)), responses((status = 302, description = "Back to the application's redirect URI"), (status = 400, description = "Invalid state or redirect URI", body = crate::api::openapi::ErrorBody), (status = 404, description = "Unknown connector or connection", body = crate::api::openapi::ErrorBody)), security(()))]
pub async fn revoke(
    State(state): State<AppState>,
    Path((service, app_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let params = params(query, &["state", "redirect_uri"])?;
    let entry = oauth_connector(&state, &service)?;
    let tenant = state.oauth.read_link_state(
        "revoke",
        required(&params, "state")?,
        &app_id,
        &service,
        now_ms(),
    )?;
    let back_to = redirect_uri(&state, &app_id, &service, params.get("redirect_uri")).await?;
    let (record, mut settings) = stored(&state, &tenant, &service).await?;
    // The grant ends at the vendor too, where it says how (the refresh token ends the grant;
    // the access token alone when there is none). The end customer asked to disconnect, so a
    // vendor that cannot be reached does not keep the tokens here: it is logged and said.
    let token = settings
        .get(sdk_oauth::REFRESH_TOKEN)
        .map(|t| (t.clone(), "refresh_token"))
        .or_else(|| {
            settings
                .get(sdk_oauth::ACCESS_TOKEN)
                .map(|t| (t.clone(), "access_token"))
        });
    let mut vendor_failed = false;
    if let Some((token, hint)) = token {
        let revoked = match app_client(state.store.as_ref(), &state.sealer, &app_id, &service).await
        {
            Ok(app) => entry
                .connector
                .manifest()
                .revoke_token(state.oauth.token_client(&service)?, &app, &token, hint)
                .await
                .map_err(|e| e.message),
            Err(e) => Err(e.message().to_owned()),
        };
        if let Err(reason) = revoked {
            tracing::warn!(
                service,
                reason,
                "The vendor did not revoke the connection's token."
            );
            vendor_failed = true;
        }
    }
    sdk_oauth::forget(&mut settings);
    reseal(&state, &tenant, record, &settings).await?;
    tracing::info!(
        service,
        consumer = tenant.consumer_id,
        "Connection's OAuth grant forgotten."
    );
    if vendor_failed {
        return redirect(&with_params(
            &back_to,
            &[("error", "vendor_revoke_failed"), ("service_id", &service)],
        ));
    }
    redirect(&back_to)
}

/// `POST /vault/connections/crm/{service_id}/confirm` (`{"confirm_token": ...}`): makes a
/// connection authorized with a `nonce` callable. The token is single-use and good for 30
/// minutes after the callback.
#[utoipa::path(post, path = "/vault/connections/{unified_api}/{service_id}/confirm", operation_id = "connectionsConfirm", tag = "Connections", params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), crate::api::openapi::TenantHeaders), responses((status = 200, description = "Confirmed", body = crate::api::openapi::VaultResponse), (status = 400, description = "Wrong, expired or used confirm token", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "No such connection", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((api, service)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response> {
    super::connections::known_connector(&state, &api, &service)?;
    let given = match super::object_body(&body)?.remove("confirm_token") {
        Some(serde_json::Value::String(token)) if !token.is_empty() => token,
        _ => {
            return Err(Error::validation(
                "Missing property confirm_token",
                json!({ "missing": [{ "confirm_token": "required" }] }),
            ));
        }
    };
    let (record, mut settings) = stored(&state, &tenant, &service).await?;
    let refuse = |why: &str| {
        Error::new(
            StatusCode::BAD_REQUEST,
            ErrorType::OAuthInvalidStateError,
            "Invalid confirm token",
        )
        .with_detail(why.into())
    };
    let marker = settings
        .get(UNCONFIRMED)
        .map(|m| m.expose_secret().to_owned())
        .ok_or_else(|| {
            refuse("The connection awaits no confirmation (the token was used, or none was issued)")
        })?;
    let (digest, expires_at) = marker
        .split_once(':')
        .and_then(|(d, e)| Some((d.to_owned(), e.parse::<i64>().ok()?)))
        .ok_or_else(|| Error::internal("a stored confirmation is damaged"))?;
    use subtle::ConstantTimeEq;
    if !bool::from(confirm_digest(&given).as_bytes().ct_eq(digest.as_bytes())) {
        return Err(refuse(
            "The confirm token is not the one this connection's authorization issued",
        ));
    }
    if expires_at < now_ms() {
        return Err(refuse(
            "The confirm token has expired; authorize the connection again",
        ));
    }
    settings.remove(UNCONFIRMED);
    reseal(&state, &tenant, record, &settings).await?;
    tracing::info!(
        service,
        consumer = tenant.consumer_id,
        "OAuth connection confirmed."
    );
    Ok(super::respond(StatusCode::OK, json!({ "confirmed": true })))
}

/// A consumer's stored connection with its settings opened.
async fn stored(
    state: &AppState,
    tenant: &Tenant,
    service: &str,
) -> Result<(ConnectionRecord, BTreeMap<String, SecretString>)> {
    let record = state
        .store
        .connection(tenant, service)
        .await?
        .ok_or_else(|| Error::no_connection(tenant, service))?;
    let settings = state.open_settings(tenant, &record)?;
    Ok((record, settings))
}

/// Saves a connection with changed settings.
async fn reseal(
    state: &AppState,
    tenant: &Tenant,
    record: ConnectionRecord,
    settings: &BTreeMap<String, SecretString>,
) -> Result<()> {
    save_settings(
        state.store.as_ref(),
        &state.sealer,
        tenant,
        record,
        settings,
    )
    .await
}
