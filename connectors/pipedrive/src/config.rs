//! Pipedrive's connection settings and fixed facts.

use crmgate_connector_sdk::{RateBudget, SettingSpec};

/// Pipedrive's public API root (company domains such as `acme.pipedrive.com` work as well).
pub const DEFAULT_BASE_URL: &str = "https://api.pipedrive.com";

/// Pipedrive serves its API from `api.pipedrive.com` and from each company's own domain.
pub const VENDOR_HOSTS: &[&str] = &["api.pipedrive.com", "*.pipedrive.com"];

/// API v2 lists serve at most 500 deals per call.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Pipedrive's burst limit for API tokens on its smallest plan: 20 requests per rolling 2 s.
pub const RATE_BUDGET: RateBudget = RateBudget {
    requests: 20,
    per: std::time::Duration::from_secs(2),
};

/// A personal API token, sent as `x-api-token`.
pub const API_KEY: SettingSpec = SettingSpec {
    name: "api_key",
    label: "API token",
    description: "A Pipedrive personal API token (Settings → Personal preferences → API).",
    secret: true,
    required: true,
};

pub const SETTINGS: &[SettingSpec] = &[API_KEY, SettingSpec::BASE_URL];
