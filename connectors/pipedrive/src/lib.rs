//! crmgate connector for Pipedrive deals, on API v2 (Pipedrive retired the v1 deal endpoints on
//! 2026-08-01).
//!
//! Its settings, auth (an `x-api-token` header), hosts, budget and paging are in its manifest,
//! `connectors/pipedrive/connector.yaml`; lists page with `cursor`; ids are integers; answers
//! come in a `{success, data, additional_data}` envelope that the connector unwraps. The mapping
//! table is `mappings/pipedrive/opportunities.yaml`.

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

pub use hooks::{name_custom_fields, name_labels_with};

/// The Pipedrive connector, with its per-connection caches of custom field and label names.
#[derive(Debug)]
pub struct Pipedrive {
    manifest: Arc<Manifest>,
    catalogs: hooks::Catalogs,
}

impl Pipedrive {
    /// The connector described by `manifest` (its `connector.yaml`, loaded by the registry).
    pub fn new(manifest: Arc<Manifest>) -> Self {
        Self {
            manifest,
            catalogs: hooks::Catalogs::default(),
        }
    }
}

#[async_trait]
impl Connector for Pipedrive {
    fn id(&self) -> &'static str {
        "pipedrive"
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
