//! crmgate connector for Copper opportunities (developer API v1).
//!
//! Its settings, auth (three headers: access token, application, user email), hosts, budget and
//! paging are in its manifest, `connectors/copper/connector.yaml`; lists go through the search
//! endpoint with page numbers; ids are integers; `close_date` is `M/D/YYYY` and other dates are
//! unix seconds, which the mapping table (`mappings/copper/opportunities.yaml`) converts.

mod client;
mod hooks;
mod model;

use std::sync::Arc;

use async_trait::async_trait;
use crmgate_connector_sdk::{
    CallContext, Connector, ConnectorError, DeleteRequest, GetRequest, ListRequest, Manifest, Page,
    Result, WriteHook, WriteRequest,
};
use serde_json::Value;

pub use hooks::name_custom_fields;

/// The Copper connector, with its per-connection caches of custom field definitions, loss
/// reasons and customer sources.
#[derive(Debug)]
pub struct Copper {
    manifest: Arc<Manifest>,
    catalogs: hooks::Catalogs,
}

impl Copper {
    /// The connector described by `manifest` (its `connector.yaml`, loaded by the registry).
    pub fn new(manifest: Arc<Manifest>) -> Self {
        Self {
            manifest,
            catalogs: hooks::Catalogs::default(),
        }
    }
}

#[async_trait]
impl Connector for Copper {
    fn id(&self) -> &'static str {
        "copper"
    }

    fn manifest(&self) -> &Manifest {
        &self.manifest
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
