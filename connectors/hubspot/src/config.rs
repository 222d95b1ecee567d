//! HubSpot's fixed facts that its manifest does not hold yet: the paths the connector's own
//! Rust calls until the driver runs the manifest's operations.

// HubSpot's date-versioned APIs (generally available since 2026-03) carry their release in the
// path; 2026-09 is current. The connector calls these paths only, so moving to a later release
// changes them here and in connector.yaml; the numbered CRM APIs lose support in 2027.

/// The deals: list and create, `/{id}` to read, update and archive, `/search` to filter or sort.
pub const DEALS: &str = "/crm/objects/2026-09/deals";

/// The deal property definitions, read for the names of custom properties and deal tags.
pub const DEAL_PROPERTIES: &str = "/crm/properties/2026-09/deals";

/// Deal associations, read in batches per associated object type (`/{to}/batch/read`).
pub const DEAL_ASSOCIATIONS: &str = "/crm/associations/2026-09/deals";

/// The associations read with every deal, so contact and company ids map without extra calls.
pub const ASSOCIATIONS: &str = "contacts,companies";
