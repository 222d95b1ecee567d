//! crmgate connector for Copper opportunities (developer API v1).
//!
//! Everything about Copper is data: its manifest, `connectors/copper/connector.yaml` (settings,
//! the three auth headers, hosts, budget, the opportunity operations with lists through the
//! search endpoint by page number, error rules, and the lookups that name custom fields, loss
//! reasons and customer sources), and its mapping table, `mappings/copper/opportunities.yaml`
//! (which also turns `M/D/YYYY` and unix-second dates into unified ones). The SDK's driver runs
//! it; no hook is needed.

use std::sync::Arc;

use crmgate_connector_sdk::{Connector, Manifest};

/// The Copper connector.
#[derive(Debug)]
pub struct Copper {
    manifest: Arc<Manifest>,
}

impl Copper {
    /// The connector described by `manifest` (its `connector.yaml`, loaded by the registry).
    pub fn new(manifest: Arc<Manifest>) -> Self {
        Self { manifest }
    }
}

impl Connector for Copper {
    fn id(&self) -> &'static str {
        "copper"
    }

    fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}
