//! Building the gateway from its options and serving it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use crmgate_connector_sdk::{HttpConfig, OutboundClient};
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::api::{self, ApiKeys, AppState, CursorCodec};
use crate::mapping::{MappingSet, PathCache};
use crate::registry;

/// Environment variable holding the gateway's API key.
pub const API_KEY_ENV: &str = "CRMGATE_API_KEY";
/// Environment variable naming the database.
pub const DATABASE_URL_ENV: &str = "CRMGATE_DATABASE_URL";
/// Where `crmgate serve` keeps its data when told nothing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://crmgate.db";
/// Where `crmgate serve` listens when told nothing: loopback only, so a fresh install is not
/// reachable from the network by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// What `crmgate serve` needs to start.
pub struct ServeOptions {
    pub database_url: String,
    /// A folder of mapping tables; the built-in copies when `None`.
    pub mappings: Option<PathBuf>,
    pub api_key: Option<SecretString>,
    pub http: HttpConfig,
}

/// The state of a started gateway and how its API key came about.
pub struct Gateway {
    pub state: AppState,
    pub key_source: api::auth::KeySource,
}

impl Gateway {
    /// Opens the store, loads and compiles every mapping table and establishes the keys.
    pub async fn build(options: ServeOptions) -> anyhow::Result<Self> {
        let connectors = registry::connectors();
        let mappings =
            MappingSet::load(options.mappings.as_deref(), &connectors).map_err(|errors| {
                let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                anyhow::anyhow!("the mapping tables do not load:\n{}", lines.join("\n"))
            })?;
        let store = crate::store::open(&options.database_url)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    redact_url(&options.database_url)
                )
            })?;
        let (keys, key_source) =
            ApiKeys::establish(options.api_key.as_ref(), store.as_ref()).await?;
        let cursors = CursorCodec::establish(store.as_ref()).await?;
        let state = AppState {
            store,
            connectors: connectors.into(),
            mappings: Arc::new(mappings),
            http: OutboundClient::new(options.http),
            keys: Arc::new(keys),
            cursors: Arc::new(cursors),
            paths: Arc::new(PathCache::default()),
        };
        Ok(Self { state, key_source })
    }
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds the listen address with a message that names it on failure.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
