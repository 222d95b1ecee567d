//! Hosted Vault: `POST /vault/sessions` gives an application a short-lived page where one of
//! its consumers connects, sees and disconnects their CRMs, served by crmgate itself.
//!
//! The session token (signed claims: application, consumer, expiry, back link, display
//! options) is the only credential the page holds. It is in the page's path, as in Apideck's
//! session URIs, and sent by the page's script in `x-vault-session` to the session API below,
//! which acts for that one consumer only, through the same Vault code as the API-key routes.
//! The page and its API are crmgate's own, not part of the contract, so they are not in the
//! OpenAPI document.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, patch, put};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{connections, custom_mappings, object_body, respond};
use crate::api::AppState;
use crate::api::crm::Body;
use crate::api::crm::records;
use crate::api::oauth::{SessionClaims, SessionRefusal};
use crate::api::tenant::{Caller, Connection};
use crate::error::{Error, ErrorType, Result};
use crate::store::ConsumerRecord;
use crate::unified::MODELS;
use axum::http::Uri;
use crmgate_connector_sdk::RateLimitSlot;

/// The header the page's script sends its token in.
pub const SESSION_HEADER: &str = "x-vault-session";

/// A session lasts an hour unless the application asks otherwise, and a week at most.
const DEFAULT_LENGTH_MS: i64 = 60 * 60 * 1000;
const MAX_LENGTH_MS: i64 = 7 * 24 * 60 * 60 * 1000;

const PAGE: &str = include_str!("session/page.html");
const SCRIPT: &str = include_str!("session/app.js");
const STYLE: &str = include_str!("session/app.css");

/// Vault's `Session` body.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SessionInput {
    consumer_metadata: Option<Map<String, Value>>,
    redirect_uri: Option<String>,
    settings: Option<SessionSettings>,
    /// Accepted for compatibility; the page keeps its own look.
    #[serde(rename = "theme")]
    _theme: Option<Map<String, Value>>,
}

/// Vault's session settings. Those that concern pages crmgate does not have (logs,
/// suggestions, guides, a sidebar) are accepted and have no effect.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SessionSettings {
    unified_apis: Option<Vec<String>>,
    sandbox_mode: Option<bool>,
    session_length: Option<String>,
    allow_actions: Option<Vec<String>>,
    #[serde(rename = "hide_resource_settings")]
    _hide_resource_settings: Option<bool>,
    #[serde(rename = "isolation_mode")]
    _isolation_mode: Option<bool>,
    #[serde(rename = "show_logs")]
    _show_logs: Option<bool>,
    #[serde(rename = "show_suggestions")]
    _show_suggestions: Option<bool>,
    #[serde(rename = "show_sidebar")]
    _show_sidebar: Option<bool>,
    #[serde(rename = "auto_redirect")]
    _auto_redirect: Option<bool>,
    #[serde(rename = "hide_guides")]
    _hide_guides: Option<bool>,
}

/// `30s`, `30m`, `1h`, `2d`, `1w` in milliseconds.
fn session_length(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (count, unit) = text.split_at(split);
    let count: i64 = count.parse().ok().filter(|c| *c > 0)?;
    let unit = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    count.checked_mul(unit)
}

/// `POST /vault/sessions`: a Hosted Vault page for the consumer of `x-apideck-consumer-id`.
#[utoipa::path(post, path = "/vault/sessions", operation_id = "sessionsCreate", tag = "Sessions", params(crate::api::openapi::TenantHeaders), responses((status = 200, description = "The session's page and token", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> Result<Response> {
    let consumer_id = caller
        .consumer_id
        .clone()
        .ok_or_else(|| Error::missing_header(crate::api::tenant::CONSUMER_ID))?;
    let input: SessionInput = if body.iter().all(u8::is_ascii_whitespace) {
        SessionInput::default()
    } else {
        let object = object_body(&body)?;
        serde_json::from_value(Value::Object(object)).map_err(|e| {
            Error::validation(
                format!("Invalid body: {e}"),
                json!({ "body": e.to_string() }),
            )
        })?
    };
    let settings = input.settings.unwrap_or_default();
    let length = match settings.session_length.as_deref() {
        None => DEFAULT_LENGTH_MS,
        Some(text) => session_length(text)
            .filter(|l| *l <= MAX_LENGTH_MS)
            .ok_or_else(|| {
                Error::validation(
                    format!("Invalid property settings.session_length: {text:?} is not a length such as 30m, 1h or 2d, of at most a week"),
                    json!({ "invalid": [{ "settings.session_length": "a length up to 1w" }] }),
                )
            })?,
    };
    if let Some(uri) = &input.redirect_uri {
        let fine = url::Url::parse(uri)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
        if !fine {
            return Err(Error::validation(
                "Invalid property redirect_uri: an http(s) URL",
                json!({ "invalid": [{ "redirect_uri": "an http(s) URL" }] }),
            ));
        }
    }
    let allowed = |action: &str| {
        settings
            .allow_actions
            .as_ref()
            .is_none_or(|a| a.iter().any(|x| x == action))
    };
    let now = chrono::Utc::now().timestamp_millis();
    let claims = SessionClaims {
        app_id: caller.app_id.clone(),
        consumer_id: consumer_id.clone(),
        expires_at: now + length,
        redirect_uri: input.redirect_uri,
        sandbox_mode: settings.sandbox_mode.unwrap_or(false),
        crm_hidden: settings
            .unified_apis
            .as_ref()
            .is_some_and(|apis| !apis.is_empty() && !apis.iter().any(|a| a == "crm")),
        can_disconnect: allowed("disconnect") || allowed("delete"),
    };
    if let Some(metadata) = input.consumer_metadata {
        let existing = state.store.consumer(&caller.app_id, &consumer_id).await?;
        let record = ConsumerRecord {
            consumer_id: consumer_id.clone(),
            metadata: Value::Object(metadata).to_string(),
            created_at: existing.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
        };
        state.store.save_consumer(&caller.app_id, &record).await?;
    }
    let token = state.oauth.session_token(&claims);
    Ok(respond(
        StatusCode::OK,
        json!({ "session_uri": state.oauth.session_uri(&token), "session_token": token }),
    ))
}

/// The page's own routes: the page, its script and style, and the session API.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/vault/session/{token}", get(page))
        .route("/vault/session-assets/app.js", get(script))
        .route("/vault/session-assets/app.css", get(style))
        .route("/vault/session-api/session", get(session))
        .route("/vault/session-api/connections", get(list))
        .route(
            "/vault/session-api/connections/{service}",
            patch(save).delete(disconnect),
        )
        .route(
            "/vault/session-api/connections/{service}/mappings/{target}",
            put(map_field),
        )
        .route(
            "/vault/session-api/connections/{service}/{resource}/preview",
            get(preview),
        )
}

/// Headers every page answer carries: nothing from elsewhere, no framing, no referrer (the
/// token is in the path), never cached.
fn page_headers(content_type: &'static str) -> [(header::HeaderName, HeaderValue); 5] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ]
}

/// The page of a live session, or a page that says the session is over (401).
async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = chrono::Utc::now().timestamp_millis();
    let html = "text/html; charset=utf-8";
    match state.oauth.read_session(&token, now) {
        Ok(_) => (page_headers(html), Html(PAGE)).into_response(),
        Err(refusal) => {
            let back = match &refusal {
                SessionRefusal::Expired(claims) => claims.redirect_uri.as_deref(),
                SessionRefusal::Forged => None,
            };
            let (title, text) = match refusal {
                SessionRefusal::Expired(_) => (
                    "This session has expired",
                    "Sessions last a short while to keep your connections safe. Go back to the application and open the integrations page again.",
                ),
                SessionRefusal::Forged => (
                    "This link is not valid",
                    "The address is incomplete or was changed. Open the integrations page again from the application.",
                ),
            };
            let link = back.map_or(String::new(), |uri| {
                format!(
                    r#"<p><a href="{}">Back to the application</a></p>"#,
                    escape(uri)
                )
            });
            let body = format!(
                r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><link rel="stylesheet" href="/vault/session-assets/app.css"></head><body><main class="ended"><h1>{title}</h1><p>{text}</p>{link}</main></body></html>"#
            );
            (StatusCode::UNAUTHORIZED, page_headers(html), Html(body)).into_response()
        }
    }
}

/// HTML-escapes text for an attribute or element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn script() -> Response {
    (page_headers("text/javascript; charset=utf-8"), SCRIPT).into_response()
}

async fn style() -> Response {
    (page_headers("text/css; charset=utf-8"), STYLE).into_response()
}

/// The claims of a session that shows CRM connections.
fn crm_claims(state: &AppState, headers: &HeaderMap) -> Result<SessionClaims> {
    let claims = claims(state, headers)?;
    if claims.crm_hidden {
        return Err(Error::new(
            StatusCode::NOT_FOUND,
            ErrorType::EntityNotFoundError,
            "Not in this session",
        )
        .with_detail("This session shows no CRM connections".into()));
    }
    Ok(claims)
}

/// The session may not remove connections (`allow_actions`): refused, as anything that
/// would amount to it (disabling, clearing a setting).
fn removal_refused() -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        ErrorType::UnauthorizedError,
        "Not allowed",
    )
    .with_detail("This session does not allow disconnecting".into())
}

/// The claims of the session a session-API request carries.
fn claims(state: &AppState, headers: &HeaderMap) -> Result<SessionClaims> {
    let token = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::unauthorized("Missing x-vault-session"))?;
    let now = chrono::Utc::now().timestamp_millis();
    state
        .oauth
        .read_session(token, now)
        .map_err(|refusal| match refusal {
            SessionRefusal::Expired(_) => Error::unauthorized(
                "The session has expired; open the integrations page again from the application",
            ),
            SessionRefusal::Forged => Error::unauthorized("The session token is not valid"),
        })
}

fn caller_of(claims: &SessionClaims) -> Caller {
    Caller {
        app_id: claims.app_id.clone(),
        consumer_id: Some(claims.consumer_id.clone()),
    }
}

/// What the page shows about its session.
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let claims = claims(&state, &headers)?;
    let consumer = state
        .store
        .consumer(&claims.app_id, &claims.consumer_id)
        .await?;
    let metadata: Value = consumer
        .and_then(|c| serde_json::from_str(&c.metadata).ok())
        .unwrap_or_else(|| json!({}));
    Ok(respond(
        StatusCode::OK,
        json!({
            "consumer_id": claims.consumer_id,
            "consumer_metadata": metadata,
            "redirect_uri": claims.redirect_uri,
            "sandbox_mode": claims.sandbox_mode,
            "can_disconnect": claims.can_disconnect,
            "expires_at": claims.expires_at,
        }),
    ))
}

/// The consumer's connections, as `GET /vault/connections` gives them.
async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let claims = claims(&state, &headers)?;
    if claims.crm_hidden {
        return Ok(respond(StatusCode::OK, json!([])));
    }
    let mut data = connections::all(&state, &caller_of(&claims), None, None).await?;
    if !claims.can_disconnect {
        // Without the right to disconnect, the page gets no link that would.
        for item in &mut data {
            if let Some(item) = item.as_object_mut() {
                item.remove("revoke_url");
            }
        }
    }
    Ok(respond(StatusCode::OK, Value::Array(data)))
}

/// Saves settings, as `PATCH /vault/connections/crm/{service}` does.
async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(service): Path<String>,
    body: Body,
) -> Result<Response> {
    let claims = crm_claims(&state, &headers)?;
    if !claims.can_disconnect {
        let patch = object_body(&body.0)?;
        let clears = patch
            .get("settings")
            .and_then(Value::as_object)
            .is_some_and(|s| s.values().any(Value::is_null));
        if patch.contains_key("enabled") || clears {
            return Err(removal_refused());
        }
    }
    connections::update(
        State(state),
        caller_of(&claims),
        Path(("crm".to_owned(), service)),
        body,
    )
    .await
}

/// Deletes the connection, when the session allows it.
async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(service): Path<String>,
) -> Result<Response> {
    let claims = crm_claims(&state, &headers)?;
    if !claims.can_disconnect {
        return Err(removal_refused());
    }
    connections::delete(
        State(state),
        caller_of(&claims),
        Path(("crm".to_owned(), service)),
    )
    .await
}

/// Maps a field in the consumer's layer (`{"value": "$.path"}`), creating or replacing it.
async fn map_field(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((service, target)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response> {
    let claims = crm_claims(&state, &headers)?;
    let path = || Path(("crm".to_owned(), service.clone(), target.clone()));
    let created = custom_mappings::add(
        State(state.clone()),
        caller_of(&claims),
        path(),
        Body(body.clone()),
    )
    .await;
    match created {
        Err(e) if e.status() == StatusCode::CONFLICT => {
            custom_mappings::update(State(state), caller_of(&claims), path(), Body(body)).await
        }
        other => other,
    }
}

/// The first record of a resource as the consumer's connection reads it now, custom
/// mappings applied: the page's live preview of a mapping.
async fn preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((service, resource)): Path<(String, String)>,
) -> Result<Response> {
    let claims = crm_claims(&state, &headers)?;
    let model = MODELS
        .iter()
        .copied()
        .find(|m| m.resource.as_str() == resource)
        .ok_or_else(|| {
            Error::new(
                StatusCode::NOT_FOUND,
                ErrorType::EntityNotFoundError,
                "Unknown resource",
            )
            .with_detail(format!("crmgate has no CRM resource {resource:?}").into())
        })?;
    let conn = Connection::open(
        &state,
        claims.tenant(),
        Some(&service),
        RateLimitSlot::default(),
        "list",
    )
    .await?;
    records::list(
        model,
        State(state),
        conn,
        Uri::from_static("/"),
        HeaderMap::new(),
        RawQuery(Some("limit=1".to_owned())),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_as_apideck_writes_them() {
        assert_eq!(session_length("30m"), Some(1_800_000));
        assert_eq!(session_length("1h"), Some(3_600_000));
        assert_eq!(session_length("1w"), Some(MAX_LENGTH_MS));
        for bad in ["", "h", "0m", "10", "1y", "-1h", "1.5h"] {
            assert_eq!(session_length(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_in_the_ended_page_is_escaped() {
        assert_eq!(
            escape(r#"https://x/?a=1&b="<script>""#),
            "https://x/?a=1&amp;b=&quot;&lt;script&gt;&quot;"
        );
    }
}
