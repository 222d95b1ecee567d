//! crmgate connector for Copper opportunities (developer API v1).
//!
//! Its settings, auth (three headers: access token, application, user email), hosts, budget and
//! paging are in its manifest, `connectors/copper/connector.yaml`; lists go through the search
//! endpoint with page numbers; ids are integers; `close_date` is `M/D/YYYY` and other dates are
//! unix seconds, which the mapping table (`mappings/copper/opportunities.yaml`) converts.

mod hooks;
mod model;

use std::sync::Arc;

use async_trait::async_trait;
use crmgate_connector_sdk::{
    Call, CallContext, Connector, Manifest, Operation, Result, VendorRequest, WriteHook,
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

    async fn prepare_request(
        &self,
        cx: &CallContext,
        call: &Call<'_>,
        rq: &mut VendorRequest,
    ) -> Result<()> {
        if let (Operation::Create | Operation::Update, Some(body)) = (call.operation, &mut rq.body)
        {
            hooks::id_fields(&self.catalogs, cx, body).await?;
            hooks::id_lookups(&self.catalogs, cx, body).await?;
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
