//! HubSpot's wire shapes that the connector's hooks read: association batches and error
//! bodies.

use crmgate_connector_sdk::DownstreamError;
use serde::Deserialize;
use serde_json::Value;

/// HubSpot's error body. HubSpot says to treat every field as optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    message: Option<String>,
    category: Option<String>,
    sub_category: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    message: Option<String>,
    code: Option<String>,
    /// What the error is about (`requiredGranularScopes` of a missing scope), kept as the
    /// detail so the client can act on it.
    context: Option<Value>,
}

/// The vendor's own messages from an error body, as Apideck's `downstream_errors`.
pub fn downstream_errors(body: &[u8]) -> Vec<DownstreamError> {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return Vec::new();
    };
    let mut out = vec![DownstreamError {
        message: parsed
            .message
            .unwrap_or_else(|| "HubSpot returned an error.".to_owned()),
        detail: parsed.sub_category,
        code: parsed.category,
    }];
    out.extend(parsed.errors.into_iter().filter_map(|e| {
        Some(DownstreamError {
            message: e.message?,
            detail: e.context.map(|c| c.to_string()),
            code: e.code,
        })
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_downstream_errors() {
        let body = br#"{"status":"error","message":"Property values were not valid","correlationId":"c1","category":"VALIDATION_ERROR","errors":[{"message":"amount is not a number","code":"INVALID_DECIMAL"}]}"#;
        let errors = downstream_errors(body);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].message, "Property values were not valid");
        assert_eq!(errors[0].code.as_deref(), Some("VALIDATION_ERROR"));
        assert_eq!(errors[1].code.as_deref(), Some("INVALID_DECIMAL"));
        assert!(downstream_errors(b"<html>").is_empty());
    }
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
