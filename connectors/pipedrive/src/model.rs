//! Pipedrive's wire shapes the connector reads: the v2 envelope and error bodies.

use crmgate_connector_sdk::DownstreamError;
use serde::Deserialize;
use serde_json::Value;

/// Every v2 answer: `{success, data, additional_data}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
    #[serde(default)]
    pub additional_data: Option<AdditionalData>,
}

#[derive(Debug, Deserialize)]
pub struct AdditionalData {
    pub next_cursor: Option<String>,
}

/// Pipedrive's error body: `{success: false, error, error_info}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_info: Option<String>,
    code: Option<Value>,
}

/// The vendor's own messages from an error body, as Apideck's `downstream_errors`.
pub fn downstream_errors(body: &[u8]) -> Vec<DownstreamError> {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return Vec::new();
    };
    let code = parsed.code.map(|c| match c {
        Value::String(s) => s,
        other => other.to_string(),
    });
    vec![DownstreamError {
        message: parsed
            .error
            .unwrap_or_else(|| "Pipedrive returned an error.".to_owned()),
        detail: parsed.error_info,
        code,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_downstream_errors() {
        let body = br#"{"success":false,"error":"Entity was not found","error_info":"Please check developers.pipedrive.com","data":null}"#;
        let errors = downstream_errors(body);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "Entity was not found");
        assert_eq!(
            errors[0].detail.as_deref(),
            Some("Please check developers.pipedrive.com")
        );
        assert!(downstream_errors(b"<html>").is_empty());
    }
}
