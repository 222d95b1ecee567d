//! crmgate connector for Copper opportunities (developer API v1).
//!
//! Auth is three headers (access token, application, user email); lists go through the search
//! endpoint with page numbers; ids are integers; `close_date` is `M/D/YYYY` and other dates are
//! unix seconds, which the mapping table (`mappings/copper/opportunities.yaml`) converts.

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

pub use hooks::name_custom_fields;

/// The Copper connector, with its per-connection caches of custom field definitions, loss
/// reasons and customer sources.
#[derive(Debug, Default)]
pub struct Copper {
    catalogs: hooks::Catalogs,
}

fn header_value(setting: &'static str, value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| {
        ConnectorError::new(
            ErrorKind::MissingSetting(setting),
            format!("The {setting} setting holds characters that cannot be sent in a header."),
        )
    })
}

#[async_trait]
impl Connector for Copper {
    fn id(&self) -> &'static str {
        "copper"
    }

    fn name(&self) -> &'static str {
        "Copper"
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

    /// Copper searches page by `page_number` with `page_size`.
    fn paging_params(&self) -> &'static [&'static str] {
        &["page_number", "page_size"]
    }

    fn auth_headers(&self, settings: &ConnectionSettings) -> Result<HeaderMap> {
        let token = settings.require_secret(config::API_KEY.name)?;
        let email = settings.get(config::USER_EMAIL.name).ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::MissingSetting(config::USER_EMAIL.name),
                "The connection has no value for the required setting \"user_email\".",
            )
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-pw-accesstoken",
            header_value(config::API_KEY.name, token.expose_secret())?,
        );
        headers.insert(
            "x-pw-application",
            HeaderValue::from_static("developer_api"),
        );
        headers.insert(
            "x-pw-useremail",
            header_value(config::USER_EMAIL.name, email)?,
        );
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
        hooks::id_lookups(&self.catalogs, cx, &mut rq.body).await?;
        client::create(cx, rq.body).await
    }

    async fn update(&self, cx: &CallContext, mut rq: WriteRequest<'_>) -> Result<Value> {
        let id = rq.id.ok_or_else(|| ConnectorError::not_found(""))?;
        hooks::id_fields(&self.catalogs, cx, &mut rq.body).await?;
        hooks::id_lookups(&self.catalogs, cx, &mut rq.body).await?;
        client::update(cx, id, rq.body).await
    }

    async fn delete(&self, cx: &CallContext, rq: DeleteRequest<'_>) -> Result<()> {
        client::delete(cx, rq.id).await
    }
}
