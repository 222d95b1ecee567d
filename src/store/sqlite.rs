use std::str::FromStr;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::{ConnectionRecord, CustomMappingRecord, MappingScope, Store, Tenant};
use crate::error::{Error, Result};

/// The embedded store: one SQLite file in WAL mode.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database and applies the migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
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

fn record(row: &sqlx::sqlite::SqliteRow) -> Result<ConnectionRecord> {
    Ok(ConnectionRecord {
        service_id: row.try_get("service_id")?,
        enabled: row.try_get("enabled")?,
        settings: row.try_get("settings")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "service_id, enabled, settings, created_at, updated_at";

#[async_trait]
impl Store for SqliteStore {
    async fn meta_or_insert(&self, key: &str, init: String) -> Result<String> {
        sqlx::query(
            "INSERT INTO gateway_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(&init)
        .execute(&self.pool)
        .await?;
        self.meta(key)
            .await?
            .ok_or_else(|| Error::internal(format_args!("meta value {key} vanished")))
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM gateway_meta WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO gateway_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn all_connections(&self) -> Result<Vec<(Tenant, ConnectionRecord)>> {
        let sql = format!(
            "SELECT app_id, consumer_id, {COLUMNS} FROM connections ORDER BY app_id, consumer_id, service_id"
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
                Ok((tenant, record(row)?))
            })
            .collect()
    }

    async fn connection(
        &self,
        tenant: &Tenant,
        service_id: &str,
    ) -> Result<Option<ConnectionRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE app_id = ? AND consumer_id = ? AND service_id = ?"
        );
        sqlx::query(&sql)
            .bind(&tenant.app_id)
            .bind(&tenant.consumer_id)
            .bind(service_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    async fn connections(&self, tenant: &Tenant) -> Result<Vec<ConnectionRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE app_id = ? AND consumer_id = ? ORDER BY service_id"
        );
        sqlx::query(&sql)
            .bind(&tenant.app_id)
            .bind(&tenant.consumer_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(record)
            .collect()
    }

    async fn save_connection(&self, tenant: &Tenant, record: &ConnectionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (app_id, consumer_id, service_id, enabled, settings, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (app_id, consumer_id, service_id)
             DO UPDATE SET enabled = excluded.enabled, settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(&tenant.app_id)
        .bind(&tenant.consumer_id)
        .bind(&record.service_id)
        .bind(record.enabled)
        .bind(&record.settings)
        .bind(record.created_at)
        .bind(record.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_connection(&self, tenant: &Tenant, service_id: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM connections WHERE app_id = ? AND consumer_id = ? AND service_id = ?",
        )
        .bind(&tenant.app_id)
        .bind(&tenant.consumer_id)
        .bind(service_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn custom_mappings(&self, scope: &MappingScope) -> Result<Vec<CustomMappingRecord>> {
        let consumer = scope.consumer_id.as_deref().unwrap_or_default();
        let rows = sqlx::query(
            "SELECT key, value, consumer_id, created_at, updated_at FROM custom_mappings
             WHERE app_id = ? AND service_id = ? AND resource = ? AND consumer_id IN ('', ?)
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

    async fn save_custom_mapping(
        &self,
        scope: &MappingScope,
        key: &str,
        value: &str,
        now: i64,
    ) -> Result<bool> {
        let consumer = scope.consumer_id.as_deref().unwrap_or_default();
        let existed: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM custom_mappings WHERE app_id = ? AND consumer_id = ? AND service_id = ? AND resource = ? AND key = ?",
        )
        .bind(&scope.app_id)
        .bind(consumer)
        .bind(&scope.service_id)
        .bind(&scope.resource)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO custom_mappings (app_id, consumer_id, service_id, resource, key, value, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
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
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(existed.is_some())
    }

    async fn delete_custom_mapping(&self, scope: &MappingScope, key: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM custom_mappings WHERE app_id = ? AND consumer_id = ? AND service_id = ? AND resource = ? AND key = ?",
        )
        .bind(&scope.app_id)
        .bind(scope.consumer_id.as_deref().unwrap_or_default())
        .bind(&scope.service_id)
        .bind(&scope.resource)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
