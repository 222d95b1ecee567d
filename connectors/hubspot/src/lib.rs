//! crmgate connector for HubSpot deals, on HubSpot's date-versioned 2026-09 CRM APIs (objects,
//! search, properties and associations; the paths are in [`config`]).
//!
//! Auth is a bearer token; lists page with `after`; every property is a string on the wire and
//! the mapping table (`mappings/hubspot/opportunities.yaml`) types them. The one quirk in code is
//! the shape of associations on create ([`hooks`]).

mod client;
mod config;
mod hooks;
mod model;

use async_trait::async_trait;
use crmgate_connector_sdk::{
    CallContext, ConnectionSettings, Connector, ConnectorError, DeleteRequest, ErrorKind,
    GetRequest, ListRequest, Page, RateBudget, RateLimitStatus, Result, SettingSpec, WriteHook,
    WriteRequest,
};
use http::{HeaderMap, HeaderValue, header};
use secrecy::ExposeSecret;
use serde_json::Value;

pub use hooks::name_custom_fields;

/// The HubSpot connector, with its per-connection caches of custom property and tag names.
#[derive(Debug, Default)]
pub struct HubSpot {
    catalogs: hooks::Catalogs,
}

#[async_trait]
impl Connector for HubSpot {
    fn id(&self) -> &'static str {
        "hubspot"
    }

    fn name(&self) -> &'static str {
        "HubSpot"
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

    fn rate_limit_status(&self) -> Option<fn(&HeaderMap) -> Option<RateLimitStatus>> {
        Some(model::rate_limit_status)
    }

    fn max_page_size(&self) -> u32 {
        config::MAX_PAGE_SIZE
    }

    /// HubSpot pages by `after` with `limit` (in the query, or the body of a search).
    fn paging_params(&self) -> &'static [&'static str] {
        &["after", "limit"]
    }

    fn auth_headers(&self, settings: &ConnectionSettings) -> Result<HeaderMap> {
        let token = settings.require_secret(config::API_KEY.name)?;
        let value =
            HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
                ConnectorError::new(
                    ErrorKind::MissingSetting(config::API_KEY.name),
                    "The api_key setting holds characters that cannot be sent in a header.",
                )
            })?;
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value);
        Ok(headers)
    }

    fn write_hooks(&self) -> &'static [WriteHook] {
        hooks::WRITE_HOOKS
    }

    async fn list(&self, cx: &CallContext, rq: ListRequest<'_>) -> Result<Page> {
        let plan = hooks::ReadPlan::new(&self.catalogs, cx, rq.fields).await?;
        let mut page = client::list(cx, rq, &plan.extra()).await?;
        plan.apply(&mut page.records);
        Ok(page)
    }

    async fn get(&self, cx: &CallContext, rq: GetRequest<'_>) -> Result<Value> {
        ConnectorError::check_integer_id(rq.id)?;
        let plan = hooks::ReadPlan::new(&self.catalogs, cx, rq.fields).await?;
        let mut record = [client::get(cx, rq, &plan.extra()).await?];
        plan.apply(&mut record);
        let [record] = record;
        Ok(record)
    }

    async fn create(&self, cx: &CallContext, mut rq: WriteRequest<'_>) -> Result<Value> {
        hooks::id_fields(&self.catalogs, cx, &mut rq.body).await?;
        hooks::id_tags(&self.catalogs, cx, &mut rq.body).await?;
        client::create(cx, rq.body).await
    }

    async fn update(&self, cx: &CallContext, mut rq: WriteRequest<'_>) -> Result<Value> {
        let id = rq.id.ok_or_else(|| ConnectorError::not_found(""))?;
        ConnectorError::check_integer_id(id)?;
        hooks::id_fields(&self.catalogs, cx, &mut rq.body).await?;
        hooks::id_tags(&self.catalogs, cx, &mut rq.body).await?;
        client::update(cx, id, rq.body).await
    }

    async fn delete(&self, cx: &CallContext, rq: DeleteRequest<'_>) -> Result<()> {
        client::delete(cx, rq.id).await
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// HubSpot ends support for its numbered CRM APIs (v4 in March 2027, v3 in September 2027),
    /// so no file of this connector, code or doc, may name one: not `crm/v` and a digit.
    #[test]
    fn no_file_names_a_numbered_crm_api() {
        let mut folders = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
        let mut read = 0;
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    read += 1;
                    assert_no_numbered_api(&path, &text);
                }
            }
        }
        assert!(
            read >= 6,
            "Cargo.toml and the five sources, at least: {read} files read"
        );
    }

    fn assert_no_numbered_api(path: &Path, text: &str) {
        for (n, line) in text.lines().enumerate() {
            let numbered = line
                .match_indices("crm/v")
                .any(|(at, m)| line[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()));
            assert!(!numbered, "{}:{}: {line}", path.display(), n + 1);
        }
    }
}
