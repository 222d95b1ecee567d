//! Copper's wire shapes the connector reads: error bodies. Lists are bare JSON arrays and
//! records plain objects, so they need no types of their own.

use crmgate_connector_sdk::DownstreamError;
use serde::Deserialize;

/// Copper's error body, `{success: false, status, message}`; Copper documents no format, and
/// `message` is the one field seen reliably.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: Option<String>,
    status: Option<u16>,
}

/// The vendor's own messages from an error body, as Apideck's `downstream_errors`.
pub fn downstream_errors(body: &[u8]) -> Vec<DownstreamError> {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return Vec::new();
    };
    vec![DownstreamError {
        message: parsed
            .message
            .unwrap_or_else(|| "Copper returned an error.".to_owned()),
        detail: None,
        code: parsed.status.map(|s| s.to_string()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_downstream_errors() {
        let errors = downstream_errors(br#"{"success":false,"status":422,"message":"Invalid input: Validation errors: Company Id"}"#);
        assert_eq!(
            errors[0].message,
            "Invalid input: Validation errors: Company Id"
        );
        assert_eq!(errors[0].code.as_deref(), Some("422"));
        assert!(downstream_errors(b"<html>").is_empty());
    }
}
