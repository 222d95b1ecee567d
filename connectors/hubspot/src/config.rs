//! HubSpot's connection settings and fixed facts.

use crmgate_connector_sdk::{RateBudget, SettingSpec};

/// HubSpot's public API root.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// The only hosts HubSpot serves its API from.
pub const VENDOR_HOSTS: &[&str] = &["api.hubapi.com"];

// HubSpot's date-versioned APIs (generally available since 2026-03) carry their release in the
// path; 2026-09 is current. The connector calls these paths only, so moving to a later release
// changes them here; the numbered v4 and v3 CRM APIs lose support in March and September 2027.

/// The deals: list and create, `/{id}` to read, update and archive, `/search` to filter or sort.
pub const DEALS: &str = "/crm/objects/2026-09/deals";

/// The deal property definitions, read for the names of custom properties and deal tags.
pub const DEAL_PROPERTIES: &str = "/crm/properties/2026-09/deals";

/// Deal associations, read in batches per associated object type (`/{to}/batch/read`).
pub const DEAL_ASSOCIATIONS: &str = "/crm/associations/2026-09/deals";

/// The list endpoint serves at most 100 deals per call.
pub const MAX_PAGE_SIZE: u32 = 100;

/// HubSpot's burst limit for private apps on the free and starter tiers, the lowest it
/// documents (higher tiers allow 190 per 10 seconds); all apps of a portal share it.
pub const RATE_BUDGET: RateBudget = RateBudget {
    requests: 100,
    per: std::time::Duration::from_secs(10),
};

/// The associations read with every deal, so contact and company ids map without extra calls.
pub const ASSOCIATIONS: &str = "contacts,companies";

/// A private-app access token (or an OAuth access token), sent as `Authorization: Bearer`.
pub const API_KEY: SettingSpec = SettingSpec {
    name: "api_key",
    label: "Private app access token",
    description: "A HubSpot private-app token with the crm.objects.deals scopes.",
    secret: true,
    required: true,
};

pub const SETTINGS: &[SettingSpec] = &[API_KEY, SettingSpec::BASE_URL];
