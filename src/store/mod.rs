//! Tenants' connections and the gateway's shared values. SQLite is the embedded default; every
//! query is scoped by application and consumer, so no code path loads a connection by service
//! alone.

mod budget;
mod seal;
mod sql;

use async_trait::async_trait;

pub use budget::RedisLimiter;
pub use seal::{SealError, Sealer};
pub use sql::SqlStore;

use crate::error::Result;

/// Whose data a request touches: the application (from `x-apideck-app-id`) and its consumer
/// (from `x-apideck-consumer-id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub app_id: String,
    pub consumer_id: String,
}

impl Tenant {
    /// A digest of the tenant and further parts, each length-prefixed so that no two
    /// different lists of parts collide (`"ab","c"` ≠ `"a","bc"`). Used wherever a tenant must
    /// be named without spelling out its ids (cursor fingerprints, budget keys).
    pub fn digest(&self, parts: &[&str]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [self.app_id.as_str(), self.consumer_id.as_str()]
            .iter()
            .chain(parts)
        {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }
}

/// A stored connection: a consumer's settings for one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    pub service_id: String,
    pub enabled: bool,
    /// The settings (credentials among them), sealed by [`Sealer`]; the store never sees them
    /// in the clear.
    pub settings: String,
    /// Epoch milliseconds, as Vault reports them.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Which mapping layer a custom mapping belongs to: the application's (every consumer) or one
/// consumer's, for one connector and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingScope {
    pub app_id: String,
    /// `None` for the application layer.
    pub consumer_id: Option<String>,
    pub service_id: String,
    pub resource: String,
}

/// A stored custom mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomMappingRecord {
    pub key: String,
    /// The JSONPath into the vendor record.
    pub value: String,
    /// `None` for the application layer.
    pub consumer_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An application: the owner of API keys, consumers and their connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// An application's API key, of which only a SHA-256 hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The public part of the key, used to find it.
    pub id: String,
    pub app_id: String,
    pub key_sha256: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A Vault consumer: one customer of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub consumer_id: String,
    /// Vault's `metadata` object, as JSON text.
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An application's OAuth 2.0 client at one vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientRecord {
    pub service_id: String,
    pub client_id: String,
    /// Sealed by [`Sealer`] for the application and the service.
    pub client_secret: String,
    /// Space-separated; `None` asks for the connector's default scopes.
    pub scopes: Option<String>,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    /// Where `/vault/authorize` may send the end customer back to, one per line; the first is
    /// the default.
    pub redirect_uris: String,
    /// Whether authorize links must carry a `nonce` (two-step confirmation) to start a flow.
    pub require_nonce: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An authorization in progress, from `/vault/authorize` to `/vault/callback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthFlowRecord {
    /// The `state` sent to the vendor is this id, signed.
    pub id: String,
    pub tenant: Tenant,
    pub service_id: String,
    pub redirect_uri: String,
    /// The PKCE verifier, sealed; empty without PKCE.
    pub verifier: String,
    /// The application's `nonce`, when it asked for a confirmation step.
    pub nonce: Option<String>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// What the store knows of an idempotency key when a request claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or its earlier use expired): this request owns it.
    Claimed,
    /// An earlier request with the same body finished with this answer.
    Done { status: u16, body: Vec<u8> },
    /// An earlier request with the same body is still running.
    InFlight,
    /// The key was used with another request body.
    Mismatch,
}

/// The persistence crmgate needs. One implementation per database.
#[async_trait]
pub trait Store: Send + Sync {
    /// A shared value, creating it with `init` if no process has yet. Several processes starting
    /// together agree on one value.
    async fn meta_or_insert(&self, key: &str, init: String) -> Result<String>;

    /// A shared value, if set.
    async fn meta(&self, key: &str) -> Result<Option<String>>;

    /// Sets a shared value, replacing any.
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;

    /// Every connection of every tenant; for maintenance (key rotation), never for requests.
    async fn all_connections(&self) -> Result<Vec<(Tenant, ConnectionRecord)>>;

    async fn connection(
        &self,
        tenant: &Tenant,
        service_id: &str,
    ) -> Result<Option<ConnectionRecord>>;

    /// Every connection of the tenant, ordered by service id.
    async fn connections(&self, tenant: &Tenant) -> Result<Vec<ConnectionRecord>>;

    /// Creates or replaces the tenant's connection to `record.service_id`.
    async fn save_connection(&self, tenant: &Tenant, record: &ConnectionRecord) -> Result<()>;

    /// Deletes the connection; answers whether one existed.
    async fn delete_connection(&self, tenant: &Tenant, service_id: &str) -> Result<bool>;

    /// A count of the changes to what a tenant's CRM calls are made with: its connections and
    /// the custom mappings that apply to it (its own and its application's). It moves on every
    /// such change, in the change's transaction, from any process, and never returns to an
    /// earlier value; so one indexed read tells whether a connection opened earlier is current.
    async fn tenant_version(&self, tenant: &Tenant) -> Result<i64>;

    /// The custom mappings that apply to a scope: the application layer's first, then (when the
    /// scope names a consumer) the consumer's, each ordered by key.
    async fn custom_mappings(&self, scope: &MappingScope) -> Result<Vec<CustomMappingRecord>>;

    /// Creates or replaces one mapping in the scope's layer; answers whether it existed.
    async fn save_custom_mapping(
        &self,
        scope: &MappingScope,
        key: &str,
        value: &str,
        now: i64,
    ) -> Result<bool>;

    /// Deletes one mapping from the scope's layer; answers whether it existed.
    async fn delete_custom_mapping(&self, scope: &MappingScope, key: &str) -> Result<bool>;

    async fn create_application(&self, app: &Application) -> Result<()>;

    async fn applications(&self) -> Result<Vec<Application>>;

    async fn application(&self, id: &str) -> Result<Option<Application>>;

    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<()>;

    /// A key by its public id, revoked or not.
    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>>;

    async fn api_keys(&self, app_id: &str) -> Result<Vec<ApiKeyRecord>>;

    /// Revokes a key; answers whether an unrevoked key was found.
    async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool>;

    async fn consumers(&self, app_id: &str) -> Result<Vec<ConsumerRecord>>;

    async fn consumer(&self, app_id: &str, consumer_id: &str) -> Result<Option<ConsumerRecord>>;

    /// Creates or replaces a consumer's metadata (keeping its creation time).
    async fn save_consumer(&self, app_id: &str, consumer: &ConsumerRecord) -> Result<()>;

    /// Deletes a consumer with its connections and custom mappings, in one transaction;
    /// answers whether it existed.
    async fn delete_consumer(&self, app_id: &str, consumer_id: &str) -> Result<bool>;

    /// Creates or replaces an application's OAuth client for a service.
    async fn save_oauth_client(&self, app_id: &str, client: &OAuthClientRecord) -> Result<()>;

    async fn oauth_client(
        &self,
        app_id: &str,
        service_id: &str,
    ) -> Result<Option<OAuthClientRecord>>;

    /// Every OAuth client of an application, ordered by service id.
    async fn oauth_clients(&self, app_id: &str) -> Result<Vec<OAuthClientRecord>>;

    /// Every application's OAuth clients; for maintenance (key rotation), never for requests.
    async fn all_oauth_clients(&self) -> Result<Vec<(String, OAuthClientRecord)>>;

    /// Deletes an application's OAuth client; answers whether one existed.
    async fn delete_oauth_client(&self, app_id: &str, service_id: &str) -> Result<bool>;

    /// Records a flow begun at `/vault/authorize`, and drops flows that expired before `now`.
    async fn create_oauth_flow(&self, flow: &OAuthFlowRecord, now: i64) -> Result<()>;

    /// Takes a flow for its callback: it is deleted in the same statement, so of two callbacks
    /// with one state only one gets it; an expired flow is not returned.
    async fn take_oauth_flow(&self, id: &str, now: i64) -> Result<Option<OAuthFlowRecord>>;

    /// Holds the right to refresh one connection's tokens until the guard is released or
    /// dropped: on PostgreSQL a transaction-scoped advisory lock, so that of several processes
    /// only one refreshes at a time; on SQLite, which one process serves, nothing beyond the
    /// caller's own in-process lock.
    async fn refresh_lock(&self, tenant: &Tenant, service_id: &str) -> Result<RefreshGuard>;

    /// Claims an idempotency key for a request whose body hashes to `request_hash`; a use
    /// older than `expired_before` (epoch ms) no longer counts.
    async fn claim_idempotency(
        &self,
        tenant: &Tenant,
        key: &str,
        request_hash: &str,
        now: i64,
        expired_before: i64,
    ) -> Result<IdempotencyClaim>;

    /// Records the answer of the request that claimed the key.
    async fn complete_idempotency(
        &self,
        tenant: &Tenant,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()>;

    /// Gives a claimed key up (the request failed before anything reached the vendor), so the
    /// client may try again with it.
    async fn release_idempotency(&self, tenant: &Tenant, key: &str) -> Result<()>;

    /// Whether the database answers and holds crmgate's tables.
    async fn ping(&self) -> Result<()>;
}

/// The cross-process part of a refresh lock (see [`Store::refresh_lock`]).
pub enum RefreshGuard {
    /// Nothing to hold beyond the process's own lock.
    Local,
    /// The transaction holding a `pg_advisory_xact_lock`; ending it releases the lock.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl RefreshGuard {
    /// Releases the lock now rather than when the guard is dropped.
    pub async fn release(self) -> Result<()> {
        if let Self::Postgres(tx) = self {
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Opens the store a database URL names (`sqlite:` or `postgres:`), applying its migrations.
pub async fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqlStore::open_sqlite(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(SqlStore::open_postgres(url).await?))
    } else {
        anyhow::bail!("unsupported database URL: use sqlite://PATH or postgres://...")
    }
}

#[cfg(test)]
mod tests;
