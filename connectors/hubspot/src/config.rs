//! HubSpot's fixed facts that its manifest does not hold: the paths of the reads the
//! connector's hooks make besides the manifest's operations.

// HubSpot's date-versioned APIs (generally available since 2026-03) carry their release in the
// path; 2026-09 is current. Moving to a later release changes these and connector.yaml; the
// numbered CRM APIs lose support in 2027.

/// Deal pipelines with their stages (`/{pipelineId}`), read to write a deal's status.
pub const DEAL_PIPELINES: &str = "/crm/pipelines/2026-09/deals";

/// Associations, read in batches per object type and associated type
/// (`/{from}/{to}/batch/read`).
pub const ASSOCIATIONS: &str = "/crm/associations/2026-09";
