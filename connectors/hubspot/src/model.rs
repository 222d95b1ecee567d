//! HubSpot's wire shapes that the connector's hooks read: association batches, error bodies and
//! rate-limit headers.

use crmgate_connector_sdk::RateLimitStatus;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("X-HubSpot-RateLimit-Max", "100".parse().unwrap());
        headers.insert("X-HubSpot-RateLimit-Remaining", "97".parse().unwrap());
        headers.insert(
            "X-HubSpot-RateLimit-Interval-Milliseconds",
            "10000".parse().unwrap(),
        );
        let status = rate_limit_status(&headers).unwrap();
        assert_eq!((status.limit, status.remaining), (100, 97));
        assert!(status.reset > 1_700_000_000);
        assert_eq!(
            rate_limit_status(&HeaderMap::new()),
            None,
            "search answers carry none"
        );
    }
}

/// HubSpot's burst-window headers. HubSpot gives the window's length, not its end, so the
/// reset is the latest it can be: now plus the window.
pub fn rate_limit_status(headers: &HeaderMap) -> Option<RateLimitStatus> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    let limit = number("x-hubspot-ratelimit-max")?;
    let remaining = number("x-hubspot-ratelimit-remaining")?;
    let window_ms = number("x-hubspot-ratelimit-interval-milliseconds").unwrap_or(10_000);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Some(RateLimitStatus {
        limit,
        remaining,
        reset: now + window_ms.div_ceil(1000),
    })
}

/// `POST /crm/associations/2026-09/deals/{to}/batch/read`. Since 2026-09 HubSpot answers 200
/// with the inputs it could not read (a deal without such associations, say) in `errors`,
/// where v4 answered 207; either way those deals have no links to merge.
#[derive(Debug, Deserialize)]
pub struct AssociationBatch {
    #[serde(default)]
    pub results: Vec<AssociationResult>,
}

#[derive(Debug, Deserialize)]
pub struct AssociationResult {
    pub from: AssociationFrom,
    #[serde(default)]
    pub to: Vec<AssociationTo>,
}

#[derive(Debug, Deserialize)]
pub struct AssociationFrom {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationTo {
    pub to_object_id: Value,
    #[serde(default)]
    pub association_types: Vec<AssociationType>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationType {
    pub type_id: u32,
}
