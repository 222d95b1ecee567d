//! crmgate connector for HubSpot CRM v3 deals.
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
