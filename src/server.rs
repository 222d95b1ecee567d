//! Building the gateway from its options and serving it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use crmgate_connector_sdk::{
    HostPattern, LocalLimiter, OutboundClient, OutboundPolicy, RateLimiter,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use url::Url;

use crate::api::oauth::OAuth;
use crate::api::{self, ApiKeys, AppState, ConnectionCache, CursorCodec};
use crate::config::{ConnectorSettings, Settings};
use crate::mapping::{MappingSet, PathCache};
use crate::registry;
use crate::store::{RedisLimiter, Sealer};

/// Environment variable holding the gateway's API key.
pub const API_KEY_ENV: &str = "CRMGATE_API_KEY";
/// Environment variable naming the database.
pub const DATABASE_URL_ENV: &str = "CRMGATE_DATABASE_URL";

/// Environment variable naming the Redis that shares rate budgets between processes.
pub const REDIS_URL_ENV: &str = "CRMGATE_REDIS_URL";

/// Environment variable holding the credential sealing keys (base64, newest first).
pub const ENCRYPTION_KEY_ENV: &str = "CRMGATE_ENCRYPTION_KEY";

/// Name of the shared value that proves the configured key is the database's.
const SEALING_CHECK_META: &str = "sealing_check";

/// What `crmgate serve` needs to start.
#[derive(Clone)]
pub struct ServeOptions {
    pub database_url: String,
    /// A folder of mapping tables for the built-in connectors; the built-in copies when `None`.
    pub mappings: Option<PathBuf>,
    /// Connector plugins, loaded beside the built-in connectors: plugin folders, or folders
    /// of them.
    pub plugins: Vec<PathBuf>,
    /// Start without a plugin that does not load instead of refusing to start.
    pub skip_broken_plugins: bool,
    pub api_key: Option<SecretString>,
    /// Redis for rate budgets shared by several processes; budgets are per process without.
    pub redis_url: Option<String>,
    /// Base64 keys for sealing credentials, newest first; a key file beside a SQLite database
    /// when `None`.
    pub encryption_key: Option<SecretString>,
    /// How long a request may take in all.
    pub request_deadline: Duration,
    /// Largest request body accepted.
    pub max_request_body_bytes: usize,
    /// How many tenants' opened connections are kept.
    pub connection_cache_tenants: usize,
    /// Per-connector overrides (base URL, timeout, rate budget), by service id.
    pub connectors: BTreeMap<String, ConnectorSettings>,
    /// Hosts every connector may call beyond its vendor's (`[outbound] allowed_hosts`).
    pub allowed_hosts: Vec<HostPattern>,
    /// Where browsers reach the gateway: the root of its authorize links and OAuth callback.
    pub public_url: Url,
}

impl ServeOptions {
    /// The options a loaded configuration describes; `mappings` and `plugins` are the folders
    /// already chosen.
    pub fn from_settings(
        settings: Settings,
        mappings: Option<PathBuf>,
        plugins: Vec<PathBuf>,
    ) -> anyhow::Result<Self> {
        let allowed_hosts = settings.outbound.patterns()?;
        let public_url = match settings.server.public_url {
            Some(url) => url,
            None => Url::parse(&format!("http://{}/", settings.server.listen))?,
        };
        Ok(Self {
            allowed_hosts,
            public_url,
            database_url: settings.database.url,
            mappings,
            plugins,
            skip_broken_plugins: settings.connectors.skip_broken,
            api_key: settings.auth.api_key,
            redis_url: settings.redis.url,
            encryption_key: settings.crypto.encryption_key,
            request_deadline: Duration::from_secs(settings.server.request_deadline_secs),
            max_request_body_bytes: settings.server.max_request_body_bytes,
            connection_cache_tenants: settings.server.connection_cache_tenants,
            connectors: settings.connectors.by_id,
        })
    }
}

/// The state of a started gateway and how its API key came about.
pub struct Gateway {
    pub state: AppState,
    pub key_source: api::auth::KeySource,
}

impl Gateway {
    /// Loads and checks every connector manifest and plugin, opens the store, loads and
    /// compiles every mapping table and establishes the keys.
    pub async fn build(options: ServeOptions) -> anyhow::Result<Self> {
        let sources = registry::Sources {
            built_in_dir: None,
            plugins: options.plugins.clone(),
            skip_broken: options.skip_broken_plugins,
        };
        let registry::Loaded {
            entries: connectors,
            skipped,
        } = registry::load(&sources).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("the connectors do not load:\n{}", lines.join("\n"))
        })?;
        let ids: Vec<&str> = connectors.iter().map(|e| e.connector.id()).collect();
        crate::config::check_connector_names(&options.connectors, &ids)?;
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
                    crate::config::redact_url(&options.database_url)
                )
            })?;
        let (keys, key_source) =
            ApiKeys::establish(options.api_key.as_ref(), store.as_ref()).await?;
        let cursors = CursorCodec::establish(store.as_ref()).await?;
        let sealer = open_sealer(&options, store.as_ref()).await?;
        let limiter: Arc<dyn RateLimiter> = match &options.redis_url {
            Some(url) => match RedisLimiter::connect(url).await {
                Ok(limiter) => {
                    tracing::info!("Rate budgets are shared through Redis.");
                    limiter
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Redis cannot be reached; rate budgets are per process until it can.");
                    Arc::new(LocalLimiter::default())
                }
            },
            None => Arc::new(LocalLimiter::default()),
        };
        // One outbound client per connector, so each has its own timeouts, caps and hosts.
        let operator_hosts: Arc<[HostPattern]> = options.allowed_hosts.clone().into();
        let mut clients = BTreeMap::new();
        let mut token_clients = BTreeMap::new();
        for entry in &connectors {
            let id = entry.connector.id();
            let overrides = options.connectors.get(id);
            let policy =
                OutboundPolicy::new(entry.connector.vendor_hosts(), operator_hosts.clone());
            if let Some(url) = overrides.and_then(|o| o.base_url.as_ref()) {
                policy.check(url).map_err(|refusal| {
                    anyhow::anyhow!(
                        "[connectors.{id}] base_url {}: {refusal}; add its host to [outbound] allowed_hosts",
                        crate::config::redact_url(url.as_str())
                    )
                })?;
            }
            let config = overrides
                .map(ConnectorSettings::http_config)
                .unwrap_or_default();
            clients.insert(id, OutboundClient::for_connector(config, id, policy));
            let manifest = entry.connector.manifest();
            if manifest.oauth2().is_some() {
                let token_policy =
                    OutboundPolicy::new(&manifest.token_hosts(), operator_hosts.clone());
                let api_policy =
                    OutboundPolicy::new(entry.connector.vendor_hosts(), operator_hosts.clone());
                token_clients.insert(
                    id,
                    (
                        OutboundClient::for_connector(config, id, token_policy),
                        api_policy,
                    ),
                );
            }
        }
        let oauth =
            OAuth::establish(store.as_ref(), options.public_url.clone(), token_clients).await?;
        let state = AppState {
            store,
            connectors: connectors.into(),
            skipped_plugins: skipped.into(),
            mappings: Arc::new(mappings),
            clients: Arc::new(clients),
            request_deadline: options.request_deadline,
            max_request_body_bytes: options.max_request_body_bytes,
            keys: Arc::new(keys),
            cursors: Arc::new(cursors),
            paths: Arc::new(PathCache::default()),
            sealer: Arc::new(sealer),
            limiter,
            overrides: Arc::new(options.connectors),
            connections: Arc::new(ConnectionCache::new(options.connection_cache_tenants)),
            oauth: Arc::new(oauth),
        };
        Ok(Self { state, key_source })
    }
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
/// How long requests in flight may run on after a shutdown signal before the process exits
/// anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves until `shutdown` resolves; then stops accepting and lets requests in flight finish,
/// for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let signalled = Arc::new(tokio::sync::Notify::new());
    let notify = signalled.clone();
    let server = axum::serve(listener, api::router(state)).with_graceful_shutdown(async move {
        shutdown.await;
        notify.notify_one();
    });
    tokio::select! {
        result = server => result,
        () = async {
            signalled.notified().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "Requests still running after the grace period are cut off.");
            Ok(())
        }
    }
}

/// Binds the listen address with a message that names it on failure.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// What a key rotation did.
pub struct Rotation {
    pub resealed: usize,
    pub key_id: String,
    /// Connections whose settings did not open with any configured key; left as they were.
    pub unreadable: Vec<String>,
    /// The key file that now holds only the new key, in key-file mode.
    pub key_file: Option<PathBuf>,
}

/// Re-seals every connection's settings under the newest key. With `CRMGATE_ENCRYPTION_KEY`
/// the caller lists the new key first and the old ones after it; with a key file a new key is
/// generated and written before anything is re-sealed, so a crash midway loses nothing.
pub async fn rotate_keys(
    database_url: &str,
    configured: Option<SecretString>,
) -> anyhow::Result<Rotation> {
    let store = crate::store::open(database_url).await?;
    let (ring, key_file) = match configured {
        Some(keys) => (Sealer::from_base64_list(&keys)?, None),
        None => {
            let file = sqlite_file(database_url)
                .map(|db| db.with_extension("key"))
                .filter(|f| f.exists())
                .with_context(|| {
                    format!("no key file beside the database; set {ENCRYPTION_KEY_ENV}")
                })?;
            let old = std::fs::read_to_string(&file)?;
            let new = Sealer::generate_key();
            let both = SecretString::from(format!("{},{}", new.expose_secret(), old.trim()));
            replace_private(&file, both.expose_secret())?;
            (Sealer::from_base64_list(&both)?, Some((file, new)))
        }
    };
    if let Some(check) = store.meta(SEALING_CHECK_META).await? {
        ring.verify_check_value(&check)
            .map_err(|e| anyhow::anyhow!("none of the configured keys is this database's ({e})"))?;
    }
    let mut resealed = 0;
    let mut unreadable = Vec::new();
    for (tenant, mut record) in store.all_connections().await? {
        match ring.open(&tenant, &record.service_id, &record.settings) {
            Ok(settings) => {
                record.settings = ring.seal(&tenant, &record.service_id, &settings);
                store.save_connection(&tenant, &record).await?;
                resealed += 1;
            }
            Err(e) => unreadable.push(format!(
                "{}/{}/{}: {e}",
                tenant.app_id, tenant.consumer_id, record.service_id
            )),
        }
    }
    for (app_id, mut client) in store.all_oauth_clients().await? {
        match api::oauth::reseal_client_secret(
            &ring,
            &app_id,
            &client.service_id,
            &client.client_secret,
        ) {
            Ok(sealed) => {
                client.client_secret = sealed;
                store.save_oauth_client(&app_id, &client).await?;
                resealed += 1;
            }
            Err(e) => unreadable.push(format!(
                "{app_id} OAuth client for {}: {e}",
                client.service_id
            )),
        }
    }
    store
        .set_meta(SEALING_CHECK_META, &ring.check_value())
        .await?;
    let key_file = match key_file {
        Some((file, new)) if unreadable.is_empty() => {
            replace_private(&file, new.expose_secret())?;
            Some(file)
        }
        Some((file, _)) => Some(file),
        None => None,
    };
    Ok(Rotation {
        resealed,
        key_id: ring.current_key_id().to_owned(),
        unreadable,
        key_file,
    })
}

/// Replaces a private file through a temporary file and a rename, so it is never half written.
fn replace_private(file: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let tmp = file.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot replace {}", file.display()))?;
    Ok(())
}

/// The file of a SQLite database URL, if it names one.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// The embedded default: a key file beside the SQLite database, created on first start with
/// owner-only permissions. An in-memory database gets a key that lives as long as it does.
/// The sealer of the configured keys, checked against the database's marker.
async fn open_sealer(
    options: &ServeOptions,
    store: &dyn crate::store::Store,
) -> anyhow::Result<Sealer> {
    let sealer = match &options.encryption_key {
        Some(keys) => {
            Sealer::from_base64_list(keys).context("CRMGATE_ENCRYPTION_KEY is unusable")?
        }
        None => key_file_sealer(&options.database_url)?,
    };
    let check = store
        .meta_or_insert(SEALING_CHECK_META, sealer.check_value())
        .await?;
    sealer.verify_check_value(&check).map_err(|e| {
        anyhow::anyhow!(
            "the encryption key does not open this database's credentials ({e}); start with the key the database was created with, or list it after a new one to rotate (see `crmgate keys rotate --help`)"
        )
    })?;
    Ok(sealer)
}

/// An application's OAuth client as `crmgate apps oauth set` gives it.
pub struct OAuthClientInput {
    pub app_id: String,
    pub service_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<Url>,
    pub authorization_url: Option<Url>,
    pub token_url: Option<Url>,
    /// Whether authorize links must carry a `nonce`, so that every connection made through
    /// them waits for the application's confirmation.
    pub require_nonce: bool,
}

/// Registers (or replaces) an application's OAuth client for a connector, after checking that
/// the connector has an OAuth flow, that overridden URLs are within its hosts or the
/// operator's, and that the redirect URIs are http(s) URLs without fragments. The secret is
/// sealed like connection settings.
pub async fn set_oauth_client(
    options: &ServeOptions,
    input: OAuthClientInput,
) -> anyhow::Result<()> {
    let sources = registry::Sources {
        built_in_dir: None,
        plugins: options.plugins.clone(),
        skip_broken: true,
    };
    let loaded = registry::load(&sources).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the connectors do not load:\n{}", lines.join("\n"))
    })?;
    let service = input.service_id.as_str();
    let entry = loaded
        .entries
        .iter()
        .find(|e| e.connector.id() == service)
        .with_context(|| format!("no connector {service}"))?;
    let manifest = entry.connector.manifest();
    let oauth = manifest
        .oauth2()
        .with_context(|| format!("the {service} connector has no OAuth 2.0 flow"))?;
    // The token URL must be one the token calls may reach; the authorization URL, which only
    // browsers open, may also be on the default authorization URL's host.
    let token_hosts = manifest.token_hosts();
    let mut browser_hosts = token_hosts.clone();
    if let Some(host) = Url::parse(&oauth.authorization_url)
        .ok()
        .and_then(|u| HostPattern::parse(u.host_str()?).ok())
    {
        browser_hosts.push(host);
    }
    let operator: Arc<[HostPattern]> = options.allowed_hosts.clone().into();
    for (flag, url, hosts) in [
        (
            "--authorization-url",
            &input.authorization_url,
            &browser_hosts,
        ),
        ("--token-url", &input.token_url, &token_hosts),
    ] {
        if let Some(url) = url {
            OutboundPolicy::new(hosts, operator.clone())
                .check(url)
                .map_err(|refusal| {
                    anyhow::anyhow!(
                        "{flag} {url}: {refusal}; add its host to [outbound] allowed_hosts"
                    )
                })?;
        }
    }
    if input.redirect_uris.is_empty() {
        anyhow::bail!(
            "give at least one --redirect-uri: where end customers return after authorizing"
        );
    }
    for uri in &input.redirect_uris {
        if !matches!(uri.scheme(), "https" | "http")
            || uri.host_str().is_none()
            || uri.fragment().is_some()
        {
            anyhow::bail!("--redirect-uri {uri}: an http(s) URL with a host and no fragment");
        }
    }
    let store = crate::store::open(&options.database_url).await?;
    let sealer = open_sealer(options, store.as_ref()).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let created_at = store
        .oauth_client(&input.app_id, service)
        .await?
        .map_or(now, |c| c.created_at);
    let record = crate::store::OAuthClientRecord {
        service_id: service.to_owned(),
        client_id: input.client_id,
        client_secret: api::oauth::seal_client_secret(
            &sealer,
            &input.app_id,
            service,
            input.client_secret,
        ),
        scopes: (!input.scopes.is_empty()).then(|| input.scopes.join(" ")),
        authorization_url: input.authorization_url.map(String::from),
        token_url: input.token_url.map(String::from),
        redirect_uris: input
            .redirect_uris
            .iter()
            .map(Url::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        require_nonce: input.require_nonce,
        created_at,
        updated_at: now,
    };
    store.save_oauth_client(&input.app_id, &record).await?;
    Ok(())
}

fn key_file_sealer(database_url: &str) -> anyhow::Result<Sealer> {
    let Some(db) = sqlite_file(database_url) else {
        if database_url.starts_with("sqlite:") {
            return Ok(Sealer::from_base64_list(&Sealer::generate_key())?);
        }
        anyhow::bail!("set {ENCRYPTION_KEY_ENV} to seal credentials in this database");
    };
    let file = db.with_extension("key");
    if !file.exists() {
        let key = Sealer::generate_key();
        write_private(&file, key.expose_secret())
            .with_context(|| format!("cannot write the key file {}", file.display()))?;
        tracing::warn!(file = %file.display(), "Generated the key that seals stored credentials; back it up with the database, which is unreadable without it.");
    }
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the key file {}", file.display()))?;
    Sealer::from_base64_list(&SecretString::from(text.trim().to_owned()))
        .with_context(|| format!("the key file {} is unusable", file.display()))
}

fn write_private(file: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::store::{ConnectionRecord, Tenant};

    fn options(url: &str, key: Option<&SecretString>) -> ServeOptions {
        ServeOptions {
            database_url: url.to_owned(),
            mappings: None,
            plugins: Vec::new(),
            skip_broken_plugins: false,
            api_key: Some(SecretString::from("k")),
            redis_url: None,
            encryption_key: key.cloned(),
            request_deadline: Duration::from_secs(30),
            max_request_body_bytes: 1024 * 1024,
            connection_cache_tenants: 10_000,
            connectors: BTreeMap::new(),
            allowed_hosts: Vec::new(),
            public_url: Url::parse("http://127.0.0.1:8080/").expect("a URL"),
        }
    }

    fn tenant() -> Tenant {
        Tenant {
            app_id: "app".into(),
            consumer_id: "c1".into(),
        }
    }

    async fn save_connection(state: &AppState) {
        let settings = BTreeMap::from([("api_key".to_owned(), SecretString::from("tok-123"))]);
        let record = ConnectionRecord {
            service_id: "svc".into(),
            enabled: true,
            settings: state.sealer.seal(&tenant(), "svc", &settings),
            created_at: 1,
            updated_at: 1,
        };
        state
            .store
            .save_connection(&tenant(), &record)
            .await
            .unwrap();
    }

    async fn opened_token(state: &AppState) -> String {
        let record = state
            .store
            .connection(&tenant(), "svc")
            .await
            .unwrap()
            .unwrap();
        let settings = state.open_settings(&tenant(), &record).unwrap();
        settings["api_key"].expose_secret().to_owned()
    }

    #[tokio::test]
    async fn a_database_that_does_not_open_is_named_without_its_password() {
        for url in [
            "postgres://crm:hunter2@127.0.0.1:1/x",
            "postgres://crm:hunter2@127.0.0.1:notaport/x",
            "postgres://127.0.0.1:1/x?password=hunter2",
        ] {
            let key = SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
            let err = Gateway::build(options(url, Some(&key)))
                .await
                .err()
                .expect("the start fails");
            let text = format!("{err:#}");
            assert!(!text.contains("hunter2"), "{url}: {text}");
            assert!(text.contains("cannot open the database"), "{text}");
        }
    }

    #[tokio::test]
    async fn the_key_file_is_private_and_rotation_reseals_everything() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let key_file = dir.path().join("g.key");
        let gateway = Gateway::build(options(&url, None)).await.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        save_connection(&gateway.state).await;
        let old_key = std::fs::read_to_string(&key_file).unwrap();

        let rotation = rotate_keys(&url, None).await.unwrap();
        assert_eq!(rotation.resealed, 1);
        assert!(rotation.unreadable.is_empty());
        let new_key = std::fs::read_to_string(&key_file).unwrap();
        assert_ne!(old_key, new_key);
        assert!(!new_key.contains(','), "only the new key remains");

        let after = Gateway::build(options(&url, None)).await.unwrap();
        assert_eq!(opened_token(&after.state).await, "tok-123");
        let stale = Gateway::build(options(&url, Some(&SecretString::from(old_key)))).await;
        assert!(stale.err().unwrap().to_string().contains("does not open"));
    }

    #[tokio::test]
    async fn a_key_list_rotates_without_a_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let old = Sealer::generate_key();
        let gateway = Gateway::build(options(&url, Some(&old))).await.unwrap();
        save_connection(&gateway.state).await;
        let new = Sealer::generate_key();
        let both = SecretString::from(format!("{},{}", new.expose_secret(), old.expose_secret()));
        let rotation = rotate_keys(&url, Some(both.clone())).await.unwrap();
        assert_eq!(rotation.resealed, 1);
        assert!(rotation.key_file.is_none());
        let after = Gateway::build(options(&url, Some(&new))).await.unwrap();
        assert_eq!(opened_token(&after.state).await, "tok-123");
        assert!(
            !dir.path().join("g.key").exists(),
            "no key file when keys come from the environment"
        );
    }
}
