//! crmgate connector for HubSpot deals, on HubSpot's date-versioned 2026-09 CRM APIs (objects,
//! search, properties and associations; the paths are in [`config`]).
//!
//! Its settings, auth (a bearer token), hosts, budget and paging are in its manifest,
//! `connectors/hubspot/connector.yaml`; lists page with `after`; every property is a string on
//! the wire and the mapping table (`mappings/hubspot/opportunities.yaml`) types them. The one
//! quirk in code is the shape of associations on create ([`hooks`]).

mod client;
mod config;
mod hooks;
mod model;

use std::sync::Arc;

use async_trait::async_trait;
use crmgate_connector_sdk::{
    CallContext, Connector, ConnectorError, DeleteRequest, GetRequest, ListRequest, Manifest, Page,
    RateLimitStatus, Result, WriteHook, WriteRequest,
};
use http::HeaderMap;
use serde_json::Value;

pub use hooks::name_custom_fields;

/// The HubSpot connector, with its per-connection caches of custom property and tag names.
#[derive(Debug)]
pub struct HubSpot {
    manifest: Arc<Manifest>,
    catalogs: hooks::Catalogs,
}

impl HubSpot {
    /// The connector described by `manifest` (its `connector.yaml`, loaded by the registry).
    pub fn new(manifest: Arc<Manifest>) -> Self {
        Self {
            manifest,
            catalogs: hooks::Catalogs::default(),
        }
    }
}

#[async_trait]
impl Connector for HubSpot {
    fn id(&self) -> &'static str {
        "hubspot"
    }

    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn rate_limit_status(&self) -> Option<fn(&HeaderMap) -> Option<RateLimitStatus>> {
        Some(model::rate_limit_status)
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
