//! The store on SQLite (embedded default) and PostgreSQL (scale-out), from one set of queries.
//!
//! Every query is written once with `$n` placeholders, which both databases accept, and the
//! [`Store`] implementation is instantiated for each by `impl_store!`, so the two can never
//! drift apart. Migrations differ only in column types.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Pool, Postgres, Row, Sqlite};

use super::{
    ApiKeyRecord, Application, ConnectionRecord, ConsumerRecord, CustomMappingRecord,
    IdempotencyClaim, MappingScope, OAuthClientRecord, OAuthFlowRecord, RefreshGuard, Store,
    Tenant,
};
use crate::error::{Error, Result};

/// A store on one database.
pub struct SqlStore<DB: sqlx::Database> {
    pool: Pool<DB>,
}

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) a SQLite file in WAL mode and applies its migrations.
    pub async fn open_sqlite(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("src/store/migrations/sqlite")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }
}

impl SqlStore<Postgres> {
    /// Connects to PostgreSQL and applies its migrations. sqlx holds an advisory lock while
    /// migrating, so processes starting together apply each migration once.
    pub async fn open_postgres(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        Self::open_postgres_with(options).await
    }

    /// As [`Self::open_postgres`], with options built by the caller (tests use a schema each).
    pub async fn open_postgres_with(options: PgConnectOptions) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("src/store/migrations/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }
}

impl SqlStore<Sqlite> {
    /// One process serves a SQLite database; its in-process lock is all there is to hold.
    async fn refresh_guard(&self, _: &Tenant, _: &str) -> Result<RefreshGuard> {
        Ok(RefreshGuard::Local)
    }
}

impl SqlStore<Postgres> {
    /// A transaction-scoped advisory lock keyed by a digest of the connection, so no tenant id
    /// is spelled out and the lock goes with the transaction however it ends.
    async fn refresh_guard(&self, tenant: &Tenant, service_id: &str) -> Result<RefreshGuard> {
        let digest = tenant.digest(&["oauth-refresh", service_id]);
        let key = i64::from_be_bytes(digest[..8].try_into().expect("a digest has 8 bytes"));
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        Ok(RefreshGuard::Postgres(tx))
    }
}

const CONNECTION_COLUMNS: &str = "service_id, enabled, settings, created_at, updated_at";
const KEY_COLUMNS: &str = "id, app_id, key_sha256, created_at, revoked_at";
const CONSUMER_COLUMNS: &str = "consumer_id, metadata, created_at, updated_at";
const OAUTH_CLIENT_COLUMNS: &str = "service_id, client_id, client_secret, scopes, authorization_url, token_url, redirect_uris, require_nonce, created_at, updated_at";

macro_rules! impl_store {
    ($db:ty, $row:ty) => {
        impl SqlStore<$db> {
            fn connection_record(row: &$row) -> Result<ConnectionRecord> {
                Ok(ConnectionRecord {
                    service_id: row.try_get("service_id")?,
                    enabled: row.try_get("enabled")?,
                    settings: row.try_get("settings")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn key_record(row: &$row) -> Result<ApiKeyRecord> {
                Ok(ApiKeyRecord {
                    id: row.try_get("id")?,
                    app_id: row.try_get("app_id")?,
                    key_sha256: row.try_get("key_sha256")?,
                    created_at: row.try_get("created_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            }

            fn consumer_record(row: &$row) -> Result<ConsumerRecord> {
                Ok(ConsumerRecord {
                    consumer_id: row.try_get("consumer_id")?,
                    metadata: row.try_get("metadata")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            /// Counts one change to a tenant's connections or custom mappings, in the
            /// transaction of the change, so a reader that sees the change also sees the count
            /// move.
            async fn bump_version(
                tx: &mut sqlx::Transaction<'_, $db>,
                app_id: &str,
                consumer_id: &str,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO tenant_versions (app_id, consumer_id, version) VALUES ($1, $2, 1)
                     ON CONFLICT (app_id, consumer_id) DO UPDATE SET version = tenant_versions.version + 1",
                )
                .bind(app_id)
                .bind(consumer_id)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            fn oauth_client_record(row: &$row) -> Result<OAuthClientRecord> {
                Ok(OAuthClientRecord {
                    service_id: row.try_get("service_id")?,
                    client_id: row.try_get("client_id")?,
                    client_secret: row.try_get("client_secret")?,
                    scopes: row.try_get("scopes")?,
                    authorization_url: row.try_get("authorization_url")?,
                    token_url: row.try_get("token_url")?,
                    redirect_uris: row.try_get("redirect_uris")?,
                    require_nonce: row.try_get("require_nonce")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn application_record(row: &$row) -> Result<Application> {
                Ok(Application {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                })
            }
        }

        #[async_trait]
        impl Store for SqlStore<$db> {
            async fn meta_or_insert(&self, key: &str, init: String) -> Result<String> {
                sqlx::query("INSERT INTO gateway_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                    .bind(key)
                    .bind(&init)
                    .execute(&self.pool)
                    .await?;
                self.meta(key)
                    .await?
                    .ok_or_else(|| Error::internal(format_args!("meta value {key} vanished")))
            }

            async fn meta(&self, key: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM gateway_meta WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO gateway_meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn all_connections(&self) -> Result<Vec<(Tenant, ConnectionRecord)>> {
                let sql = format!(
                    "SELECT app_id, consumer_id, {CONNECTION_COLUMNS} FROM connections
                     ORDER BY app_id, consumer_id, service_id"
                );
                sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|row| {
                        let tenant = Tenant {
                            app_id: row.try_get("app_id")?,
                            consumer_id: row.try_get("consumer_id")?,
                        };
                        Ok((tenant, Self::connection_record(row)?))
                    })
                    .collect()
            }

            async fn connection(&self, tenant: &Tenant, service_id: &str) -> Result<Option<ConnectionRecord>> {
                let sql = format!(
                    "SELECT {CONNECTION_COLUMNS} FROM connections
                     WHERE app_id = $1 AND consumer_id = $2 AND service_id = $3"
                );
                sqlx::query(&sql)
                    .bind(&tenant.app_id)
                    .bind(&tenant.consumer_id)
                    .bind(service_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(Self::connection_record)
                    .transpose()
            }

            async fn connections(&self, tenant: &Tenant) -> Result<Vec<ConnectionRecord>> {
                let sql = format!(
                    "SELECT {CONNECTION_COLUMNS} FROM connections
                     WHERE app_id = $1 AND consumer_id = $2 ORDER BY service_id"
                );
                sqlx::query(&sql)
                    .bind(&tenant.app_id)
                    .bind(&tenant.consumer_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(Self::connection_record)
                    .collect()
            }

            async fn save_connection(&self, tenant: &Tenant, record: &ConnectionRecord) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO consumers (app_id, consumer_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $3) ON CONFLICT (app_id, consumer_id) DO NOTHING",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .bind(record.updated_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO connections (app_id, consumer_id, service_id, enabled, settings, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (app_id, consumer_id, service_id)
                     DO UPDATE SET enabled = excluded.enabled, settings = excluded.settings,
                                   updated_at = excluded.updated_at",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .bind(&record.service_id)
                .bind(record.enabled)
                .bind(&record.settings)
                .bind(record.created_at)
                .bind(record.updated_at)
                .execute(&mut *tx)
                .await?;
                Self::bump_version(&mut tx, &tenant.app_id, &tenant.consumer_id).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_connection(&self, tenant: &Tenant, service_id: &str) -> Result<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "DELETE FROM connections WHERE app_id = $1 AND consumer_id = $2 AND service_id = $3",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .bind(service_id)
                .execute(&mut *tx)
                .await?;
                Self::bump_version(&mut tx, &tenant.app_id, &tenant.consumer_id).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn tenant_version(&self, tenant: &Tenant) -> Result<i64> {
                let version: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(version) AS BIGINT) FROM tenant_versions
                     WHERE app_id = $1 AND consumer_id IN ('', $2)",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .fetch_one(&self.pool)
                .await?;
                Ok(version.unwrap_or_default())
            }

            async fn custom_mappings(&self, scope: &MappingScope) -> Result<Vec<CustomMappingRecord>> {
                let consumer = scope.consumer_id.as_deref().unwrap_or_default();
                let rows = sqlx::query(
                    "SELECT key, value, consumer_id, created_at, updated_at FROM custom_mappings
                     WHERE app_id = $1 AND service_id = $2 AND resource = $3 AND consumer_id IN ('', $4)
                     ORDER BY consumer_id <> '', key",
                )
                .bind(&scope.app_id)
                .bind(&scope.service_id)
                .bind(&scope.resource)
                .bind(consumer)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let consumer_id: String = row.try_get("consumer_id")?;
                        Ok(CustomMappingRecord {
                            key: row.try_get("key")?,
                            value: row.try_get("value")?,
                            consumer_id: Some(consumer_id).filter(|c| !c.is_empty()),
                            created_at: row.try_get("created_at")?,
                            updated_at: row.try_get("updated_at")?,
                        })
                    })
                    .collect()
            }

            async fn save_custom_mapping(&self, scope: &MappingScope, key: &str, value: &str, now: i64) -> Result<bool> {
                let consumer = scope.consumer_id.as_deref().unwrap_or_default();
                let mut tx = self.pool.begin().await?;
                let existed: Option<i64> = sqlx::query_scalar(
                    "SELECT created_at FROM custom_mappings
                     WHERE app_id = $1 AND consumer_id = $2 AND service_id = $3 AND resource = $4 AND key = $5",
                )
                .bind(&scope.app_id)
                .bind(consumer)
                .bind(&scope.service_id)
                .bind(&scope.resource)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO custom_mappings (app_id, consumer_id, service_id, resource, key, value, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                     ON CONFLICT (app_id, consumer_id, service_id, resource, key)
                     DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(&scope.app_id)
                .bind(consumer)
                .bind(&scope.service_id)
                .bind(&scope.resource)
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                Self::bump_version(&mut tx, &scope.app_id, consumer).await?;
                tx.commit().await?;
                Ok(existed.is_some())
            }

            async fn delete_custom_mapping(&self, scope: &MappingScope, key: &str) -> Result<bool> {
                let consumer = scope.consumer_id.as_deref().unwrap_or_default();
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "DELETE FROM custom_mappings
                     WHERE app_id = $1 AND consumer_id = $2 AND service_id = $3 AND resource = $4 AND key = $5",
                )
                .bind(&scope.app_id)
                .bind(consumer)
                .bind(&scope.service_id)
                .bind(&scope.resource)
                .bind(key)
                .execute(&mut *tx)
                .await?;
                Self::bump_version(&mut tx, &scope.app_id, consumer).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_application(&self, app: &Application) -> Result<()> {
                sqlx::query("INSERT INTO applications (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(&app.id)
                    .bind(&app.name)
                    .bind(app.created_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn applications(&self) -> Result<Vec<Application>> {
                sqlx::query("SELECT id, name, created_at FROM applications ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(Self::application_record)
                    .collect()
            }

            async fn application(&self, id: &str) -> Result<Option<Application>> {
                sqlx::query("SELECT id, name, created_at FROM applications WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(Self::application_record)
                    .transpose()
            }

            async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO api_keys (id, app_id, key_sha256, created_at, revoked_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&key.id)
                .bind(&key.app_id)
                .bind(&key.key_sha256)
                .bind(key.created_at)
                .bind(key.revoked_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
                sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(Self::key_record)
                    .transpose()
            }

            async fn api_keys(&self, app_id: &str) -> Result<Vec<ApiKeyRecord>> {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE app_id = $1 ORDER BY created_at, id");
                sqlx::query(&sql)
                    .bind(app_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(Self::key_record)
                    .collect()
            }

            async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn consumers(&self, app_id: &str) -> Result<Vec<ConsumerRecord>> {
                let sql = format!("SELECT {CONSUMER_COLUMNS} FROM consumers WHERE app_id = $1 ORDER BY consumer_id");
                sqlx::query(&sql)
                    .bind(app_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(Self::consumer_record)
                    .collect()
            }

            async fn consumer(&self, app_id: &str, consumer_id: &str) -> Result<Option<ConsumerRecord>> {
                let sql = format!("SELECT {CONSUMER_COLUMNS} FROM consumers WHERE app_id = $1 AND consumer_id = $2");
                sqlx::query(&sql)
                    .bind(app_id)
                    .bind(consumer_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(Self::consumer_record)
                    .transpose()
            }

            async fn save_consumer(&self, app_id: &str, consumer: &ConsumerRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO consumers (app_id, consumer_id, metadata, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (app_id, consumer_id)
                     DO UPDATE SET metadata = excluded.metadata, updated_at = excluded.updated_at",
                )
                .bind(app_id)
                .bind(&consumer.consumer_id)
                .bind(&consumer.metadata)
                .bind(consumer.created_at)
                .bind(consumer.updated_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn delete_consumer(&self, app_id: &str, consumer_id: &str) -> Result<bool> {
                let mut tx = self.pool.begin().await?;
                for table in ["connections", "custom_mappings"] {
                    let sql = format!("DELETE FROM {table} WHERE app_id = $1 AND consumer_id = $2");
                    sqlx::query(&sql)
                        .bind(app_id)
                        .bind(consumer_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let done = sqlx::query("DELETE FROM consumers WHERE app_id = $1 AND consumer_id = $2")
                    .bind(app_id)
                    .bind(consumer_id)
                    .execute(&mut *tx)
                    .await?;
                Self::bump_version(&mut tx, app_id, consumer_id).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn claim_idempotency(
                &self,
                tenant: &Tenant,
                key: &str,
                request_hash: &str,
                now: i64,
                expired_before: i64,
            ) -> Result<IdempotencyClaim> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "DELETE FROM idempotency_keys
                     WHERE app_id = $1 AND consumer_id = $2 AND key = $3 AND created_at < $4",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .bind(key)
                .bind(expired_before)
                .execute(&mut *tx)
                .await?;
                let inserted = sqlx::query(
                    "INSERT INTO idempotency_keys (app_id, consumer_id, key, request_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, consumer_id, key) DO NOTHING",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .bind(key)
                .bind(request_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                let claim = if inserted {
                    IdempotencyClaim::Claimed
                } else {
                    let row = sqlx::query(
                        "SELECT request_hash, status, body FROM idempotency_keys
                         WHERE app_id = $1 AND consumer_id = $2 AND key = $3",
                    )
                    .bind(&tenant.app_id)
                    .bind(&tenant.consumer_id)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                    let hash: String = row.try_get("request_hash")?;
                    let status: Option<i32> = row.try_get("status")?;
                    match (hash == request_hash, status) {
                        (false, _) => IdempotencyClaim::Mismatch,
                        (true, None) => IdempotencyClaim::InFlight,
                        (true, Some(status)) => IdempotencyClaim::Done {
                            status: u16::try_from(status).map_err(Error::internal)?,
                            body: row.try_get("body")?,
                        },
                    }
                };
                tx.commit().await?;
                Ok(claim)
            }

            async fn complete_idempotency(&self, tenant: &Tenant, key: &str, status: u16, body: &[u8]) -> Result<()> {
                sqlx::query(
                    "UPDATE idempotency_keys SET status = $4, body = $5
                     WHERE app_id = $1 AND consumer_id = $2 AND key = $3",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .bind(key)
                .bind(i32::from(status))
                .bind(body)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn release_idempotency(&self, tenant: &Tenant, key: &str) -> Result<()> {
                sqlx::query(
                    "DELETE FROM idempotency_keys
                     WHERE app_id = $1 AND consumer_id = $2 AND key = $3 AND status IS NULL",
                )
                .bind(&tenant.app_id)
                .bind(&tenant.consumer_id)
                .bind(key)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn save_oauth_client(&self, app_id: &str, c: &OAuthClientRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO oauth_clients (app_id, service_id, client_id, client_secret, scopes,
                         authorization_url, token_url, redirect_uris, require_nonce, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (app_id, service_id) DO UPDATE SET client_id = excluded.client_id,
                         client_secret = excluded.client_secret, scopes = excluded.scopes,
                         authorization_url = excluded.authorization_url, token_url = excluded.token_url,
                         redirect_uris = excluded.redirect_uris, require_nonce = excluded.require_nonce,
                         updated_at = excluded.updated_at",
                )
                .bind(app_id)
                .bind(&c.service_id)
                .bind(&c.client_id)
                .bind(&c.client_secret)
                .bind(&c.scopes)
                .bind(&c.authorization_url)
                .bind(&c.token_url)
                .bind(&c.redirect_uris)
                .bind(c.require_nonce)
                .bind(c.created_at)
                .bind(c.updated_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn oauth_client(&self, app_id: &str, service_id: &str) -> Result<Option<OAuthClientRecord>> {
                let sql = format!("SELECT {OAUTH_CLIENT_COLUMNS} FROM oauth_clients WHERE app_id = $1 AND service_id = $2");
                sqlx::query(&sql)
                    .bind(app_id)
                    .bind(service_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(Self::oauth_client_record)
                    .transpose()
            }

            async fn oauth_clients(&self, app_id: &str) -> Result<Vec<OAuthClientRecord>> {
                let sql = format!("SELECT {OAUTH_CLIENT_COLUMNS} FROM oauth_clients WHERE app_id = $1 ORDER BY service_id");
                sqlx::query(&sql)
                    .bind(app_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(Self::oauth_client_record)
                    .collect()
            }

            async fn all_oauth_clients(&self) -> Result<Vec<(String, OAuthClientRecord)>> {
                let sql = format!("SELECT app_id, {OAUTH_CLIENT_COLUMNS} FROM oauth_clients ORDER BY app_id, service_id");
                sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|row| Ok((row.try_get("app_id")?, Self::oauth_client_record(row)?)))
                    .collect()
            }

            async fn delete_oauth_client(&self, app_id: &str, service_id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM oauth_clients WHERE app_id = $1 AND service_id = $2")
                    .bind(app_id)
                    .bind(service_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_oauth_flow(&self, flow: &OAuthFlowRecord, now: i64) -> Result<()> {
                sqlx::query("DELETE FROM oauth_flows WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO oauth_flows (id, app_id, consumer_id, service_id, redirect_uri, verifier, expires_at, nonce)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&flow.id)
                .bind(&flow.tenant.app_id)
                .bind(&flow.tenant.consumer_id)
                .bind(&flow.service_id)
                .bind(&flow.redirect_uri)
                .bind(&flow.verifier)
                .bind(flow.expires_at)
                .bind(&flow.nonce)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn take_oauth_flow(&self, id: &str, now: i64) -> Result<Option<OAuthFlowRecord>> {
                let row = sqlx::query(
                    "DELETE FROM oauth_flows WHERE id = $1
                     RETURNING id, app_id, consumer_id, service_id, redirect_uri, verifier, expires_at, nonce",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let flow = OAuthFlowRecord {
                    id: row.try_get("id")?,
                    tenant: Tenant {
                        app_id: row.try_get("app_id")?,
                        consumer_id: row.try_get("consumer_id")?,
                    },
                    service_id: row.try_get("service_id")?,
                    redirect_uri: row.try_get("redirect_uri")?,
                    verifier: row.try_get("verifier")?,
                    expires_at: row.try_get("expires_at")?,
                    nonce: row.try_get("nonce")?,
                };
                Ok(Some(flow).filter(|f| f.expires_at >= now))
            }

            async fn refresh_lock(&self, tenant: &Tenant, service_id: &str) -> Result<RefreshGuard> {
                self.refresh_guard(tenant, service_id).await
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1 FROM gateway_meta LIMIT 1")
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

impl_store!(Sqlite, sqlx::sqlite::SqliteRow);
impl_store!(Postgres, sqlx::postgres::PgRow);
