//! Vault's connections: one per connector for each consumer, holding the consumer's settings
//! (credentials) for that CRM. Secret settings are never echoed back.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crmgate_connector_sdk::oauth as sdk_oauth;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::{object_body, respond};
use crate::api::AppState;
use crate::api::crm::Body;
use crate::api::oauth;
use crate::api::tenant::Caller;
use crate::error::{Error, ErrorType, Result};
use crate::registry::ConnectorEntry;
use crate::store::{ConnectionRecord, Tenant};

/// The only unified API crmgate serves.
const UNIFIED_API: &str = "crm";

/// What a masked secret reads as.
const MASK: &str = "********";

/// Connection properties that are read-only in Vault's schema; a client may send a connection
/// back as it read it, so these are accepted in a body and ignored.
const READ_ONLY: &[&str] = &[
    "id",
    "service_id",
    "name",
    "tag_line",
    "unified_api",
    "state",
    "integration_state",
    "auth_type",
    "oauth_grant_type",
    "status",
    "website",
    "icon",
    "logo",
    "authorize_url",
    "revoke_url",
    "form_fields",
    "configurable_resources",
    "resource_schema_support",
    "resource_settings_support",
    "validation_support",
    "schema_support",
    "settings_required_for_authorization",
    "subscriptions",
    "has_guide",
    "custom_mappings",
    "consent_state",
    "consents",
    "latest_consent",
    "application_data_scopes",
    "health",
    "credentials_expire_at",
    "last_refresh_failed_at",
    "last_downstream_error_at",
    "created_at",
    "updated_at",
    "metadata",
    "configuration",
];

fn tenant_of(caller: Caller) -> Result<Tenant> {
    Ok(Tenant {
        app_id: caller.app_id,
        consumer_id: caller
            .consumer_id
            .ok_or_else(|| Error::missing_header(crate::api::tenant::CONSUMER_ID))?,
    })
}

/// The connector a Vault path names, under the one unified API crmgate serves.
pub(super) fn known_connector<'a>(
    state: &'a AppState,
    unified_api: &str,
    service_id: &str,
) -> Result<&'a ConnectorEntry> {
    if unified_api != UNIFIED_API {
        return Err(Error::new(
            StatusCode::NOT_FOUND,
            ErrorType::ConnectorNotFoundError,
            "Unknown unified API",
        )
        .with_detail(format!("crmgate serves the crm unified API, not {unified_api:?}").into()));
    }
    state
        .connector(service_id)
        .ok_or_else(|| Error::connector_not_found(service_id))
}

/// A stored connection with its settings opened; `None` when the sealed settings do not open
/// (another key, or damaged), which Vault reports as an invalid connection.
struct Opened<'a> {
    record: &'a ConnectionRecord,
    settings: Option<BTreeMap<String, SecretString>>,
}

impl<'a> Opened<'a> {
    fn new(state: &AppState, tenant: &Tenant, record: &'a ConnectionRecord) -> Self {
        Self {
            record,
            settings: state.open_settings(tenant, record).ok(),
        }
    }

    fn setting(&self, name: &str) -> Option<&SecretString> {
        self.settings
            .as_ref()?
            .get(name)
            .filter(|v| !v.expose_secret().is_empty())
    }
}

/// A consumer's OAuth links for a connector, when its application has a client there.
pub(super) struct Links {
    authorize_url: String,
    revoke_url: String,
}

impl Links {
    /// The links of each connector the application has an OAuth client for.
    pub(super) async fn of(
        state: &AppState,
        tenant: Option<&Tenant>,
        app_id: &str,
    ) -> Result<Vec<(String, Links)>> {
        let Some(tenant) = tenant else {
            return Ok(Vec::new());
        };
        let now = chrono::Utc::now().timestamp_millis();
        Ok(state
            .store
            .oauth_clients(app_id)
            .await?
            .into_iter()
            .filter(|c| {
                state
                    .connector(&c.service_id)
                    .is_some_and(|e| e.connector.manifest().oauth2().is_some())
            })
            .map(|c| {
                let (authorize_url, revoke_url) = state.oauth.links(tenant, &c.service_id, now);
                (
                    c.service_id,
                    Links {
                        authorize_url,
                        revoke_url,
                    },
                )
            })
            .collect())
    }
}

/// One connector's links for a consumer.
async fn links_for(state: &AppState, tenant: &Tenant, service: &str) -> Result<Option<Links>> {
    Ok(Links::of(state, Some(tenant), &tenant.app_id)
        .await?
        .into_iter()
        .find(|(s, _)| s == service)
        .map(|(_, l)| l))
}

/// Vault's `Connection` for a connector and the consumer's stored record, secrets masked.
fn connection_json(
    entry: &ConnectorEntry,
    opened: Option<&Opened<'_>>,
    links: Option<&Links>,
) -> Value {
    let connector = &entry.connector;
    let specs = connector.settings();
    let authorized = opened
        .and_then(|o| o.settings.as_ref())
        .is_some_and(sdk_oauth::is_authorized);
    let revoked = opened.is_some_and(|o| o.setting(oauth::INVALID).is_some());
    let unconfirmed = opened.is_some_and(|o| o.setting(oauth::UNCONFIRMED).is_some());
    let refresh_failed_at = opened
        .and_then(|o| o.settings.as_ref())
        .and_then(oauth::refresh_failure_of)
        .map(|(at, _, _)| at);
    let oauth_only = connector.manifest().oauth_only();
    let missing = (oauth_only && !authorized)
        || connector
            .manifest()
            .required_settings(authorized)
            .any(|s| opened.is_none_or(|o| o.setting(&s.name).is_none()));
    let shown = |name: &str, secret: bool| -> Value {
        match opened.and_then(|o| o.setting(name)) {
            Some(_) if secret => MASK.into(),
            Some(v) => v.expose_secret().into(),
            None => Value::Null,
        }
    };
    let settings: Map<String, Value> = specs
        .iter()
        .filter(|s| opened.is_some_and(|o| o.setting(&s.name).is_some()))
        .map(|s| (s.name.to_owned(), shown(&s.name, s.secret)))
        .collect();
    let form_fields: Vec<Value> = specs
        .iter()
        .map(|s| {
            json!({
                "id": s.name,
                "label": s.label,
                "description": s.description,
                "placeholder": "",
                "type": if s.secret { "password" } else if s.name == "base_url" { "url" } else { "text" },
                "required": s.required,
                "mask": s.secret,
                "sensitive": s.secret,
                "custom_field": false,
                "disabled": false,
                "value": shown(&s.name, s.secret),
            })
        })
        .collect();
    let (state, health) = match opened {
        None => ("available", None),
        Some(o) if o.settings.is_none() => ("invalid", Some("missing_settings")),
        Some(_) if revoked => ("invalid", Some("needs_auth")),
        Some(_) if unconfirmed => ("authorized", Some("pending_confirmation")),
        Some(_) if authorized && missing => ("authorized", Some("missing_settings")),
        Some(_) if refresh_failed_at.is_some() => ("callable", Some("pending_refresh")),
        Some(_) if missing => ("added", Some("missing_settings")),
        Some(_) => ("callable", Some("ok")),
    };
    // OAuth when the connection was authorized so, or when it could be and has no API key yet.
    let auth_type = if authorized || oauth_only || (links.is_some() && missing) {
        "oauth2"
    } else {
        "apiKey"
    };
    let record = opened.map(|o| o.record);
    let mut connection = json!({
        "id": format!("{UNIFIED_API}+{}", connector.id()),
        "service_id": connector.id(),
        "name": connector.name(),
        "unified_api": UNIFIED_API,
        "auth_type": auth_type,
        "state": state,
        "integration_state": if record.is_some() { "configured" } else { "needs_configuration" },
        "enabled": record.is_some_and(|r| r.enabled),
        "settings": if record.is_some() { Value::Object(settings) } else { Value::Null },
        "form_fields": form_fields,
        // The resources the connector has a table for, which custom mappings can target;
        // every other resource answers 501 through this connection.
        "configurable_resources": entry.mappings.iter().map(|m| m.resource.as_str()).collect::<Vec<_>>(),
        "configuration": [],
        // crmgate keeps credentials whatever their refreshes do, so no retention window runs.
        "credentials_expire_at": 0,
        "last_refresh_failed_at": refresh_failed_at.unwrap_or(0),
        "updated_at": record.map(|r| r.updated_at),
    });
    // Vault's contract types `health` and `created_at` as never null: a connector the consumer
    // has not connected has neither, so they are left out.
    if let Some(health) = health {
        connection["health"] = health.into();
    }
    if let Some(record) = record {
        connection["created_at"] = record.created_at.into();
    }
    if let Some(links) = links {
        connection["oauth_grant_type"] = "authorization_code".into();
        connection["authorize_url"] = links.authorize_url.clone().into();
        connection["revoke_url"] = links.revoke_url.clone().into();
    }
    connection
}

/// `GET /vault/connections`: one entry per connector; `api` and `configured` filter the list.
#[utoipa::path(get, path = "/vault/connections", operation_id = "connectionsAll", tag = "Connections", params(("x-apideck-app-id" = String, Header), ("x-apideck-consumer-id" = Option<String>, Header), ("api" = Option<String>, Query), ("configured" = Option<bool>, Query)), responses((status = 200, description = "One connection per connector", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let mut api = None;
    let mut configured = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*k {
            "api" => api = Some(v.into_owned()),
            "configured" => {
                configured = Some(match &*v {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(Error::validation(
                            "Invalid query parameter configured: must be true or false",
                            json!({ "invalid": [{ "configured": "must be true or false" }] }),
                        ));
                    }
                })
            }
            _ => {
                return Err(Error::validation(
                    format!("Invalid query parameter {k}: not a parameter of this operation"),
                    json!({ "invalid": [{ k.as_ref(): "unknown parameter" }] }),
                ));
            }
        }
    }
    let data = all(&state, &caller, api.as_deref(), configured).await?;
    Ok(respond(StatusCode::OK, Value::Array(data)))
}

/// Vault's `Connection` of every connector for the caller (its consumer's state when it names
/// one), under `api` when given, stored or not as `configured` says.
pub(super) async fn all(
    state: &AppState,
    caller: &Caller,
    api: Option<&str>,
    configured: Option<bool>,
) -> Result<Vec<Value>> {
    let tenant = caller.consumer_id.clone().map(|consumer_id| Tenant {
        app_id: caller.app_id.clone(),
        consumer_id,
    });
    let records = match &tenant {
        Some(tenant) => state.store.connections(tenant).await?,
        None => Vec::new(),
    };
    let links = Links::of(state, tenant.as_ref(), &caller.app_id).await?;
    let links_of = |service: &str| links.iter().find(|(s, _)| s == service).map(|(_, l)| l);
    Ok(state
        .connectors
        .iter()
        .filter(|_| api.is_none_or(|a| a == UNIFIED_API))
        .map(|entry| {
            let opened = records
                .iter()
                .find(|r| r.service_id == entry.connector.id())
                .zip(tenant.as_ref())
                .map(|(record, tenant)| Opened::new(state, tenant, record));
            let links = links_of(entry.connector.id());
            (
                opened.is_some(),
                connection_json(entry, opened.as_ref(), links),
            )
        })
        .filter(|(stored, _)| configured.is_none_or(|c| c == *stored))
        .map(|(_, json)| json)
        .collect())
}

/// `GET /vault/connections/crm/{service_id}`.
#[utoipa::path(get, path = "/vault/connections/{unified_api}/{service_id}", operation_id = "connectionsOne", tag = "Connections", params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), crate::api::openapi::TenantHeaders), responses((status = 200, description = "The connection", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path((api, service)): Path<(String, String)>,
) -> Result<Response> {
    let tenant = tenant_of(caller)?;
    let entry = known_connector(&state, &api, &service)?;
    let record = state.store.connection(&tenant, &service).await?;
    let opened = record.as_ref().map(|r| Opened::new(&state, &tenant, r));
    let links = links_for(&state, &tenant, &service).await?;
    Ok(respond(
        StatusCode::OK,
        connection_json(entry, opened.as_ref(), links.as_ref()),
    ))
}

/// `PATCH /vault/connections/crm/{service_id}`: saves settings, creating the connection on the
/// first call (Apideck's SDKs have no separate create). `null` removes a setting.
#[utoipa::path(patch, path = "/vault/connections/{unified_api}/{service_id}", operation_id = "connectionsUpdate", tag = "Connections", request_body = crate::api::openapi::ConnectionInput, params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), crate::api::openapi::TenantHeaders), responses((status = 200, description = "Saved (created on the first call)", body = crate::api::openapi::VaultResponse), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn update(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    body: Body,
) -> Result<Response> {
    save(state, caller, path, body, false).await
}

/// `POST /vault/connections/crm/{service_id}`: creates the connection; it must not exist yet.
#[utoipa::path(post, path = "/vault/connections/{unified_api}/{service_id}", operation_id = "connectionsAdd", tag = "Connections", request_body = crate::api::openapi::ConnectionInput, params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), crate::api::openapi::TenantHeaders), responses((status = 200, description = "Created", body = crate::api::openapi::VaultResponse), (status = 409, description = "It exists", body = crate::api::openapi::ErrorBody), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn add(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    body: Body,
) -> Result<Response> {
    save(state, caller, path, body, true).await
}

async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path((api, service)): Path<(String, String)>,
    Body(body): Body,
    create_only: bool,
) -> Result<Response> {
    let tenant = tenant_of(caller)?;
    let entry = known_connector(&state, &api, &service)?;
    let patch = ConnectionPatch::parse(&body, entry)?;
    let existing = state.store.connection(&tenant, &service).await?;
    if create_only && existing.is_some() {
        return Err(Error::new(
            StatusCode::CONFLICT,
            ErrorType::RequestValidationError,
            "Connection exists",
        )
        .with_detail(
            format!(
                "Consumer {} already has a {service} connection; change it with PATCH",
                tenant.consumer_id
            )
            .into(),
        ));
    }
    let now = chrono::Utc::now().timestamp_millis();
    // Settings that no longer open (another key, damage) are replaced by what the client sends:
    // that is how a consumer repairs such a connection.
    let mut settings = existing
        .as_ref()
        .and_then(|r| state.open_settings(&tenant, r).ok())
        .unwrap_or_default();
    let mut record = existing.unwrap_or(ConnectionRecord {
        service_id: service.clone(),
        enabled: true,
        settings: String::new(),
        created_at: now,
        updated_at: now,
    });
    if let Some(enabled) = patch.enabled {
        record.enabled = enabled;
    }
    let secrets_before: Vec<&str> = entry
        .connector
        .settings()
        .iter()
        .filter(|s| s.secret && settings.contains_key(&s.name))
        .map(|s| s.name.as_str())
        .collect();
    let base_url_before = settings.get(BASE_URL).map(|v| v.expose_secret().to_owned());
    let resent: Vec<String> = patch
        .settings
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| name.clone())
        .collect();
    for (name, value) in patch.settings {
        match value {
            Some(v) => settings.insert(name, v),
            None => settings.remove(&name),
        };
    }
    let base_url_after = settings.get(BASE_URL).map(|v| v.expose_secret().to_owned());
    if base_url_after != base_url_before {
        check_destination(&state, entry, base_url_after.as_deref())?;
        // OAuth tokens are bound to the host they were granted for, like secret settings; the
        // end customer authorizes again for another.
        sdk_oauth::forget(&mut settings);
        let missing: Vec<&str> = secrets_before
            .into_iter()
            .filter(|name| !resent.iter().any(|r| r == name))
            .collect();
        if !missing.is_empty() {
            return Err(Error::validation(
                format!(
                    "Invalid property settings.base_url: a credential is bound to the host it was saved for; send {} again to change the base URL",
                    missing.join(", ")
                ),
                json!({ "invalid": [{ "settings.base_url": "changed without the secret settings" }], "missing": missing }),
            ));
        }
    }
    record.settings = state.sealer.seal(&tenant, &service, &settings);
    record.updated_at = now;
    state.store.save_connection(&tenant, &record).await?;
    tracing::info!(service, consumer = tenant.consumer_id, "Connection saved.");
    let opened = Opened {
        record: &record,
        settings: Some(settings),
    };
    let links = links_for(&state, &tenant, &service).await?;
    Ok(respond(
        StatusCode::OK,
        connection_json(entry, Some(&opened), links.as_ref()),
    ))
}

/// `DELETE /vault/connections/crm/{service_id}`: HTTP 204.
#[utoipa::path(delete, path = "/vault/connections/{unified_api}/{service_id}", operation_id = "connectionsDelete", tag = "Connections", params(("unified_api" = String, Path, description = "crm"), ("service_id" = String, Path, description = "A connector, e.g. hubspot"), crate::api::openapi::TenantHeaders), responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody), (status = 401, description = "Missing or invalid API key", body = crate::api::openapi::ErrorBody), (status = 404, description = "Not found", body = crate::api::openapi::ErrorBody), (status = 422, description = "Unprocessable", body = crate::api::openapi::ErrorBody)), security(("apiKey" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((api, service)): Path<(String, String)>,
) -> Result<Response> {
    let tenant = tenant_of(caller)?;
    known_connector(&state, &api, &service)?;
    if !state.store.delete_connection(&tenant, &service).await? {
        return Err(Error::no_connection(&tenant, &service));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The setting every connector takes for its API root.
const BASE_URL: &str = "base_url";

/// Refuses a base URL the connector's outbound policy would not call, before it is saved.
fn check_destination(
    state: &AppState,
    entry: &ConnectorEntry,
    base_url: Option<&str>,
) -> Result<()> {
    let Some(text) = base_url else {
        return Ok(());
    };
    let id = entry.connector.id();
    let policy = state
        .clients
        .get(id)
        .ok_or_else(|| Error::internal(format_args!("no outbound client for {id}")))?
        .policy();
    let url = url::Url::parse(text).map_err(|_| {
        Error::validation(
            "Invalid property settings.base_url: expected an http or https URL",
            json!({ "invalid": [{ "settings.base_url": "expected an http or https URL" }] }),
        )
    })?;
    policy.check(&url).map_err(|refusal| {
        Error::validation(
            format!("Invalid property settings.base_url: {refusal}"),
            json!({
                "invalid": [{ "settings.base_url": refusal.to_string() }],
                "allowed_hosts": policy.allowed(),
            }),
        )
    })
}

/// The writable part of a connection body.
struct ConnectionPatch {
    enabled: Option<bool>,
    settings: Vec<(String, Option<SecretString>)>,
}

impl ConnectionPatch {
    fn parse(body: &[u8], entry: &ConnectorEntry) -> Result<Self> {
        let invalid = |name: &str, problem: String| {
            Error::validation(
                format!("Invalid property {name}: {problem}"),
                json!({ "invalid": [{ name: problem }] }),
            )
        };
        let body = object_body(body)?;
        let mut patch = ConnectionPatch {
            enabled: None,
            settings: Vec::new(),
        };
        for (key, value) in body {
            match key.as_str() {
                "enabled" => {
                    patch.enabled = Some(
                        value
                            .as_bool()
                            .ok_or_else(|| invalid("enabled", "expected a boolean".into()))?,
                    );
                }
                "settings" => {
                    let Value::Object(settings) = value else {
                        if value.is_null() {
                            continue;
                        }
                        return Err(invalid("settings", "expected an object".into()));
                    };
                    for (name, value) in settings {
                        let path = format!("settings.{name}");
                        let Some(spec) = entry.connector.settings().iter().find(|s| s.name == name)
                        else {
                            let known: Vec<&str> = entry
                                .connector
                                .settings()
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect();
                            return Err(invalid(
                                &path,
                                format!(
                                    "unknown setting; {} takes {}",
                                    entry.connector.id(),
                                    known.join(", ")
                                ),
                            ));
                        };
                        let value = match value {
                            Value::Null => None,
                            Value::String(s) if spec.secret && s == MASK => continue,
                            Value::String(s) => Some(s),
                            _ => return Err(invalid(&path, "expected a string".into())),
                        };
                        if spec.name == "base_url"
                            && let Some(url) = &value
                            && !url::Url::parse(url)
                                .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                        {
                            return Err(invalid(&path, "expected an http or https URL".into()));
                        }
                        if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
                            && let Err(problem) = spec.check(v)
                        {
                            return Err(invalid(&path, problem));
                        }
                        patch.settings.push((name, value.map(SecretString::from)));
                    }
                }
                other if READ_ONLY.contains(&other) => {}
                other => {
                    return Err(Error::validation(
                        format!("Unknown property {other}"),
                        json!({ "unknown": [other] }),
                    ));
                }
            }
        }
        Ok(patch)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use crmgate_connector_sdk::{
        CallContext, Connector, ConnectorError, DeleteRequest, Expected, GetRequest, ListRequest,
        Manifest, Page, WriteRequest,
    };

    use super::*;

    /// A connector that only has a manifest: what Vault reads.
    struct SettingsOnly(Manifest);

    #[async_trait]
    impl Connector for SettingsOnly {
        fn id(&self) -> &'static str {
            "acme"
        }

        fn manifest(&self) -> &Manifest {
            &self.0
        }

        async fn list(
            &self,
            _: &CallContext,
            _: ListRequest<'_>,
        ) -> crmgate_connector_sdk::Result<Page> {
            Err(ConnectorError::not_found(""))
        }

        async fn get(
            &self,
            _: &CallContext,
            _: GetRequest<'_>,
        ) -> crmgate_connector_sdk::Result<Value> {
            Err(ConnectorError::not_found(""))
        }

        async fn create(
            &self,
            _: &CallContext,
            _: WriteRequest<'_>,
        ) -> crmgate_connector_sdk::Result<Value> {
            Err(ConnectorError::not_found(""))
        }

        async fn update(
            &self,
            _: &CallContext,
            _: WriteRequest<'_>,
        ) -> crmgate_connector_sdk::Result<Value> {
            Err(ConnectorError::not_found(""))
        }

        async fn delete(
            &self,
            _: &CallContext,
            _: DeleteRequest<'_>,
        ) -> crmgate_connector_sdk::Result<()> {
            Err(ConnectorError::not_found(""))
        }
    }

    fn entry() -> ConnectorEntry {
        let manifest = Manifest::load(
            "acme.yaml",
            r#"
meta: { id: acme, name: Acme, api_version: v1 }
settings:
  - { name: api_key, label: Key, secret: true, required: true }
  - { name: region, label: Region, pattern: "[a-z]{2}" }
base_url:
  default: https://api.acme.example
  hosts: [api.acme.example]
auth: { type: header, headers: { x-key: "{api_key}" } }
errors: {}
"#,
            &Expected {
                id: "acme",
                resources: &[],
            },
        )
        .unwrap();
        ConnectorEntry {
            lookups: Arc::default(),
            connector: Arc::new(SettingsOnly(manifest)),
            mappings: Arc::new([]),
            plugin: None,
        }
    }

    #[test]
    fn a_setting_value_outside_its_pattern_is_refused_naming_the_setting() {
        let err = ConnectionPatch::parse(br#"{"settings":{"region":"europe"}}"#, &entry())
            .err()
            .unwrap();
        assert_eq!(err.type_name(), "RequestValidationError");
        assert_eq!(
            err.detail()["invalid"][0]["settings.region"],
            "does not match the pattern [a-z]{2}"
        );
        let ok = ConnectionPatch::parse(br#"{"settings":{"region":"eu"}}"#, &entry()).unwrap();
        assert_eq!(ok.settings.len(), 1);
    }
}
