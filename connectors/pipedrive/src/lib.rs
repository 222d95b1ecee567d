//! crmgate connector for Pipedrive deals, on API v2 (Pipedrive retired the v1 deal endpoints on
//! 2026-08-01).
//!
//! Everything about Pipedrive is data: its manifest, `connectors/pipedrive/connector.yaml`
//! (settings, the `x-api-token` header, hosts, budget, the deal operations, cursor paging, error
//! rules, and the `dealFields` lookups that name custom fields and labels), and its mapping
//! table, `mappings/pipedrive/opportunities.yaml`. The SDK's driver runs it; no hook is needed.

use std::sync::Arc;

use crmgate_connector_sdk::{Connector, Manifest};

/// The Pipedrive connector.
#[derive(Debug)]
pub struct Pipedrive {
    manifest: Arc<Manifest>,
}

impl Pipedrive {
    /// The connector described by `manifest` (its `connector.yaml`, loaded by the registry).
    pub fn new(manifest: Arc<Manifest>) -> Self {
        Self { manifest }
    }
}

impl Connector for Pipedrive {
    fn id(&self) -> &'static str {
        "pipedrive"
    }

    fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}
