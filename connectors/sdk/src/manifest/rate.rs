//! Reading a vendor's rate limit as its manifest declares it: the count in its headers
//! (`x-downstream-ratelimit-*` for clients) and the hints that say how long a 429 asks to wait.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

use super::file::{RateHeaders, RateLimit, Reset, RetryHint};
use crate::http::{RateLimitStatus, RateReport, header_delay};

impl RateLimit {
    /// The vendor's count in an answer's headers; `None` unless the limit, the remaining calls
    /// and the reset can all be read.
    pub fn status(&self, headers: &HeaderMap) -> Option<RateLimitStatus> {
        self.headers
            .as_ref()?
            .read(headers, unix_seconds(SystemTime::now()))
    }

    /// The wait the first hint that gives one asks for, in the manifest's order; `latest` is
    /// the newest count of the request's calls, which the `reset` hint reads.
    pub fn wait(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        latest: Option<RateLimitStatus>,
        now: SystemTime,
    ) -> Option<Duration> {
        // Parsed once, and only when a hint reads it.
        let mut doc = None;
        self.retry_after.iter().find_map(|hint| match hint {
            RetryHint::Header(h) => header_delay(headers, &h.name, now),
            RetryHint::Reset(_) => {
                let status = latest.filter(|s| s.remaining == 0)?;
                let left = status.reset.saturating_sub(unix_seconds(now));
                Some(Duration::from_secs(left.max(1)))
            }
            RetryHint::Body(b) => {
                let doc = doc.get_or_insert_with(|| serde_json::from_slice(body).ok());
                seconds(b.path.find(doc.as_ref()?)?)
            }
        })
    }
}

impl RateReport for RateLimit {
    fn status(&self, headers: &HeaderMap) -> Option<RateLimitStatus> {
        RateLimit::status(self, headers)
    }

    fn retry_after(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        latest: Option<RateLimitStatus>,
    ) -> Option<Duration> {
        self.wait(headers, body, latest, SystemTime::now())
    }
}

impl RateHeaders {
    /// The count at `now` (Unix seconds), which a reset given as a delay or a window length is
    /// counted from.
    pub fn read(&self, headers: &HeaderMap, now: u64) -> Option<RateLimitStatus> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let (limit, remaining) = match (&self.usage, &self.limit, &self.remaining) {
            (Some(usage), _, _) => {
                let text = headers.get(usage.header.as_str())?.to_str().ok()?;
                let (used, limit) = text.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    (key.trim() == usage.key).then(|| value.trim().split_once('/'))?
                })?;
                let (used, limit) = (used.parse::<u64>().ok()?, limit.parse::<u64>().ok()?);
                (limit, limit.saturating_sub(used))
            }
            (None, Some(limit), Some(remaining)) => (number(limit)?, number(remaining)?),
            _ => return None,
        };
        let reset = match &self.reset {
            Reset::EpochSeconds(h) => number(&h.header)?,
            Reset::DeltaSeconds(h) => now.saturating_add(number(&h.header)?),
            // The window's end is unknown; its latest possible end is what a client can rely on.
            Reset::WindowMilliseconds(w) => {
                let window = number(&w.header).or(w.default)?;
                now.saturating_add(window.div_ceil(1000))
            }
        };
        Some(RateLimitStatus {
            limit,
            remaining,
            reset,
        })
    }
}

/// A delay in an error body: a number of seconds, or text holding one.
fn seconds(value: &serde_json::Value) -> Option<Duration> {
    let secs = match value {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn rate(yaml: &str) -> RateLimit {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_usage_header_gives_the_allowance_and_what_is_left() {
        let salesforce = rate(
            "headers:\n  usage: { header: sforce-limit-info, key: api-usage }\n  reset: { type: window_milliseconds, header: sforce-limit-info, default: 86400000 }\n",
        );
        let status = salesforce
            .headers
            .as_ref()
            .unwrap()
            .read(
                &headers(&[(
                    "sforce-limit-info",
                    "api-usage=18/5000; per-app-api-usage=2/250(appName=x)",
                )]),
                NOW,
            )
            .unwrap();
        assert_eq!(
            (status.limit, status.remaining, status.reset),
            (5000, 4982, NOW + 86_400)
        );
        assert!(
            salesforce
                .status(&headers(&[("sforce-limit-info", "api-usage=x/5000")]))
                .is_none()
        );
    }

    /// HubSpot's declaration, as its connector.yaml has it.
    const HUBSPOT_LIKE: &str = "headers:
  limit: x-hubspot-ratelimit-max
  remaining: x-hubspot-ratelimit-remaining
  reset:
    type: window_milliseconds
    header: x-hubspot-ratelimit-interval-milliseconds
    default: 10000
retry_after:
  - { type: header, name: retry-after }
  - { type: reset }
";

    fn reset_form(reset: &str) -> RateHeaders {
        rate(&format!(
            "headers: {{ limit: x-limit, remaining: x-left, reset: {reset} }}"
        ))
        .headers
        .unwrap()
    }

    fn status(limit: u64, remaining: u64, reset: u64) -> Option<RateLimitStatus> {
        Some(RateLimitStatus {
            limit,
            remaining,
            reset,
        })
    }

    #[test]
    fn hubspot_like_window_headers_reset_at_the_windows_latest_end() {
        let declared = rate(HUBSPOT_LIKE).headers.unwrap();
        let full = headers(&[
            ("x-hubspot-ratelimit-max", "100"),
            ("x-hubspot-ratelimit-remaining", "97"),
            ("x-hubspot-ratelimit-interval-milliseconds", "2500"),
        ]);
        assert_eq!(declared.read(&full, NOW), status(100, 97, NOW + 3));
        // Names are matched without regard to case, as HTTP has them.
        let shouted = headers(&[
            ("X-HubSpot-RateLimit-Max", "100"),
            ("X-HubSpot-RateLimit-Remaining", " 42 "),
        ]);
        assert_eq!(
            declared.read(&shouted, NOW),
            status(100, 42, NOW + 10),
            "the default window when the header is missing"
        );
        assert_eq!(
            declared.read(&HeaderMap::new(), NOW),
            None,
            "search answers carry none"
        );
        let live = rate(HUBSPOT_LIKE).status(&full).unwrap();
        assert!(
            live.reset > 1_700_000_000,
            "counted from the clock: {live:?}"
        );
    }

    #[test]
    fn a_window_without_its_header_or_a_default_gives_no_count() {
        let declared = reset_form("{ type: window_milliseconds, header: x-window }");
        let counts = headers(&[("x-limit", "10"), ("x-left", "3")]);
        assert_eq!(declared.read(&counts, NOW), None);
        let counts = headers(&[("x-limit", "10"), ("x-left", "3"), ("x-window", "1000")]);
        assert_eq!(declared.read(&counts, NOW), status(10, 3, NOW + 1));
    }

    #[test]
    fn epoch_seconds_are_the_reset_itself() {
        let declared = reset_form("{ type: epoch_seconds, header: x-reset }");
        let answer = headers(&[
            ("x-limit", "60"),
            ("x-left", "0"),
            ("x-reset", "1800000042"),
        ]);
        assert_eq!(declared.read(&answer, NOW), status(60, 0, 1_800_000_042));
        let no_reset = headers(&[("x-limit", "60"), ("x-left", "0")]);
        assert_eq!(declared.read(&no_reset, NOW), None);
    }

    #[test]
    fn delta_seconds_count_from_now() {
        let declared = reset_form("{ type: delta_seconds, header: x-reset }");
        let answer = headers(&[("x-limit", "60"), ("x-left", "7"), ("x-reset", "30")]);
        assert_eq!(declared.read(&answer, NOW), status(60, 7, NOW + 30));
    }

    #[test]
    fn unreadable_numbers_give_no_count() {
        let declared = reset_form("{ type: delta_seconds, header: x-reset }");
        for (limit, left, reset) in [("ten", "1", "1"), ("10", "-1", "1"), ("10", "1", "1.5")] {
            let answer = headers(&[("x-limit", limit), ("x-left", left), ("x-reset", reset)]);
            assert_eq!(declared.read(&answer, NOW), None, "{limit} {left} {reset}");
        }
    }

    #[test]
    fn a_header_hint_reads_seconds_and_dates_from_its_header() {
        let declared = rate("retry_after: [{ type: header, name: x-wait }]");
        let answer = headers(&[("x-wait", "4"), ("retry-after", "9")]);
        assert_eq!(
            declared.wait(&answer, b"", None, now()),
            Some(Duration::from_secs(4))
        );
        let date = httpdate::fmt_http_date(now() + Duration::from_secs(60));
        let answer = headers(&[("x-wait", &date)]);
        assert_eq!(
            declared.wait(&answer, b"", None, now()),
            Some(Duration::from_secs(60))
        );
        let other = headers(&[("retry-after", "9")]);
        assert_eq!(declared.wait(&other, b"", None, now()), None);
    }

    #[test]
    fn a_body_hint_reads_seconds_at_its_path() {
        let declared = rate("retry_after: [{ type: body, path: \"$.errors[0].retry_after\" }]");
        let wait = |body: &str| declared.wait(&HeaderMap::new(), body.as_bytes(), None, now());
        assert_eq!(
            wait(r#"{"errors":[{"retry_after":20}]}"#),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            wait(r#"{"errors":[{"retry_after":1.5}]}"#),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            wait(r#"{"errors":[{"retry_after":"3"}]}"#),
            Some(Duration::from_secs(3))
        );
        assert_eq!(wait(r#"{"errors":[{"retry_after":-1}]}"#), None);
        assert_eq!(wait(r#"{"errors":[{"retry_after":"soon"}]}"#), None);
        assert_eq!(wait(r#"{"errors":[]}"#), None);
        assert_eq!(wait("<html>slow down</html>"), None);
    }

    #[test]
    fn a_reset_hint_waits_for_a_used_up_window_only() {
        let declared = rate(HUBSPOT_LIKE);
        let none = HeaderMap::new();
        assert_eq!(
            declared.wait(&none, b"", status(100, 0, NOW + 8), now()),
            Some(Duration::from_secs(8))
        );
        assert_eq!(
            declared.wait(&none, b"", status(100, 0, NOW - 5), now()),
            Some(Duration::from_secs(1)),
            "a reset already past still waits a second"
        );
        assert_eq!(
            declared.wait(&none, b"", status(100, 1, NOW + 8), now()),
            None
        );
        assert_eq!(declared.wait(&none, b"", None, now()), None);
    }

    #[test]
    fn hints_are_tried_in_order_and_none_leaves_the_backoff() {
        let declared = rate(HUBSPOT_LIKE);
        let exhausted = status(100, 0, NOW + 8);
        let told = headers(&[("retry-after", "2")]);
        assert_eq!(
            declared.wait(&told, b"", exhausted, now()),
            Some(Duration::from_secs(2)),
            "Retry-After comes first"
        );
        let body_first = rate(
            "retry_after:\n  - { type: body, path: $.wait }\n  - { type: header, name: retry-after }\n",
        );
        assert_eq!(
            body_first.wait(&told, br#"{"wait": 5}"#, None, now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            body_first.wait(&told, b"{}", None, now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(rate("{}").wait(&told, b"", exhausted, now()), None);
    }
}
