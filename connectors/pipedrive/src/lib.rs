//! crmgate connector for Pipedrive deals, on API v2 (Pipedrive retired the v1 deal endpoints on
//! 2026-08-01).
//!
//! Auth is an `x-api-token` header; lists page with `cursor`; ids are integers; answers come in
//! a `{success, data, additional_data}` envelope that the connector unwraps. The mapping table is
//! `mappings/pipedrive/opportunities.yaml`.

mod client;
mod config;
mod hooks;
mod model;

use async_trait::async_trait;
use crmgate_connector_sdk::{
    CallContext, ConnectionSettings, Connector, ConnectorError, DeleteRequest, ErrorKind,
    GetRequest, ListRequest, Page, RateBudget, Result, SettingSpec, WriteHook, WriteRequest,
};
use http::{HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::Value;

pub use hooks::{name_custom_fields, name_labels_with};

/// The Pipedrive connector, with its per-connection caches of custom field and label names.
#[derive(Debug, Default)]
pub struct Pipedrive {
    catalogs: hooks::Catalogs,
}

#[async_trait]
impl Connector for Pipedrive {
    fn id(&self) -> &'static str {
        "pipedrive"
    }

    fn name(&self) -> &'static str {
        "Pipedrive"
    }

    fn settings(&self) -> &'static [SettingSpec] {
        config::SETTINGS
    }

    fn default_base_url(&self) -> &'static str {
        config::DEFAULT_BASE_URL
    }

    fn vendor_hosts(&self) -> &'static [&'static str] {
        config::VENDOR_HOSTS
    }

    fn rate_budget(&self) -> Option<RateBudget> {
        Some(config::RATE_BUDGET)
    }

    fn max_page_size(&self) -> u32 {
        config::MAX_PAGE_SIZE
    }

    /// Pipedrive v2 pages by `cursor` with `limit`.
    fn paging_params(&self) -> &'static [&'static str] {
        &["cursor", "limit"]
    }

    fn auth_headers(&self, settings: &ConnectionSettings) -> Result<HeaderMap> {
        let token = settings.require_secret(config::API_KEY.name)?;
        let value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
            ConnectorError::new(
                ErrorKind::MissingSetting(config::API_KEY.name),
                "The api_key setting holds characters that cannot be sent in a header.",
            )
        })?;
        let mut headers = HeaderMap::new();
        headers.insert("x-api-token", value);
        Ok(headers)
    }

    fn write_hooks(&self) -> &'static [WriteHook] {
        hooks::WRITE_HOOKS
    }

    async fn list(&self, cx: &CallContext, rq: ListRequest<'_>) -> Result<Page> {
        let mut page = client::list(cx, rq).await?;
        hooks::name_records(&self.catalogs, cx, &mut page.records).await?;
        Ok(page)
    }

    async fn get(&self, cx: &CallContext, rq: GetRequest<'_>) -> Result<Value> {
        let mut record = [client::get(cx, rq).await?];
        hooks::name_records(&self.catalogs, cx, &mut record).await?;
        let [record] = record;
        Ok(record)
    }

    async fn create(&self, cx: &CallContext, mut rq: WriteRequest<'_>) -> Result<Value> {
        hooks::id_fields(&self.catalogs, cx, &mut rq.body).await?;
        hooks::id_labels(&self.catalogs, cx, &mut rq.body).await?;
        client::create(cx, rq.body).await
    }

    async fn update(&self, cx: &CallContext, mut rq: WriteRequest<'_>) -> Result<Value> {
        let id = rq.id.ok_or_else(|| ConnectorError::not_found(""))?;
        hooks::id_fields(&self.catalogs, cx, &mut rq.body).await?;
        hooks::id_labels(&self.catalogs, cx, &mut rq.body).await?;
        client::update(cx, id, rq.body).await
    }

    async fn delete(&self, cx: &CallContext, rq: DeleteRequest<'_>) -> Result<()> {
        client::delete(cx, rq.id).await
    }
}
