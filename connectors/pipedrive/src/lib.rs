//! crmgate connector for Pipedrive deals, on API v2 (Pipedrive retired the v1 deal endpoints on
//! 2026-08-01).
//!
//! Its settings, auth (an `x-api-token` header), hosts, budget and paging are in its manifest,
//! `connectors/pipedrive/connector.yaml`; lists page with `cursor`; ids are integers; answers
//! come in a `{success, data, additional_data}` envelope that the connector unwraps. The mapping
//! table is `mappings/pipedrive/opportunities.yaml`.

mod hooks;
mod model;

use std::sync::Arc;

use async_trait::async_trait;
use crmgate_connector_sdk::{
    Call, CallContext, Connector, Manifest, Operation, Result, VendorRequest, WriteHook,
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

    async fn prepare_request(
        &self,
        cx: &CallContext,
        call: &Call<'_>,
        rq: &mut VendorRequest,
    ) -> Result<()> {
        if let (Operation::Create | Operation::Update, Some(body)) = (call.operation, &mut rq.body)
        {
            hooks::id_fields(&self.catalogs, cx, body).await?;
            hooks::id_labels(&self.catalogs, cx, body).await?;
        }
        Ok(())
    }

    async fn normalise(
        &self,
        cx: &CallContext,
        _call: &Call<'_>,
        records: &mut [Value],
    ) -> Result<()> {
        hooks::name_records(&self.catalogs, cx, records).await
    }
}
