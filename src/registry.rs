//! The one list of connectors crmgate is built with. Adding a vendor is one entry here, behind
//! a Cargo feature that is on by default.

use std::sync::Arc;

use crmgate_connector_sdk::{Connector, Resource};

/// A connector and the built-in mapping table of each resource it serves.
#[derive(Clone)]
pub struct ConnectorEntry {
    pub connector: Arc<dyn Connector>,
    /// The resource and the text of its built-in table, compiled into the binary so that
    /// `crmgate serve` works from any directory.
    pub mappings: &'static [(Resource, &'static str)],
}

/// Every connector of this build, in the order Vault lists them.
pub fn connectors() -> Vec<ConnectorEntry> {
    vec![
        #[cfg(feature = "hubspot")]
        ConnectorEntry {
            connector: Arc::new(crmgate_hubspot::HubSpot::default()),
            mappings: &[(
                Resource::Opportunities,
                include_str!("../mappings/hubspot/opportunities.yaml"),
            )],
        },
        #[cfg(feature = "pipedrive")]
        ConnectorEntry {
            connector: Arc::new(crmgate_pipedrive::Pipedrive::default()),
            mappings: &[(
                Resource::Opportunities,
                include_str!("../mappings/pipedrive/opportunities.yaml"),
            )],
        },
        #[cfg(feature = "copper")]
        ConnectorEntry {
            connector: Arc::new(crmgate_copper::Copper::default()),
            mappings: &[(
                Resource::Opportunities,
                include_str!("../mappings/copper/opportunities.yaml"),
            )],
        },
    ]
}
