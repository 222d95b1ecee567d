//! Who is calling and which connection the call uses, from Apideck's headers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use crmgate_connector_sdk::oauth as sdk_oauth;
use crmgate_connector_sdk::{CallContext, ConnectionSettings, RateLimitSlot};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::AppState;
use super::auth::KeyScope;
use super::connection_cache::OpenConnection;
use super::oauth::{self, ConnectionRefresher, REFRESH_MARGIN_SECS, Refreshing};
use crate::error::{Error, ErrorType, Result};
use crate::registry::ConnectorEntry;
use crate::store::{ConnectionRecord, Tenant};

pub const APP_ID: &str = "x-apideck-app-id";
pub const CONSUMER_ID: &str = "x-apideck-consumer-id";
pub const SERVICE_ID: &str = "x-apideck-service-id";

/// Longest id accepted in a tenant header; bounds what reaches the database.
const MAX_HEADER_ID: usize = 255;

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        Error::new(
            StatusCode::BAD_REQUEST,
            ErrorType::RequestHeadersValidationError,
            "Invalid Headers",
        )
        .with_detail(format!("Header {name} must be visible ASCII").into())
    })?;
    let value = value.trim();
    if value.len() > MAX_HEADER_ID {
        return Err(Error::new(
            StatusCode::BAD_REQUEST,
            ErrorType::RequestHeadersValidationError,
            "Invalid Headers",
        )
        .with_detail(format!("Header {name} is longer than {MAX_HEADER_ID} characters").into()));
    }
    Ok(Some(value).filter(|v| !v.is_empty()))
}

fn required(headers: &HeaderMap, name: &'static str) -> Result<String> {
    header(headers, name)?
        .map(str::to_owned)
        .ok_or_else(|| Error::missing_header(name))
}

/// A caller with a valid API key; the consumer is optional (Vault's connection list).
pub struct Caller {
    pub app_id: String,
    pub consumer_id: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let scope = state
            .keys
            .check(&parts.headers, state.store.as_ref())
            .await?;
        let app_id = required(&parts.headers, APP_ID)?;
        if let KeyScope::Application(owner) = &scope
            && *owner != app_id
        {
            return Err(Error::unauthorized(
                "The API key belongs to another application than x-apideck-app-id names",
            ));
        }
        Ok(Self {
            app_id,
            consumer_id: header(&parts.headers, CONSUMER_ID)?.map(str::to_owned),
        })
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(Tenant {
            app_id: caller.app_id,
            consumer_id: caller
                .consumer_id
                .ok_or_else(|| Error::missing_header(CONSUMER_ID))?,
        })
    }
}

/// A CRM call's connection: the tenant, its connector and a call context with the
/// connection's credentials injected.
pub struct Connection {
    pub tenant: Tenant,
    pub cx: CallContext,
    /// The opened connection this call uses, with the tenant's compiled mapping layers.
    pub open: Arc<OpenConnection>,
}

impl Connection {
    pub fn entry(&self) -> &ConnectorEntry {
        &self.open.entry
    }

    pub fn service(&self) -> &'static str {
        self.entry().connector.id()
    }
}

impl FromRequestParts<AppState> for Connection {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let tenant = Tenant::from_request_parts(parts, state).await?;
        let wanted = header(&parts.headers, SERVICE_ID)?.map(str::to_owned);
        let slot = parts
            .extensions
            .get::<RateLimitSlot>()
            .cloned()
            .unwrap_or_default();
        Self::open(state, tenant, wanted.as_deref(), slot, operation_of(parts)).await
    }
}

impl Connection {
    /// The tenant's connection a call uses (the named one, or its only one), opened or taken
    /// from the cache while current, with a call context for one request.
    pub async fn open(
        state: &AppState,
        tenant: Tenant,
        wanted: Option<&str>,
        slot: RateLimitSlot,
        operation: &'static str,
    ) -> Result<Self> {
        // Read before anything is opened, so what is opened is never older than the version
        // it is kept under.
        let version = state.store.tenant_version(&tenant).await?;
        let now = chrono::Utc::now().timestamp();
        let cached = state
            .connections
            .get(&tenant, wanted, version)
            // A token about to expire is refreshed as the connection is opened again.
            .filter(|open| {
                open.expires_at
                    .is_none_or(|at| at > now + REFRESH_MARGIN_SECS)
            });
        let open = match cached {
            Some(open) => open,
            None => {
                let open = Arc::new(open_connection(state, &tenant, wanted).await?);
                state
                    .connections
                    .insert(&tenant, wanted, version, open.clone());
                open
            }
        };
        let deadline = tokio::time::Instant::now() + state.request_deadline;
        let cx = open.call_context(deadline, slot, operation);
        Ok(Self { tenant, cx, open })
    }
}

/// Opens the connection a call asks for: finds it, checks its settings and prepares its
/// client.
async fn open_connection(
    state: &AppState,
    tenant: &Tenant,
    wanted: Option<&str>,
) -> Result<OpenConnection> {
    let record = select(state, tenant, wanted).await?;
    let entry = state
        .connector(&record.service_id)
        .cloned()
        .ok_or_else(|| {
            Error::connection_not_found(format!(
                "The connection to {} uses a connector this build of crmgate does not have",
                record.service_id
            ))
        })?;
    let mut settings = state.open_settings(tenant, &record)?;
    let service = entry.connector.id();
    if let Some(reason) = settings.get(oauth::INVALID) {
        return Err(oauth::invalid_connection(
            &state.oauth,
            tenant,
            service,
            reason.expose_secret(),
        ));
    }
    if settings.contains_key(oauth::UNCONFIRMED) {
        return Err(oauth::unconfirmed_connection(service));
    }
    let refreshing = state.refreshing();
    if Refreshing::due(&settings, chrono::Utc::now().timestamp()) {
        let current = settings
            .get(sdk_oauth::ACCESS_TOKEN)
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_default();
        match refreshing.refresh(tenant, &entry, &[current]).await {
            Ok(renewed) => settings = renewed,
            // A token refreshed early that could not be renewed is still good until it
            // expires (the failure is recorded, so the next refresh waits for its cooldown).
            Err(e)
                if oauth::is_refresh_failure(&e)
                    && sdk_oauth::expires_at(&settings)
                        .is_some_and(|at| at > chrono::Utc::now().timestamp()) =>
            {
                tracing::debug!(service, "Calling with the unexpired token.");
            }
            Err(e) => return Err(e),
        }
    }
    let expires_at = sdk_oauth::expires_at(&settings);
    let authorized = sdk_oauth::is_authorized(&settings);
    let mut template = call_context(state, &entry, tenant, settings)?;
    if authorized {
        template.http = template.http.with_refresher(Arc::new(ConnectionRefresher {
            refreshing,
            tenant: tenant.clone(),
            entry: entry.clone(),
        }));
    }
    Ok(OpenConnection::new(entry, template, expires_at))
}

/// The unified operation a CRM request asks for, as a metric label.
fn operation_of(parts: &Parts) -> &'static str {
    let matched = parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    if matched == Some("/proxy") {
        return "proxy";
    }
    let item = matched.is_some_and(|p| p.ends_with("{id}"));
    match (parts.method.as_str(), item) {
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PATCH", _) => "update",
        ("DELETE", _) => "delete",
        _ => "other",
    }
}

/// The connection a call uses: the named one, or the consumer's only enabled one.
async fn select(
    state: &AppState,
    tenant: &Tenant,
    wanted: Option<&str>,
) -> Result<ConnectionRecord> {
    if let Some(service) = wanted {
        let record = state
            .store
            .connection(tenant, service)
            .await?
            .ok_or_else(|| Error::no_connection(tenant, service))?;
        if !record.enabled {
            return Err(Error::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorType::ConnectionSettingsError, "Connection is disabled")
                .with_detail(format!("The {service} connection is disabled; enable it through PATCH /vault/connections/crm/{service}").into()));
        }
        return Ok(record);
    }
    let mut enabled: Vec<ConnectionRecord> = state
        .store
        .connections(tenant)
        .await?
        .into_iter()
        .filter(|c| c.enabled && state.connector(&c.service_id).is_some())
        .collect();
    match enabled.len() {
        1 => Ok(enabled.remove(0)),
        0 => Err(Error::connection_not_found(format!(
            "Consumer {} has no enabled CRM connection; create one through /vault/connections/crm/{{service_id}}",
            tenant.consumer_id
        ))),
        _ => Err(Error::missing_header(SERVICE_ID).with_detail(
            format!(
                "Missing Header: {SERVICE_ID}. Consumer {} has several CRM connections; choose one of: {}",
                tenant.consumer_id,
                enabled.iter().map(|c| c.service_id.as_str()).collect::<Vec<_>>().join(", ")
            )
            .into(),
        )),
    }
}

fn call_context(
    state: &AppState,
    entry: &ConnectorEntry,
    tenant: &Tenant,
    settings: BTreeMap<String, SecretString>,
) -> Result<CallContext> {
    let connector = &entry.connector;
    let authorized = sdk_oauth::is_authorized(&settings);
    if let Some(missing) = connector
        .manifest()
        .required_settings(authorized)
        .find(|s| {
            settings
                .get(&s.name)
                .is_none_or(|v| v.expose_secret().is_empty())
        })
    {
        return Err(Error::connection_settings(&missing.name));
    }
    let settings = Arc::new(ConnectionSettings::new(connector.settings(), settings));
    let auth = connector
        .auth_headers(&settings)
        .map_err(|e| Error::from_connector(e, connector.id()))?;
    let overrides = state.overrides.get(connector.id());
    let base_url = match (
        settings.get("base_url"),
        overrides.and_then(|o| o.base_url.as_ref()),
    ) {
        (Some(own), _) => Url::parse(own).map_err(|_| Error::connection_settings("base_url"))?,
        (None, Some(configured)) => configured.clone(),
        (None, None) => connector
            .default_base_url(&settings)
            .map_err(|e| Error::from_connector(e, connector.id()))?,
    };
    let mut http = state
        .clients
        .get(connector.id())
        .ok_or_else(|| Error::internal(format_args!("no outbound client for {}", connector.id())))?
        .with_auth(auth);
    let budget = overrides
        .and_then(|o| o.rate_limit)
        .map(|r| r.budget())
        .or_else(|| connector.rate_budget());
    let connection = budget_key(tenant, connector.id());
    if let Some(budget) = budget {
        http = http.with_budget(state.limiter.clone(), &connection, budget);
    }
    Ok(CallContext {
        http,
        base_url,
        settings,
        lookups: entry.lookups.clone(),
        connection,
        degraded: Default::default(),
    })
}

/// A connection's name for budgets and caches: a hash, so tenant ids do not spread into Redis
/// key names.
fn budget_key(tenant: &Tenant, service: &str) -> String {
    let digest = tenant.digest(&[service]);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{service}:{hex}")
}
