//! The HTTP face of crmgate: Apideck's Unified CRM and Vault contracts. It knows the contract,
//! never a vendor: vendor calls go through connectors, field translation through the mapping
//! engine.

pub mod auth;
mod connection_cache;
pub mod crm;
mod cursor;
mod downstream;
mod envelope;
mod error;
mod health;
mod idempotency;
mod metrics;
pub mod oauth;
pub mod openapi;
mod proxy;
mod request_id;
mod tenant;
pub mod vault;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use crmgate_connector_sdk::{OutboundClient, RateLimiter};
use secrecy::SecretString;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::ApiKeys;
pub use connection_cache::ConnectionCache;
pub use cursor::{CursorCodec, CursorState};

use crate::config::ConnectorSettings;
use crate::error::{Error, ErrorType};
use crate::mapping::{MappingSet, PathCache};
use crate::registry::{ConnectorEntry, SkippedPlugin};
use crate::store::{ConnectionRecord, Sealer, Store, Tenant};

/// Everything a request handler needs, shared by all requests.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub connectors: Arc<[ConnectorEntry]>,
    /// Plugins that did not load and were left out at start-up.
    pub skipped_plugins: Arc<[SkippedPlugin]>,
    pub mappings: Arc<MappingSet>,
    /// The outbound client of each connector, by service id.
    pub clients: Arc<BTreeMap<&'static str, OutboundClient>>,
    /// How long a request may take in all, vendor retries and waits included; a vendor's
    /// `Retry-After` beyond it is handed to the client instead of waited out.
    pub request_deadline: Duration,
    /// Largest request body accepted; larger ones are answered 413.
    pub max_request_body_bytes: usize,
    pub keys: Arc<ApiKeys>,
    pub cursors: Arc<CursorCodec>,
    /// Tenants' mapping paths, compiled once per distinct text.
    pub paths: Arc<PathCache>,
    /// Seals and opens connection settings.
    pub sealer: Arc<Sealer>,
    /// Where connections' vendor budgets are kept.
    pub limiter: Arc<dyn RateLimiter>,
    /// Operators' per-connector overrides, by service id.
    pub overrides: Arc<BTreeMap<String, ConnectorSettings>>,
    /// Connections opened by earlier requests, for as long as they are current.
    pub connections: Arc<ConnectionCache>,
    /// Authorize links, flows and token refresh.
    pub oauth: Arc<oauth::OAuth>,
}

impl AppState {
    /// A stored connection's settings; settings that do not open are the connection's problem
    /// (422 `ConnectionSettingsError`), never a 500, and the cause is logged without secrets.
    pub fn open_settings(
        &self,
        tenant: &Tenant,
        record: &ConnectionRecord,
    ) -> Result<BTreeMap<String, SecretString>, Error> {
        self.sealer
            .open(tenant, &record.service_id, &record.settings)
            .map_err(|e| {
                tracing::warn!(service = record.service_id, consumer = tenant.consumer_id, reason = %e, "Stored connection settings do not open.");
                Error::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorType::ConnectionSettingsError, "Connection settings are unreadable")
                    .with_detail(format!("The stored {} settings cannot be read ({e}); save them again through PATCH /vault/connections/crm/{}", record.service_id, record.service_id).into())
            })
    }

    /// What a token refresh needs.
    pub fn refreshing(&self) -> oauth::Refreshing {
        oauth::Refreshing {
            store: self.store.clone(),
            sealer: self.sealer.clone(),
            oauth: self.oauth.clone(),
        }
    }

    /// The registered connector with this service id.
    pub fn connector(&self, service_id: &str) -> Option<&ConnectorEntry> {
        self.connectors
            .iter()
            .find(|c| c.connector.id() == service_id)
    }
}

/// The router with every route crmgate serves, and the OpenAPI document of the same routes:
/// both are built from the handlers' annotations, so neither can list a route the other lacks.
pub fn router(state: AppState) -> Router {
    metrics::install();
    let (router, document) = routes().split_for_parts();
    openapi::publish(&document);
    router
        .merge(vault::sessions::page_routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_request_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline,
        ))
        .layer(axum::middleware::from_fn(downstream::rate_limit_headers))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Every route with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    use vault::{authorize, connections, consumers, custom_mappings, sessions};
    crm::routes()
        .fold(
            OpenApiRouter::with_openapi(openapi::base()),
            |router, resource| router.routes(resource),
        )
        .routes(routes!(connections::list))
        .routes(routes!(
            connections::one,
            connections::update,
            connections::add,
            connections::delete
        ))
        .routes(routes!(custom_mappings::for_connection))
        .routes(routes!(custom_mappings::list))
        .routes(routes!(
            custom_mappings::one,
            custom_mappings::add,
            custom_mappings::update,
            custom_mappings::delete
        ))
        .routes(routes!(consumers::list, consumers::add))
        .routes(routes!(
            consumers::one,
            consumers::update,
            consumers::delete
        ))
        .routes(routes!(sessions::create))
        .routes(routes!(authorize::authorize))
        .routes(routes!(authorize::confirm))
        .routes(routes!(authorize::callback))
        .routes(routes!(authorize::revoke))
        .routes(routes!(
            proxy::get,
            proxy::post,
            proxy::put,
            proxy::patch,
            proxy::delete,
            proxy::options
        ))
        .route_layer(axum::middleware::from_fn(metrics::record))
        .routes(routes!(metrics::render))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(openapi::document))
        .routes(routes!(openapi::page))
}

/// When a request must be answered; set by the deadline layer for what runs inside it (the
/// body read stops there).
#[derive(Debug, Clone, Copy)]
pub struct RequestDeadline(pub tokio::time::Instant);

/// Ends a request that outlives its deadline with a 504; the vendor calls and the body read
/// inside stop at the same deadline, so this only catches what is slow on crmgate's side (a
/// stalled database).
async fn deadline(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let limit = state.request_deadline;
    request
        .extensions_mut()
        .insert(RequestDeadline(tokio::time::Instant::now() + limit));
    match tokio::time::timeout(limit + Duration::from_secs(1), next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::new(
            StatusCode::GATEWAY_TIMEOUT,
            ErrorType::ConnectorExecutionError,
            "Request timed out",
        )
        .with_detail(
            format!(
                "The request did not finish within {} seconds",
                limit.as_secs()
            )
            .into(),
        )
        .into_response(),
    }
}

async fn not_found() -> Error {
    Error::new(
        StatusCode::NOT_FOUND,
        ErrorType::EntityNotFoundError,
        "Unknown route",
    )
    .with_detail(
        "crmgate serves no such path; see /crm/opportunities and /vault/connections".into(),
    )
}

async fn method_not_allowed() -> Error {
    Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorType::RequestValidationError,
        "Method not allowed",
    )
    .with_detail("This path does not serve that HTTP method.".into())
}
