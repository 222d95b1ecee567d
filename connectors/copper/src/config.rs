//! Copper's connection settings and fixed facts.

use crmgate_connector_sdk::{RateBudget, SettingSpec};

/// Copper's public API root.
pub const DEFAULT_BASE_URL: &str = "https://api.copper.com";

/// The only host Copper serves its API from.
pub const VENDOR_HOSTS: &[&str] = &["api.copper.com"];

/// The search endpoint serves at most 200 opportunities per page.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Copper allows 180 requests per rolling minute.
pub const RATE_BUDGET: RateBudget = RateBudget {
    requests: 180,
    per: std::time::Duration::from_secs(60),
};

/// The API key, sent as `X-PW-AccessToken`.
pub const API_KEY: SettingSpec = SettingSpec {
    name: "api_key",
    label: "API key",
    description: "A Copper API key (System settings → API Keys; admins only).",
    secret: true,
    required: true,
};

/// The email of the key's owner, sent as `X-PW-UserEmail`.
pub const USER_EMAIL: SettingSpec = SettingSpec {
    name: "user_email",
    label: "User email",
    description: "The email address of the Copper user who owns the API key.",
    secret: false,
    required: true,
};

pub const SETTINGS: &[SettingSpec] = &[API_KEY, USER_EMAIL, SettingSpec::BASE_URL];
